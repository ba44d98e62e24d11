"""Encoders, hashing, caching; one slow test loads the real bundled model."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from matcher import (
    CachingEncoder,
    Encoder,
    HashingEncoder,
    HybridRanker,
    Item,
    RankerConfig,
    SentenceTransformerEncoder,
    get_encoder,
    text_hash,
)
from matcher.encoders import DEFAULT_MODEL
from matcher.text import dense_text, detect_language, split_sentences


def test_hashing_encoder_is_deterministic_unit_and_related() -> None:
    enc = get_encoder("hashing", dim=256)
    assert isinstance(enc, HashingEncoder) and isinstance(enc, Encoder)
    assert enc.dim == 256 and enc.model_id == "hashing-256"
    texts = [
        "clinic appointment booking chatbot",
        "chatbot for booking clinic appointments",
        "tobacco control campaign",
        "牙科診所預約",
        "",
    ]
    v = enc.encode(texts)
    assert v.dtype == np.float32 and v.shape == (5, 256)
    np.testing.assert_allclose(np.linalg.norm(v[:4], axis=1), 1.0, rtol=1e-5)
    assert not v[4].any()  # no tokens -> zero vector
    assert v[0] @ v[1] > 0.5 > abs(v[0] @ v[2])
    np.testing.assert_array_equal(v, get_encoder("hashing", dim=256).encode(texts, role="query"))
    assert enc.encode([]).shape == (0, 256)


def test_text_hash_is_stable_and_role_sensitive() -> None:
    h = text_hash("all-MiniLM-L6-v2", "hello")
    assert len(h) == 64 and h == text_hash("all-MiniLM-L6-v2", "hello", role="passage")
    assert h != text_hash("all-MiniLM-L6-v2", "hello", role="query")
    assert h != text_hash("other-model", "hello") != text_hash("all-MiniLM-L6-v2", "hello!")
    # Field separators prevent ambiguity between model id and text.
    assert text_hash("ab", "c") != text_hash("a", "bc")


def test_caching_encoder_encodes_each_text_once() -> None:
    calls: list[list[str]] = []
    inner = HashingEncoder(dim=32)

    class Spy:
        model_id, dim = inner.model_id, inner.dim

        def encode(self, texts, *, role="passage", batch_size=32):  # type: ignore[no-untyped-def]
            calls.append(list(texts))
            return inner.encode(texts, role=role)

    cached = CachingEncoder(Spy(), maxsize=3)
    first = cached.encode(["a b", "c d", "a b"])
    second = cached.encode(["c d", "e f"])
    assert calls == [["a b", "c d"], ["e f"]]
    np.testing.assert_array_equal(first[1], second[0])
    assert cached.encode([]).shape == (0, 32)
    restored = pickle.loads(pickle.dumps(CachingEncoder(HashingEncoder(dim=32))))
    np.testing.assert_array_equal(restored.encode(["a b"]), inner.encode(["a b"]))


def test_model_ids_and_prefixes_without_loading() -> None:
    default = get_encoder()
    assert isinstance(default, SentenceTransformerEncoder)
    assert default.model_id == DEFAULT_MODEL == get_encoder("default").model_id
    assert get_encoder("sentence-transformers/all-MiniLM-L6-v2").source == default.source
    e5 = get_encoder("intfloat/multilingual-e5-small")
    assert (e5.query_prefix, e5.passage_prefix) == ("query: ", "passage: ")
    assert e5.model_id == "intfloat/multilingual-e5-small" and not e5.symmetric
    custom = get_encoder("intfloat/multilingual-e5-small", query_prefix="q: ")
    assert custom.model_id.startswith("intfloat/multilingual-e5-small#")
    assert default.symmetric and get_encoder(model_id="mine").model_id == "mine"


def test_text_helpers() -> None:
    assert dense_text("Chatbot", "Books appointments.") == "Chatbot. Books appointments."
    assert dense_text("Chatbot", "Chatbot that books") == "Chatbot that books"
    assert dense_text("", "x" * 5000, max_chars=100) == "x" * 100
    assert detect_language("牙科診所預約系統 AI") == "zh-Hant"
    assert detect_language("Clinic booking 系統") == "en"
    assert split_sentences("First one. Second one!\n第三句。第四句？ ok") == [
        "First one.",
        "Second one!",
        "第三句。",
        "第四句？",
    ]


@pytest.mark.slow
def test_real_model_scores_related_pair_higher(challenge: Item, capabilities: list[Item]) -> None:
    enc = get_encoder()
    assert enc.dim == 384
    v = enc.encode(
        [
            "A chatbot that books clinic appointments for patients.",
            "Virtual assistant for scheduling doctor visits.",
            "Satellite images of crop yields in farming regions.",
        ]
    )
    assert v.dtype == np.float32 and v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    assert get_encoder().model is enc.model  # loaded once per process
    # The whole pipeline with the real model: the chatbot capability wins, with evidence.
    matches = HybridRanker(RankerConfig(), enc).rank(challenge, capabilities, top_k=3)
    assert matches[0].key in {"cap:1", "cap:2"}
    assert matches[0].explanation.best_pair is not None
    assert matches[0].explanation.best_pair[2] > 0.4
