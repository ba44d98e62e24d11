"""Exact and approximate dense search against brute-force oracles."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from matcher import DenseIndex, HNSWIndex, top_k
from matcher.registry import make_dense_index


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _oracle(scores: np.ndarray, k: int) -> list[int]:
    # Full stable sort: best score first, ties by lower index.
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]


@pytest.mark.parametrize("seed", range(25))
def test_top_k_matches_full_sort_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    # Few distinct values so that ties are common, also across the k boundary.
    scores = rng.integers(0, 5, size=n).astype(np.float32)
    for k in (0, 1, 3, n // 2, n, n + 5):
        assert top_k(scores, k).tolist() == _oracle(scores.tolist(), k)


@pytest.mark.parametrize("seed", range(10))
def test_dense_search_matches_oracle(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, dim = int(rng.integers(1, 300)), 16
    vectors = _unit(rng, n, dim)
    if seed % 2:
        vectors = np.round(vectors, 1)  # duplicate-ish rows create tied scores
    queries = _unit(rng, 4, dim)
    index = DenseIndex().fit(vectors)
    for k in (1, 10, n + 3):
        ids, scores = index.search(queries, k)
        assert ids.shape == (4, min(k, n))
        all_scores = index.scores(queries)
        for q, row_ids, row_scores, row_all in zip(queries, ids, scores, all_scores, strict=True):
            # Order must follow the index's own float32 scores exactly; BLAS rounding
            # differs between code paths, so values are compared to float64 loosely.
            assert row_ids.tolist() == _oracle(row_all.tolist(), k)
            exact = vectors.astype(np.float64) @ q.astype(np.float64)
            np.testing.assert_allclose(row_scores, exact[row_ids], atol=1e-6)
        single_ids, _ = index.search(queries[0], k)
        assert single_ids.tolist() == ids[0].tolist()


def _exact(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    return (vectors.astype(np.float64) * query.astype(np.float64)).sum(axis=1)


@pytest.mark.parametrize("seed", range(6))
def test_a_querys_top_set_is_the_exact_one_alone_and_in_a_batch(seed: int) -> None:
    """A batch's matrix product rounds differently from one query's matrix-vector product
    (most scores differ in the last bits); `top_sets` still gives each query the exact top
    (float64 products, ties to the lower id) alone and in a batch, also with exact ties and
    near-ties at the k-th place."""
    rng = np.random.default_rng(seed)
    n, dim, k = 3000, 64, 300
    vectors = _unit(rng, n, dim)
    queries = _unit(rng, 7, dim)
    # Rows equal to one another (exact ties) at the first query's k-th place.
    boundary = int(np.argsort(-(vectors @ queries[0]))[k - 1])
    vectors[rng.choice(n, 40, replace=False)] = vectors[boundary]
    # Rows a hair apart (near-ties inside float32 rounding) at the second query's k-th.
    near = int(np.argsort(-(vectors @ queries[1]))[k - 1])
    vectors[rng.choice(n, 30, replace=False)] = vectors[near] + rng.standard_normal((30, dim)).astype(np.float32) * 1e-7
    index = DenseIndex(dtype="float16" if seed % 3 == 2 else "float32").fit(vectors)
    batched = index.scores(queries)
    assert (batched != np.stack([index.scores(q) for q in queries])).any()  # the rounding differs
    stored = index.get_vectors(np.arange(n))
    for q, together in zip(queries, index.top_sets(queries, k), strict=True):
        alone = index.top_sets(q, k)[0]
        assert together.tolist() == alone.tolist() == sorted(_oracle(_exact(stored, q).tolist(), k))
    assert [s.tolist() for s in index.top_sets(queries[:2], n + 5)] == [list(range(n))] * 2
    assert [s.size for s in index.top_sets(queries[:2], 0)] == [0, 0]


def test_top_sets_stay_exact_after_edits() -> None:
    """An edited index (rows replaced, added, removed) keeps a bound on its rows' lengths, so
    its top sets are still the exact ones."""
    rng = np.random.default_rng(9)
    vectors = _unit(rng, 500, 32)
    index = DenseIndex().fit(vectors)
    new = 3 * _unit(rng, 3, 32)  # longer rows than any before
    take = np.concatenate([np.arange(1, 500), [500, 501, 502]])
    take[10] = 500
    edited = index.edited(take, new)
    assert edited.max_norm_ >= 3 - 1e-6
    rows = edited.get_vectors(np.arange(edited.n_))
    for q in _unit(rng, 5, 32):
        assert edited.top_sets(q, 40)[0].tolist() == sorted(_oracle(_exact(rows, q).tolist(), 40))


def test_empty_index_returns_nothing() -> None:
    index = DenseIndex().fit(np.zeros((0, 8), dtype=np.float32))
    ids, scores = index.search(np.ones(8, dtype=np.float32), 5)
    assert ids.size == 0 and scores.size == 0


def test_float16_index_close_to_float32() -> None:
    rng = np.random.default_rng(1)
    vectors, query = _unit(rng, 500, 32), _unit(rng, 1, 32)[0]
    ids32, s32 = DenseIndex().fit(vectors).search(query, 10)
    index16 = DenseIndex(dtype="float16", chunk_size=64).fit(vectors)
    assert index16.vectors_.dtype == np.float16
    ids16, s16 = index16.search(query, 10)
    np.testing.assert_allclose(s16, s32, atol=2e-3)
    assert len(set(ids16.tolist()) & set(ids32.tolist())) >= 9


@pytest.mark.slow  # importing sentence_transformers imports torch (seconds), no model
def test_agrees_with_sentence_transformers_semantic_search() -> None:
    from sentence_transformers import util

    rng = np.random.default_rng(7)
    corpus, queries = _unit(rng, 2000, 64), _unit(rng, 5, 64)
    ids, scores = DenseIndex().fit(corpus).search(queries, 10)
    reference = util.semantic_search(queries, corpus, top_k=10)
    for row_ids, row_scores, hits in zip(ids, scores, reference, strict=True):
        assert row_ids.tolist() == [h["corpus_id"] for h in hits]
        np.testing.assert_allclose(row_scores, [h["score"] for h in hits], atol=1e-5)


def test_hnsw_recall_against_exact() -> None:
    rng = np.random.default_rng(3)
    corpus, queries = _unit(rng, 3000, 32), _unit(rng, 50, 32)
    exact_ids, _ = DenseIndex().fit(corpus).search(queries, 10)
    hnsw = make_dense_index("hnsw", m=16, ef_construction=100, ef_search=64, num_threads=1)
    assert isinstance(hnsw, HNSWIndex)
    approx_ids, approx_scores = hnsw.fit(corpus).search(queries, 10)
    recall = np.mean(
        [len(set(a) & set(e)) / 10 for a, e in zip(approx_ids, exact_ids, strict=True)]
    )
    assert recall >= 0.95
    np.testing.assert_allclose(
        approx_scores[:, 0], np.sum(queries * corpus[approx_ids[:, 0]], 1), atol=1e-5
    )
    np.testing.assert_allclose(hnsw.get_vectors(np.array([5, 7])), corpus[[5, 7]], atol=1e-6)
    ids, _ = hnsw.search(queries[0], 5000)  # k larger than the corpus is clipped
    assert ids.shape == (3000,)
    restored = pickle.loads(pickle.dumps(hnsw))
    assert restored.search(queries, 10)[0].tolist() == approx_ids.tolist()


def test_unknown_index_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown ann"):
        make_dense_index("faiss")
