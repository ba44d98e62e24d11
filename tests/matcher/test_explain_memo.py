"""Key terms remembered per pair of texts (DisplayMemo): the same terms as computed afresh,
in the order of whatever contributions are given, without reading the texts again."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from matcher import HybridRanker, Item, RankerConfig, explain
from matcher.encoders import HashingEncoder
from matcher.explain import DisplayMemo, key_terms
from matcher.ranker import DISPLAY_MEMO

QUERY = "Clinics want an appointment chatbot that answers patients in Cantonese; 預約系統 for 牙科診所."
CANDIDATE = "Our chatbot books appointments for clinics and answers patients. 預約系統 and 牙科 booking."
TOKENS = ["chatbot", "appointment", "clinic", "patient", "預約", "牙科", "cantonese", "booking"]


def _segment(run: str) -> list[str]:
    """A toy segmenter: the known words of a run of Chinese characters."""
    return [w for w in ("預約系統", "預約", "系統", "牙科診所", "牙科", "診所") if w in run]


def _terms(contributions: list[tuple[str, float]], memo: dict[str, str | None] | None, max_terms: int = 8) -> tuple[str, ...]:
    return key_terms(QUERY, CANDIDATE, contributions, max_terms, words=_segment, memo=memo)


@pytest.mark.parametrize("order", list(itertools.islice(itertools.permutations(range(len(TOKENS))), 0, 40, 7)))
def test_remembered_terms_equal_fresh_ones_in_any_order(order: tuple[int, ...]) -> None:
    memo: dict[str, str | None] = {}
    first = [(TOKENS[i], float(len(TOKENS) - rank)) for rank, i in enumerate(order)]
    assert _terms(first, memo) == _terms(first, None)
    # The corpus moved: other weights, another order; the remembered displays are reordered.
    rng = np.random.default_rng(sum(order))
    again = [(TOKENS[i], float(w)) for i, w in zip(rng.permutation(len(TOKENS)), rng.random(len(TOKENS)), strict=True)]
    again.sort(key=lambda pair: -pair[1])
    for max_terms in (1, 3, 8):
        assert _terms(again, memo, max_terms) == _terms(again, None, max_terms)


def test_a_remembered_pair_reads_neither_text_again(monkeypatch: pytest.MonkeyPatch) -> None:
    memo: dict[str, str | None] = {}
    contributions = [(t, 1.0) for t in TOKENS]
    reordered = list(reversed(contributions))
    expected = _terms(reordered, None)
    assert _terms(contributions, memo) and set(memo) == set(TOKENS)

    def unread(_text: str) -> dict[str, frozenset[str]]:
        raise AssertionError("the texts were read again")

    monkeypatch.setattr(explain, "text_forms", unread)
    monkeypatch.setattr(explain, "normalized", unread)
    assert _terms(reordered, memo) == expected


def test_trusted_pairs_are_asked_only_for_tokens_not_remembered() -> None:
    asked: list[str] = []

    def pairs() -> dict[str, tuple[str, str]]:
        asked.append("pairs")
        return {"dental": ("dental", "牙科")}

    memo: dict[str, str | None] = {}
    english = "Dental clinics need booking."
    chinese = "牙科預約服務"
    first = key_terms(english, chinese, [("dental", 1.0)], candidate_pairs=pairs, memo=memo)
    assert first == ("dental = 牙科",) and asked == ["pairs"]
    assert key_terms(english, chinese, [("dental", 2.0)], candidate_pairs=pairs, memo=memo) == first
    assert asked == ["pairs"]  # remembered: the translator was not asked again


def test_the_memo_keeps_the_latest_pairs_only() -> None:
    memo = DisplayMemo(size=3)
    for i in range(5):
        memo.pair(None, f"query {i}", "candidate")["token"] = str(i)
    assert len(memo) == 3
    assert memo.pair(None, "query 4", "candidate") == {"token": "4"}
    assert memo.pair(None, "query 0", "candidate") == {}  # forgotten, asked afresh


def test_an_edited_corpus_explains_as_a_fresh_fit_with_the_memo_warm() -> None:
    encoder = HashingEncoder()
    capabilities = [
        Item("cap:1", "Appointment chatbot for clinics; answers patients day and night.", tags={"chatbot"}),
        Item("cap:2", "Pharmacy inspection analytics and licence records.", tags={"analytics"}),
        Item("cap:3", "牙科診所預約系統，減少病人輪候。", language="zh-Hant"),
        Item("cap:4", "Tobacco control campaign analytics for clinics.", tags={"analytics"}),
    ]
    query = Item("challenge:1", "Clinics need an appointment chatbot and shorter waiting for patients; 預約 for 牙科.")
    config = RankerConfig()
    ranker = HybridRanker(config, encoder).fit(capabilities)
    ranker.rank(query, top_k=4)  # fills the memo for these pairs
    assert len(DISPLAY_MEMO)
    edited = Item("cap:4", "Chatbot analytics for clinics and patients, appointment reminders.", tags={"chatbot"})
    updated = ranker.updated([edited])
    fresh = HybridRanker(config, encoder).fit([*capabilities[:3], edited])
    DISPLAY_MEMO.clear()
    expected = [(m.key, m.explanation.key_terms) for m in fresh.rank(query, top_k=4)]
    ranker.rank(query, top_k=4)
    fresh.rank(query, top_k=4)  # the memo now holds every pair, as after many versions
    assert [(m.key, m.explanation.key_terms) for m in updated.rank(query, top_k=4)] == expected
