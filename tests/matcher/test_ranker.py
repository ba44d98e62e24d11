"""HybridRanker against brute-force oracles, plus grouping, exclusion, MMR, explanations."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import numpy as np
import pytest

from matcher import (
    BM25Index,
    HybridRanker,
    Item,
    Match,
    RankerConfig,
    language_offset,
)
from matcher.diversity import mmr
from matcher.encoders import HashingEncoder
from matcher.structured import structured_score
from matcher.text import normalize

WORDS = [
    "clinic",
    "clinics",
    "booking",
    "appointment",
    "appointments",
    "chatbot",
    "patient",
    "patients",
    "vision",
    "inspection",
    "pharmacy",
    "tobacco",
    "campaign",
    "analytics",
    "privacy",
    "data",
    "records",
    "dental",
    "queue",
    "sms",
    "牙科",
    "診所",
    "預約",
    "病人",
    "控煙",
    "數據",
    "平台",
    "系統",
]
DOMAIN_KEYS = ["smart_clinic", "health_regulation", "customer_service", "other"]
TAG_KEYS = ["ai", "chatbot", "nlp", "iot", "sms"]


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _random_item(rng: np.random.Generator, key: str, with_group: bool) -> Item:
    def pick(pool: list[str], most: int) -> set[str]:
        return set(rng.choice(pool, size=int(rng.integers(0, most + 1)), replace=False))

    text = " ".join(rng.choice(WORDS, size=int(rng.integers(0, 12))))
    return Item(
        key,
        text,
        domains=pick(DOMAIN_KEYS, 2),
        tags=pick(TAG_KEYS, 3),
        readiness=int(rng.integers(1, 10)) if rng.random() < 0.7 else None,
        group=f"g{rng.integers(0, 6)}" if with_group else None,
    )


def _random_world(
    rng: np.random.Generator, n: int, dim: int, *, with_group: bool
) -> tuple[list[Item], np.ndarray, Item, np.ndarray]:
    """``n`` random candidates with unit vectors, and a random query with its vector."""
    items = [_random_item(rng, f"c{i}", with_group=with_group) for i in range(n)]
    vectors = _unit(rng, n, dim)
    return items, vectors, _random_item(rng, "q", with_group=False), _unit(rng, 1, dim)[0]


def _oracle(
    query: Item,
    qvec: np.ndarray,
    items: list[Item],
    vectors: np.ndarray,
    cfg: RankerConfig,
    exclude: set[str],
    top_k: int,
) -> list[tuple[str, float]]:
    """Score every candidate independently, sort fully, then filter and group."""
    sem = np.clip((vectors @ qvec).astype(np.float64), 0.0, 1.0)
    lex = BM25Index().fit([c.text for c in items]).score(query.text)
    lex = lex / lex.max() if lex.max() > 0 else lex
    struct = np.array([structured_score(query, c, cfg.structured_weights) for c in items])
    w = cfg.weight_vector()
    fused = (w[0] * sem + w[1] * lex + w[2] * struct) / w.sum()
    order = sorted(range(len(items)), key=lambda i: (-fused[i], i))
    out: list[tuple[str, float]] = []
    groups: set[str] = set()
    for i in order:
        item = items[i]
        if item.key in exclude | {query.key} or fused[i] < cfg.min_score:
            continue
        if item.group is not None:
            if item.group in groups:
                continue
            groups.add(item.group)
        out.append((item.key, float(fused[i])))
    return out[:top_k]


def _keys(matches: list[Match]) -> list[str]:
    return [m.key for m in matches]


@pytest.mark.parametrize("seed", range(30))
def test_semantic_only_ranking_matches_full_sort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, dim = int(rng.integers(0, 40)), 8
    vectors = _unit(rng, n, dim)
    if seed % 3 == 0:
        vectors = np.round(vectors * 2) / 2  # coarse values: many exact ties
    qvec = _unit(rng, 1, dim)[0]
    items = [Item(f"c{i}", "") for i in range(n)]
    cfg = RankerConfig(weights={"semantic": 1.0}, diversity=0.0)
    ranker = HybridRanker(cfg)
    scores = np.clip((vectors @ qvec).astype(np.float64), 0, 1)
    for top_k in (1, 5, n, n + 3):
        got = ranker.rank(
            Item("q", ""), items, query_vector=qvec, candidate_vectors=vectors, top_k=top_k
        )
        expected = sorted(range(n), key=lambda i: (-scores[i], i))[:top_k]
        assert [m.index for m in got] == expected
        np.testing.assert_allclose([m.score for m in got], scores[expected])


@pytest.mark.parametrize("seed", range(30))
def test_hybrid_ranking_matches_oracle_with_groups_and_exclusions(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n, dim = int(rng.integers(1, 50)), 16
    items, vectors, query, qvec = _random_world(rng, n, dim, with_group=seed % 2 == 0)
    exclude = {f"c{i}" for i in rng.choice(n, size=min(n, 3), replace=False)}
    cfg = RankerConfig(
        weights={"semantic": 0.5, "lexical": 0.3, "structured": 0.2},
        diversity=0.0,
        min_score=0.1 if seed % 5 == 0 else 0.0,
    )
    got = HybridRanker(cfg).rank(
        query, items, query_vector=qvec, candidate_vectors=vectors, top_k=7, exclude_keys=exclude
    )
    expected = _oracle(query, qvec, items, vectors, cfg, exclude, 7)
    assert _keys(got) == [k for k, _ in expected]
    np.testing.assert_allclose([m.score for m in got], [s for _, s in expected], atol=1e-9)
    for m in got:
        assert 0.0 <= m.score <= 1.0
        assert set(m.components) == {"semantic", "lexical", "structured"}
        assert all(0.0 <= v <= 1.0 for v in m.components.values())
        assert m.explanation.components == m.components


@pytest.mark.parametrize("seed", range(10))
def test_large_corpus_pool_path_keeps_exact_dense_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, dim = 500, 16
    vectors = _unit(rng, n, dim)
    qvec = _unit(rng, 1, dim)[0]
    items = [Item(f"c{i}", " ".join(rng.choice(WORDS, size=5))) for i in range(n)]
    cfg = RankerConfig(weights={"semantic": 1.0}, diversity=0.0, pool_size=20)
    got = HybridRanker(cfg).rank(
        Item("q", "clinic"), items, query_vector=qvec, candidate_vectors=vectors, top_k=10
    )
    scores = vectors @ qvec
    assert [m.index for m in got] == sorted(range(n), key=lambda i: (-scores[i], i))[:10]


def test_empty_candidates_and_zero_top_k(
    challenge: Item, capabilities: list[Item], encoder: HashingEncoder
) -> None:
    ranker = HybridRanker(RankerConfig(), encoder)
    assert ranker.rank(challenge, []) == []
    assert ranker.rank(challenge, capabilities, top_k=0) == []


def test_realistic_ranking_groups_and_explains(
    challenge: Item, capabilities: list[Item], encoder: HashingEncoder
) -> None:
    matches = HybridRanker(RankerConfig(), encoder).rank(challenge, capabilities, top_k=10)
    assert matches[0].key in {"cap:1", "cap:2"}
    groups = [m.group for m in matches]
    assert len(groups) == len(set(groups)) == 4  # startup:a appears once
    best = matches[0].explanation
    assert best.shared_domains and "chatbot" in best.shared_tags
    assert {"chatbot", "appointments", "clinic"} <= set(best.key_terms)
    assert best.best_pair is not None and best.best_pair[2] > 0
    d = matches[0].to_dict()
    assert d["explanation"]["best_pair"]["score"] == pytest.approx(best.best_pair[2])


def test_exclusion_lets_next_item_of_group_through(
    challenge: Item, capabilities: list[Item], encoder: HashingEncoder
) -> None:
    ranker = HybridRanker(RankerConfig(diversity=0.0), encoder)
    first = ranker.rank(challenge, capabilities)[0]
    again = ranker.rank(challenge, capabilities, exclude_keys=[first.key])
    assert first.key not in _keys(again)
    assert again[0].group == first.group  # the startup's other capability


def test_query_never_matches_itself(capabilities: list[Item], encoder: HashingEncoder) -> None:
    matches = HybridRanker(RankerConfig(), encoder).rank(capabilities[0], capabilities)
    assert capabilities[0].key not in _keys(matches)
    # Its own lexical self-match does not scale the others down either.
    assert max(m.components["lexical"] for m in matches) == 1.0


def test_mmr_reduces_near_duplicates() -> None:
    rng = np.random.default_rng(0)
    dim = 40
    eye = np.eye(dim, dtype=np.float32)
    dups = [0.9 * eye[0] + 0.43 * eye[1] + 0.02 * rng.standard_normal(dim) for _ in range(6)]
    distinct = [0.7 * eye[0] + 0.71 * eye[10 + i] for i in range(10)]
    vectors = np.array(dups + distinct, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    items = [Item(f"dup{i}", "") for i in range(6)] + [Item(f"x{i}", "") for i in range(10)]
    query = Item("q", "")

    def top5(diversity: float) -> list[str]:
        cfg = RankerConfig(weights={"semantic": 1.0}, diversity=diversity)
        got = HybridRanker(cfg).rank(
            query, items, query_vector=eye[0], candidate_vectors=vectors, top_k=5
        )
        return _keys(got)

    assert all(k.startswith("dup") for k in top5(0.0))
    diverse = top5(0.5)
    assert diverse[0].startswith("dup")
    assert sum(k.startswith("dup") for k in diverse) <= 2


@pytest.mark.parametrize("seed", range(20))
def test_explanation_terms_occur_in_both_texts(seed: int, encoder: HashingEncoder) -> None:
    rng = np.random.default_rng(seed)
    vocab = WORDS + [
        "Clinics",
        "PATIENTS'",
        "ＡＩ",
        "ai-based",
        "預約系統",
        "的",
        "services",
        "service",
    ]

    def text() -> str:
        return " ".join(rng.choice(vocab, size=int(rng.integers(1, 15))))

    items = [Item(f"c{i}", text()) for i in range(15)]
    query = Item("q", text())
    for name in ("bm25", "tfidf"):
        for m in HybridRanker(RankerConfig(lexical=name), encoder).rank(query, items, top_k=15):
            for term in m.explanation.key_terms:
                assert term in normalize(query.text) and term in normalize(items[m.index].text)
            if m.components["lexical"] == 0:
                assert m.explanation.key_terms == ()


def test_fit_once_equals_ad_hoc_and_pickles(
    challenge: Item, capabilities: list[Item], encoder: HashingEncoder
) -> None:
    cfg = RankerConfig()
    vectors = encoder.encode([c.text for c in capabilities])
    qvec = encoder.encode([challenge.text], role="query")[0]
    fitted = HybridRanker(cfg, encoder).fit(capabilities, vectors)
    ad_hoc = HybridRanker(cfg, encoder).rank(
        challenge, capabilities, query_vector=qvec, candidate_vectors=vectors
    )
    reused = fitted.rank(challenge, query_vector=qvec)
    assert [m.to_dict() for m in reused] == [m.to_dict() for m in ad_hoc]
    restored = pickle.loads(pickle.dumps(fitted))
    assert _keys(restored.rank(challenge, query_vector=qvec)) == _keys(reused)
    with pytest.raises(ValueError, match="fit"):
        HybridRanker(cfg, encoder).rank(challenge)


def test_config_is_public_and_a_copy_with_replaced_query_time_settings_shares_the_fit(
    challenge: Item, capabilities: list[Item], encoder: HashingEncoder
) -> None:
    assert HybridRanker(None, encoder).config == RankerConfig()
    vectors = encoder.encode([c.text for c in capabilities])
    fitted = HybridRanker(RankerConfig(), encoder).fit(capabilities, vectors)
    light = copy.copy(fitted)
    light.config = dataclasses.replace(fitted.config, explain_sentences=False)
    full, cheap = fitted.rank(challenge), light.rank(challenge)
    assert light.lexical_ is fitted.lexical_ and light.dense_ is fitted.dense_
    assert fitted.config.explain_sentences and full[0].explanation.best_pair is not None
    assert [m.key for m in cheap] == [m.key for m in full]
    assert all(m.explanation.best_pair is None for m in cheap)


def test_prefit_lexical_index_is_used_and_checked(
    challenge: Item, capabilities: list[Item], encoder: HashingEncoder
) -> None:
    ranker = HybridRanker(RankerConfig(), encoder)
    index = ranker.make_lexical_index().fit([c.text for c in capabilities])
    assert _keys(ranker.rank(challenge, capabilities, lexical_index=index)) == _keys(
        ranker.rank(challenge, capabilities)
    )
    with pytest.raises(ValueError, match="fitted on"):
        ranker.rank(challenge, capabilities[:2], lexical_index=index)


def test_vectors_required_without_encoder_unless_lexical_only(
    challenge: Item, capabilities: list[Item]
) -> None:
    with pytest.raises(ValueError, match="candidate_vectors"):
        HybridRanker(RankerConfig()).rank(challenge, capabilities)
    lexical_only = RankerConfig(weights={"lexical": 1.0}, diversity=0.0)
    matches = HybridRanker(lexical_only).rank(challenge, capabilities)
    assert matches[0].components["lexical"] == 1.0
    assert all(m.components["semantic"] == 0.0 and m.explanation.best_pair is None for m in matches)


def test_both_directions_with_chinese(capabilities: list[Item], encoder: HashingEncoder) -> None:
    challenges = [
        Item(
            "challenge:1",
            "牙科診所希望改善預約流程，減少病人輪候時間。",
            language="zh-Hant",
            domains={"smart_clinic"},
            areas={"dental_clinical"},
        ),
        Item(
            "challenge:2",
            "Regulatory inspection of pharmacies is slow and paper based.",
            domains={"health_regulation"},
            areas={"regulation"},
        ),
    ]
    ranker = HybridRanker(RankerConfig(), encoder)
    assert ranker.rank(challenges[0], capabilities)[0].key == "cap:4"
    assert "預約" in ranker.rank(challenges[0], capabilities)[0].explanation.key_terms
    # A startup's profile as the query against challenges.
    assert ranker.rank(capabilities[2], challenges)[0].key == "challenge:2"


def test_language_calibration_shifts_cross_language_semantic() -> None:
    vectors = np.tile(np.array([[0.6, 0.8]], dtype=np.float32), (2, 1))
    items = [Item("en", "", language="en"), Item("zh", "", language="zh-Hant")]
    query = Item("q", "", language="zh-Hant")
    cfg = RankerConfig(
        weights={"semantic": 1.0}, diversity=0.0, language_calibration={"cross": -0.1}
    )
    got = {
        m.key: m.components["semantic"]
        for m in HybridRanker(cfg).rank(
            query, items, query_vector=np.array([0.6, 0.8]), candidate_vectors=vectors
        )
    }
    assert got["zh"] == pytest.approx(1.0) and got["en"] == pytest.approx(0.9)
    assert language_offset({"same": 0.1, "en|zh-Hant": 0.3}, "zh-Hant", "en") == 0.3
    assert language_offset({"same": 0.1}, "en", "en") == 0.1
    assert language_offset(None, "en", "zh-Hant") == 0.0


def test_min_score_filters(
    challenge: Item, capabilities: list[Item], encoder: HashingEncoder
) -> None:
    matches = HybridRanker(RankerConfig(min_score=0.3), encoder).rank(challenge, capabilities)
    assert matches and all(m.score >= 0.3 for m in matches)
    assert len(matches) < len(HybridRanker(RankerConfig(), encoder).rank(challenge, capabilities))


def test_config_from_mapping_validates() -> None:
    cfg = RankerConfig.from_mapping(
        {"fusion": "rrf", "weights": {"semantic": 1, "lexical": 1}, "ann": "hnsw"}
    )
    assert cfg.fusion == "rrf" and cfg.weight_vector().tolist() == [1.0, 1.0, 0.0]
    assert RankerConfig.from_mapping(cfg.to_dict()) == cfg
    assert RankerConfig.from_mapping(None) == RankerConfig()
    for bad in (
        {"fusoin": "rrf"},
        {"fusion": "borda"},
        {"lexical": "splade"},
        {"weights": {"semantics": 1.0}},
        {"weights": {"semantic": 0.0}},
        {"weights": {"semantic": -1.0, "lexical": 2.0}},
        {"diversity": 1.5},
        {"diversity_threshold": 1.0},
        {"ann": "faiss"},
    ):
        with pytest.raises(ValueError):
            RankerConfig.from_mapping(bad)


@pytest.mark.parametrize("fusion", ["weighted", "minmax", "rrf", "zscore"])
@pytest.mark.parametrize("ann", [None, "hnsw"])
def test_every_strategy_combination_runs(
    fusion: str, ann: str | None, challenge: Item, capabilities: list[Item], encoder: HashingEncoder
) -> None:
    cfg = RankerConfig(fusion=fusion, ann=ann, lexical="tfidf" if ann else "bm25", pool_size=2)
    matches = HybridRanker(cfg, encoder).rank(challenge, capabilities)
    assert matches and all(0.0 <= m.score <= 1.0 for m in matches)
    assert len({m.group for m in matches}) == len(matches)


def test_mmr_threshold_only_penalises_near_duplicates() -> None:
    # Three items: relevance 0.3 > 0.2 > 0.1; item 1 is merely related to item 0
    # (cosine 0.5), item 2 is unrelated to both.
    vectors = np.array([[1.0, 0.0, 0.0], [0.5, np.sqrt(0.75), 0.0], [0.0, 0.0, 1.0]])
    relevance = np.array([0.3, 0.2, 0.1])
    assert mmr(relevance, vectors, 0.3, 3, threshold=0.6).tolist() == [0, 1, 2]
    assert mmr(relevance, vectors, 0.3, 3, threshold=0.0).tolist() == [0, 2, 1]
    assert mmr(relevance, vectors, 0.0, 3).tolist() == [0, 1, 2]
    assert mmr(relevance, vectors, 0.5, 0).tolist() == []


@pytest.mark.parametrize("seed", range(16))
def test_scoring_once_then_selecting_equals_ranking(seed: int) -> None:
    """One `score` serves every exclusion set and size: `select` gives exactly `rank`'s
    matches (keys, scores, components, explanations), MMR and pooling included."""
    rng = np.random.default_rng(300 + seed)
    n, dim = int(rng.integers(5, 400)), 16
    items, vectors, query, qvec = _random_world(rng, n, dim, with_group=seed % 2 == 0)
    cfg = RankerConfig(diversity=0.3 if seed % 3 else 0.0, pool_size=40, fusion=["weighted", "minmax", "rrf", "zscore"][seed % 4])
    ranker = HybridRanker(cfg, HashingEncoder(dim=dim)).fit(items, vectors)
    scored = ranker.score(query, query_vector=qvec)
    for size in (1, 5, 10):
        exclude = {f"c{i}" for i in rng.choice(n, size=min(n, int(rng.integers(0, 8))), replace=False)}
        expected = ranker.rank(query, query_vector=qvec, top_k=size, exclude_keys=exclude)
        got = ranker.select(scored, top_k=size, exclude_keys=exclude)
        assert [(m.key, m.score, m.components, m.explanation) for m in got] == [
            (m.key, m.score, m.components, m.explanation) for m in expected
        ]


@pytest.mark.parametrize("seed", range(12))
def test_scoring_several_queries_at_once_equals_scoring_each_alone(seed: int) -> None:
    """`score_each` (one vector search for all queries) gives each query exactly what
    `score` gives it alone: the same pool, fused scores and components, every fusion."""
    rng = np.random.default_rng(700 + seed)
    n, dim = int(rng.integers(5, 600)), 16
    items, vectors, _query, _qvec = _random_world(rng, n, dim, with_group=seed % 2 == 0)
    queries = [_random_item(rng, f"q{i}", with_group=False) for i in range(int(rng.integers(1, 9)))]
    queries.append(items[0])  # a candidate asked as a query never matches itself
    qvecs = _unit(rng, len(queries), dim)
    cfg = RankerConfig(pool_size=30, fusion=["weighted", "minmax", "rrf", "zscore"][seed % 4])
    ranker = HybridRanker(cfg, HashingEncoder(dim=dim)).fit(items, vectors)
    each = ranker.score_each(queries, qvecs)
    assert len(each) == len(queries)
    for query, qvec, got in zip(queries, qvecs, each, strict=True):
        alone = ranker.score(query, query_vector=qvec)
        assert got.pool.tolist() == alone.pool.tolist()
        assert got.fused.tolist() == alone.fused.tolist()
        assert got.components.tolist() == alone.components.tolist()
        assert ranker.select(got) == ranker.select(alone)
    assert ranker.score_each([], np.zeros((0, dim), dtype=np.float32)) == []


@pytest.mark.parametrize("seed", range(8))
def test_best_of_groups_is_each_groups_best_pool_entry(seed: int) -> None:
    rng = np.random.default_rng(500 + seed)
    n, dim = int(rng.integers(5, 120)), 16
    items, vectors, query, qvec = _random_world(rng, n, dim, with_group=True)
    cfg = RankerConfig(diversity=0.0, pool_size=1000)  # every candidate is in the pool
    ranker = HybridRanker(cfg).fit(items, vectors)
    # Ranking everything with no diversity gives each group's best item once.
    everything = ranker.rank(query, query_vector=qvec, top_k=n)
    expected = {m.group: (m.key, m.score, m.components) for m in everything if m.group is not None}
    asked = ["g0", "g2", "g4", "missing"]
    got = ranker.best_of_groups(ranker.score(query, query_vector=qvec), asked)
    assert {g: (m.key, m.score, m.components) for g, m in got.items()} == {
        g: v for g, v in expected.items() if g in asked
    }


@pytest.mark.parametrize("seed", range(12))
def test_best_of_groups_reads_only_the_pool_and_breaks_ties_by_pool_order(seed: int) -> None:
    rng = np.random.default_rng(900 + seed)
    n, dim = int(rng.integers(20, 150)), 8
    items, vectors, query, qvec = _random_world(rng, n, dim, with_group=True)
    items[0] = dataclasses.replace(items[0], key="q")  # the query's own key is never a result
    ranker = HybridRanker(RankerConfig(pool_size=int(rng.integers(3, 15)))).fit(items, vectors)
    scored = ranker.score(query, query_vector=qvec)
    scored = dataclasses.replace(scored, fused=np.round(scored.fused, 1))  # many equal scores
    groups = sorted({c.group or c.key for c in items}) + ["missing"]
    asked = list(rng.choice(groups, size=min(6, len(groups)), replace=False)) + ["q"]
    expected: dict[str, int] = {}  # the reading of every pool entry in order
    for pos, index in enumerate(scored.pool.tolist()):
        item = items[index]
        group = item.group if item.group is not None else item.key
        if group in asked and item.key != "q" and (group not in expected or scored.fused[pos] > scored.fused[expected[group]]):
            expected[group] = pos
    got = ranker.best_of_groups(scored, asked)
    assert {g: m.key for g, m in got.items()} == {g: items[int(scored.pool[p])].key for g, p in expected.items()}
    assert all(m.score == float(scored.fused[expected[g]]) for g, m in got.items())
    fresh = ranker.updated([dataclasses.replace(items[1], group="moved")], vectors[1:2])
    again = fresh.best_of_groups(fresh.score(query, query_vector=qvec), ["moved"])
    assert set(again) <= {"moved"} and all(m.key == items[1].key for m in again.values())  # a new corpus, new groups


def test_load_resources_loads_the_dictionary_explanations_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from matcher import translate

    fresh = translate.TRANSLATORS["cedict"]()
    monkeypatch.setitem(translate._SHARED, "cedict", fresh)  # a translator that has loaded nothing yet
    assert "_data" not in fresh.__dict__
    ranker = HybridRanker(RankerConfig(translation=None), HashingEncoder())
    ranker.load_resources()
    assert "_data" in fresh.__dict__  # loaded now, not by the first explanation
    quiet = HybridRanker(RankerConfig(translation=None, max_key_terms=0), HashingEncoder())
    monkeypatch.setitem(translate._SHARED, "cedict", translate.TRANSLATORS["cedict"]())
    quiet.load_resources()  # no key terms shown: nothing to load
    assert "_data" not in translate._SHARED["cedict"].__dict__


def test_with_config_ranks_a_fitted_corpus_by_other_weights_as_a_fresh_fit_does():
    items = [
        Item(key=f"c{i}", text=text, language="en")
        for i, text in enumerate([
            "Queue calling and appointment booking for clinics.",
            "Chest X-ray triage with computer vision.",
            "A chatbot answering patient questions about vaccination.",
            "Dental caries detection on radiographs.",
        ])
    ]
    query = Item(key="q", text="A chatbot to book clinic appointments and call queues.", language="en")
    enc = HashingEncoder()
    first = RankerConfig(weights={"semantic": 0.6, "lexical": 0.3, "structured": 0.1}, explain_sentences=False)
    second = RankerConfig(
        weights={"semantic": 0.1, "lexical": 0.8, "structured": 0.1}, fusion="zscore", diversity=0.0,
        explain_sentences=False,
    )
    fitted = HybridRanker(first, enc).fit(items)
    moved = fitted.with_config(second)
    fresh = HybridRanker(second, enc).fit(items)
    assert moved.config is second and fitted.config is first and moved.lexical_ is fitted.lexical_

    def ranked(ranker):
        return [(m.key, round(m.score, 12)) for m in ranker.rank(query, top_k=4)]

    assert ranked(moved) == ranked(fresh) != ranked(fitted)
    with pytest.raises(ValueError, match="fits differently"):
        fitted.with_config(RankerConfig(lexical="tfidf"))
    lexical_only = HybridRanker(RankerConfig(weights={"lexical": 1.0}, diversity=0.0), None).fit(items)
    with pytest.raises(ValueError, match="vectors"):
        lexical_only.with_config(RankerConfig(weights={"semantic": 1.0}, diversity=0.0))
