"""The bilingual glossary used for lexical query expansion."""

from __future__ import annotations

import pytest

from matcher import HybridRanker, Item, RankerConfig
from matcher.glossary import build_glossary, expand_query


def test_expansion_adds_the_other_languages_terms_word_bounded() -> None:
    g = build_glossary([("vaccination|vaccine", "疫苗"), ("quit smoking", "戒煙"), ("smoking", "吸煙"), ("ai", "人工智能")])
    assert g.translations("Flu vaccination outreach") == ["疫苗"]
    assert g.translations("help smokers quit smoking") == ["戒煙"]  # longest phrase wins
    assert g.translations("maintain the chain") == []  # "ai" only as a word
    assert g.translations("推廣疫苗接種") == ["vaccination"]
    assert expand_query("no glossary term here", g) == "no glossary term here"


def test_query_expansion_lets_bm25_match_across_scripts() -> None:
    cands = [Item("zh", "為長者提供流感疫苗接種預約及提醒。", language="zh-Hant"),
             Item("en", "Restaurant table bookings.", language="en")]
    query = Item("q", "Influenza vaccine reminders for elderly people", language="en")
    lexical_only = {"weights": {"lexical": 1.0}, "diversity": 0.0, "explain_sentences": False}
    plain = HybridRanker(RankerConfig(**lexical_only), None).rank(query, cands, top_k=2)
    expanded = HybridRanker(RankerConfig(**lexical_only, query_expansion="glossary"), None).rank(
        query, cands, top_k=2)
    assert {m.key: m.components["lexical"] for m in plain}["zh"] == 0.0
    assert expanded[0].key == "zh" and expanded[0].components["lexical"] == 1.0


def test_unknown_glossary_is_rejected() -> None:
    with pytest.raises(ValueError, match="query_expansion"):
        RankerConfig(query_expansion="klingon")
