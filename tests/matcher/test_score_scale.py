"""A pair's z-score-fused score does not depend on how many candidates stand beside it:
not on the depth of the pool a large corpus is scored in, and (with a reference) not on a
small corpus's size."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from matcher.ranker import REFERENCE_SAMPLE, HybridRanker, RankerConfig
from matcher.types import Item

WORDS = ["vaccination", "reminder", "clinic", "queue", "elderly", "dental", "record", "privacy", "hospital", "laundry", "logistics", "chatbot", "booking", "inspection", "licence", "drug", "pharmacy", "screening", "data", "sensor", "tobacco", "outreach", "survey", "translation", "workflow", "form"]


def _corpus(n: int, seed: int = 7) -> tuple[list[Item], np.ndarray]:
    rng = np.random.default_rng(seed)
    items = [Item(f"s{i}", " ".join(rng.choice(WORDS, size=8))) for i in range(n)]
    vectors = rng.normal(size=(n, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return items, vectors


QUERY = Item("q", "vaccination reminder for elderly clinic queue")


def _query_vector() -> np.ndarray:
    q = np.random.default_rng(99).normal(size=16)
    return (q / np.linalg.norm(q)).astype(np.float32)


BASE = RankerConfig(fusion="zscore", diversity=0.0, explain_sentences=False, max_key_terms=0)


def _scores(config: RankerConfig, items: list[Item], vectors: np.ndarray) -> dict[str, float]:
    ranker = HybridRanker(config).fit(items, vectors)
    return {m.key: m.score for m in ranker.rank(QUERY, query_vector=_query_vector(), top_k=len(items))}


def test_the_pool_depth_does_not_change_a_score() -> None:
    # A corpus larger than the pool is scored in a pool of its closest candidates; each
    # column is still standardised over the whole corpus, so a pooled pair's score is the
    # one it has when every candidate is scored (exactly, up to REFERENCE_SAMPLE of them).
    items, vectors = _corpus(120)
    assert len(items) <= REFERENCE_SAMPLE
    everyone = _scores(dataclasses.replace(BASE, pool_size=500), items, vectors)
    shallow = _scores(dataclasses.replace(BASE, pool_size=10), items, vectors)
    assert 10 <= len(shallow) < len(everyone)
    for key, score in shallow.items():
        assert score == pytest.approx(everyone[key], abs=1e-12)


def _reference(items: list[Item], vectors: np.ndarray) -> dict[str, object]:
    """The columns' statistics of this query over the corpus (what
    ``matcher.evaluation.zscore_reference`` measures over many queries)."""
    ranker = HybridRanker(BASE).fit(items, vectors)
    comps = ranker.score(QUERY, query_vector=_query_vector()).components
    return {
        "pool": len(items),
        "semantic": [float(comps[:, 0].mean()), float(comps[:, 0].std())],
        "lexical": [float(comps[:, 1].mean()), float(comps[:, 1].std())],
    }


def test_a_small_corpus_reads_as_among_the_reference_pool() -> None:
    # The semantic column alone: a cosine does not depend on the other candidates, while
    # the lexical column is relative to the best candidate present and BM25's word weights
    # to the corpus, which the reference does not undo (benchmarks/pool_size.py measures
    # both together on the real cases).
    config = dataclasses.replace(BASE, weights={"semantic": 1.0})
    items, vectors = _corpus(200)
    reference = _reference(items, vectors)
    with_reference = dataclasses.replace(config, zscore_reference=reference)
    among_all = _scores(config, items, vectors)
    # At or above the reference's size the reference changes nothing.
    assert _scores(with_reference, items, vectors) == pytest.approx(among_all, abs=1e-12)
    # Twelve of them, the best pairs among them: without the reference the best of a
    # dozen cannot stand more than sqrt(11) deviations above their mean and reads far
    # lower than among 200; topped up to 200 it reads close to its score among them.
    best = sorted(among_all, key=lambda key: -among_all[key])[:3]
    rng = np.random.default_rng(11)
    rest = [i for i, item in enumerate(items) if item.key not in best]
    keep = sorted([i for i, item in enumerate(items) if item.key in best] + rng.choice(rest, 9, replace=False).tolist())
    few, few_vectors = [items[i] for i in keep], vectors[keep]
    alone = _scores(config, few, few_vectors)
    topped = _scores(with_reference, few, few_vectors)
    for key in best:
        assert abs(topped[key] - among_all[key]) < abs(alone[key] - among_all[key])
    assert max(abs(topped[k] - among_all[k]) for k in best) < 0.02


@pytest.mark.parametrize(
    "reference",
    [
        {"semantic": [0.0, 0.1]},
        {"pool": 0, "semantic": [0.0, 0.1]},
        {"pool": True},
        {"pool": 10, "semantic": [0.0, 0.0]},
        {"pool": 10, "lexical": [0.1]},
        {"pool": 10, "lexical": ["a", 0.1]},
        {"pool": 10, "lexical": [float("nan"), 0.1]},
        {"pool": 10, "colour": [0.0, 0.1]},
    ],
)
def test_a_malformed_reference_is_refused(reference: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="zscore_reference"):
        RankerConfig(fusion="zscore", zscore_reference=reference)


def test_a_column_the_same_for_every_candidate_says_nothing_in_a_small_corpus_too() -> None:
    # A query sharing no word with any candidate: its lexical column is 0 everywhere. In a
    # large corpus such a column is left out of the fusion; topped up with the reference it
    # must be left out as well, not read as every candidate being below the average.
    items, vectors = _corpus(12)
    reference = {"pool": 200, "semantic": [0.1, 0.14], "lexical": [0.27, 0.2]}
    query = Item("q", "zebra xylophone quartz")
    both = dataclasses.replace(BASE, zscore_reference=reference)
    meaning_only = dataclasses.replace(both, weights={"semantic": 0.5})

    def scores(config: RankerConfig) -> dict[str, float]:
        ranker = HybridRanker(config).fit(items, vectors)
        return {m.key: m.score for m in ranker.rank(query, query_vector=_query_vector(), top_k=12)}

    assert scores(both) == pytest.approx(scores(meaning_only), abs=1e-12)
