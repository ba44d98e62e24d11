"""Dense vector search: exact (matrix-vector product) and approximate (HNSW).

Vectors are expected L2-normalised, so inner product equals cosine similarity.
Both indexes share one small API: ``fit(vectors)``, ``search(queries, k)``,
``similarity(query, ids)`` and ``get_vectors(ids)``.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from .lexical import delta_limit, only_replaces_and_appends

__all__ = ["ANN_INDEXES", "DenseIndex", "HNSWIndex", "make_dense_index", "top_k", "unit_rows"]


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest scores, best first; ties go to the lower index.

    Uses ``argpartition`` (O(n)) and sorts only the selected entries, so cost is
    dominated by one pass over ``scores``.

    Args:
        scores: 1-D array of scores.
        k: Number of results; clipped to ``len(scores)``.

    Returns:
        int64 array of at most ``k`` indices.
    """
    n = scores.shape[0]
    k = min(max(k, 0), n)
    if k == 0:
        return np.empty(0, dtype=np.int64)
    if k < n:
        selected = np.argpartition(scores, n - k)[n - k :]
        threshold = scores[selected].min()
        # argpartition picks arbitrary members of a tie at the boundary. When some tied
        # item was left out, take every strictly better item, then the lowest-index
        # ties, to be deterministic (one extra pass, only then).
        if np.count_nonzero(scores == threshold) != np.count_nonzero(scores[selected] == threshold):
            above = np.flatnonzero(scores > threshold)
            ties = np.flatnonzero(scores == threshold)[: k - above.size]
            selected = np.concatenate([above, ties])
    else:
        selected = np.arange(n)
    order = np.lexsort((selected, -scores[selected]))
    return selected[order].astype(np.int64)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """L2-normalise the rows of a matrix; all-zero rows stay zero (no division by 0).

    Args:
        x: ``(n, dim)`` array.

    Returns:
        float32 array of the same shape with unit (or zero) rows.
    """
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit: np.ndarray = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return unit


def _as_queries(queries: np.ndarray) -> tuple[np.ndarray, bool]:
    q = np.asarray(queries, dtype=np.float32)
    single = q.ndim == 1
    return (q[None, :] if single else q), single


class _VectorIndex(ABC):
    """What both indexes answer alike from the vectors they keep."""

    @abstractmethod
    def get_vectors(self, ids: np.ndarray) -> np.ndarray:
        """``(len(ids), dim)`` float32 vectors of the candidates ``ids``."""

    def similarity(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact inner products of one query with selected candidates (the stored vectors
        are read back, so this is exact for the approximate index too).

        Args:
            query: ``(dim,)`` query vector.
            ids: Candidate indices.

        Returns:
            float32 array aligned with ``ids``.
        """
        return self.get_vectors(ids) @ np.asarray(query, dtype=np.float32)


class DenseIndex(_VectorIndex):
    """Exact inner-product search over candidate vectors held in memory.

    ~5 ms for one query against 100k x 384 float32 vectors on one core (one pass of
    BLAS ``sgemv`` plus ``argpartition``).

    Args:
        dtype: ``"float32"`` (default, fastest) or ``"float16"`` (half the memory;
            scores are computed in float32 chunk by chunk, so it is slower).
        chunk_size: Rows converted per chunk in float16 mode.
    """

    def __init__(self, dtype: str = "float32", chunk_size: int = 16_384) -> None:
        self.dtype = dtype
        self.chunk_size = chunk_size

    def fit(self, vectors: np.ndarray) -> DenseIndex:
        """Store the candidate vectors.

        Args:
            vectors: ``(n, dim)`` array of L2-normalised rows.

        Returns:
            self, with ``base_`` (the vectors), ``n_`` and ``dim_`` set.
        """
        if self.dtype not in ("float32", "float16"):
            raise ValueError(f"dtype must be 'float32' or 'float16', got {self.dtype!r}")
        v = np.asarray(vectors)
        if v.ndim != 2:
            raise ValueError(f"vectors must be 2-D, got shape {v.shape}")
        self.base_ = np.ascontiguousarray(v, dtype=np.dtype(self.dtype))
        self.n_, self.dim_ = self.base_.shape
        self.max_norm_ = _max_norm(self.base_)
        self._set_delta({})
        return self

    def _set_delta(self, patched: dict[int, np.ndarray]) -> None:
        """The rows replaced or added since the base was built: position -> vector."""
        self.patched_ = patched
        self.delta_positions_ = np.array(sorted(patched), dtype=np.int64)
        self.delta_rows_ = (
            np.stack([patched[p] for p in self.delta_positions_.tolist()])
            if patched else np.zeros((0, self.dim_), dtype=self.base_.dtype)
        )

    @property
    def vectors_(self) -> np.ndarray:
        """Every candidate's vector, in order (a copy when rows were edited since the base)."""
        return self._rows(np.arange(self.n_)) if self.patched_ else self.base_

    def edited(self, take: np.ndarray, vectors: np.ndarray) -> DenseIndex:
        """A new index for an edited corpus (this one is left as it is, for readers).

        An edit that only replaces and adds rows keeps this index's matrix (shared, never
        changed) and the new rows beside it, like :class:`matcher.BM25Index`'s delta; one
        that removes rows, or a delta past :func:`matcher.lexical.delta_limit`, copies
        the kept rows into a new matrix.

        Args:
            take: For each candidate of the new corpus, in order, its row among this
                index's vectors followed by ``vectors`` (as :meth:`matcher.LexicalIndex.edited`).
            vectors: ``(m, dim)`` vectors of the new or replaced candidates.

        Returns:
            The index a :meth:`fit` on the resulting vectors would give, nothing recomputed.
        """
        new = np.asarray(vectors, dtype=self.base_.dtype).reshape(-1, self.dim_)
        take = np.asarray(take, dtype=np.int64)
        n, n_base = self.n_, self.base_.shape[0]
        changed = np.flatnonzero(take >= n)
        out = copy.copy(self)
        # An upper bound of every row's length (removing rows can only lower the true one).
        out.max_norm_ = max(self.max_norm_, _max_norm(new))
        if n_base and only_replaces_and_appends(take, n) and len(self.patched_) + changed.size <= delta_limit(n_base):
            patched = dict(self.patched_)
            for position in changed.tolist():
                patched[position] = new[int(take[position]) - n]
            out.n_ = take.size
            out._set_delta(patched)
            return out
        kept = take < n
        rows = np.empty((take.size, self.dim_), dtype=self.base_.dtype)
        # One gather of the kept rows (a copy: readers of this index keep theirs), then
        # the few new ones over the placeholders.
        if n:
            rows[:] = self._rows(np.where(kept, take, 0))
        rows[~kept] = new[take[~kept] - n]
        out.base_ = rows
        out.n_ = take.size
        out._set_delta({})
        return out

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        """Candidate vectors in the stored dtype (the delta's rows over the base's)."""
        ids = np.asarray(ids, dtype=np.int64)
        if not self.patched_:
            return self.base_[ids]
        n_base = self.base_.shape[0]
        rows = self.base_[np.minimum(ids, max(n_base - 1, 0))] if n_base else np.zeros((ids.size, self.dim_), self.base_.dtype)
        at = np.searchsorted(self.delta_positions_, ids)
        hit = at < self.delta_positions_.size
        hit[hit] = self.delta_positions_[at[hit]] == ids[hit]
        rows[hit] = self.delta_rows_[at[hit]]
        return rows

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """Inner products of queries with every candidate.

        Args:
            queries: ``(dim,)`` or ``(m, dim)``.

        Returns:
            ``(n,)`` or ``(m, n)`` float32 scores.
        """
        q, single = _as_queries(queries)
        base = self._products(q, self.base_)
        if self.patched_:
            out = np.empty((q.shape[0], self.n_), dtype=np.float32)
            out[:, : base.shape[1]] = base
            out[:, self.delta_positions_] = self._products(q, self.delta_rows_)
        else:
            out = base
        return out[0] if single else out

    def _products(self, q: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """``(m, rows)`` float32 inner products of the queries with a matrix's rows."""
        out: np.ndarray
        if matrix.dtype == np.float32:
            # One query: a matrix-vector product (gemv), cheaper to set up than gemm.
            out = (matrix @ q[0])[None, :] if q.shape[0] == 1 else q @ matrix.T
        else:
            # numpy has no BLAS for float16: convert in chunks to bound memory.
            out = np.empty((q.shape[0], matrix.shape[0]), dtype=np.float32)
            for start in range(0, matrix.shape[0], self.chunk_size):
                block = matrix[start : start + self.chunk_size].astype(np.float32)
                out[:, start : start + block.shape[0]] = q @ block.T
        return out

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k by inner product (= cosine for unit vectors).

        Args:
            queries: ``(dim,)`` or ``(m, dim)``.
            k: Results per query; clipped to the number of candidates.

        Returns:
            ``(ids, scores)``, each ``(k',)`` for one query or ``(m, k')``, best first,
            ties broken by lower id.
        """
        all_scores = self.scores(queries)
        if all_scores.ndim == 1:
            # One query (the ranker's case): no stacking or gathering along an axis.
            ids = top_k(all_scores, k)
            return ids, all_scores[ids]
        ids = (
            np.stack([top_k(row, k) for row in all_scores])
            if all_scores.shape[0]
            else np.empty((0, 0))
        ).astype(np.int64)
        return ids, np.take_along_axis(all_scores, ids, axis=1)

    def top_sets(self, queries: np.ndarray, k: int) -> list[np.ndarray]:
        """Each query's exact top ``k`` candidates as a set (ids ascending), the same whether
        the query is asked alone or with others.

        :meth:`search` orders by float32 products, and one query alone (a matrix-vector
        product) and in a batch (a matrix product) round differently in the last bits, so
        near-ties at the ``k``-th place could fall either way. Here a candidate whose float32
        score is more than twice the rounding bound above the ``k``-th is in for certain;
        those within the bound of it (usually none to three) are settled by float64
        products summed in a fixed order, ties to the lower id.

        Args:
            queries: ``(dim,)`` or ``(m, dim)``.
            k: Candidates per query; clipped to the number of candidates.

        Returns:
            One int64 array of ids a query.
        """
        q, _single = _as_queries(queries)
        k = min(max(k, 0), self.n_)
        if k in (0, self.n_):  # nothing or everything: no boundary to settle
            return [np.arange(k, dtype=np.int64) for _ in range(q.shape[0])]
        approx = self.scores(q)
        out = []
        for row in range(q.shape[0]):
            scores = approx[row].astype(np.float64)
            kth = float(np.partition(scores, self.n_ - k)[self.n_ - k])
            margin = 2 * _product_error(q[row], self.max_norm_)
            sure = np.flatnonzero(scores > kth + margin)
            band = np.flatnonzero((scores >= kth - margin) & (scores <= kth + margin))
            exact = self._exact(q[row], band)
            settled = band[np.lexsort((band, -exact))[: k - sure.size]]
            out.append(np.sort(np.concatenate([sure, settled])).astype(np.int64))
        return out

    def _exact(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """float64 inner products of one query with the candidates ``ids``, each row summed in
        the same order whatever its position, so equal rows score equal."""
        rows = self.get_vectors(ids).astype(np.float64)
        exact: np.ndarray = (rows * np.asarray(query, dtype=np.float64)).sum(axis=1)
        return exact

    def get_vectors(self, ids: np.ndarray) -> np.ndarray:
        """Candidate vectors as float32.

        Args:
            ids: Candidate indices.

        Returns:
            ``(len(ids), dim)`` float32 array.
        """
        return self._rows(ids).astype(np.float32, copy=False)


def _max_norm(rows: np.ndarray) -> float:
    """The longest row's L2 norm (0 for no rows)."""
    if not rows.size:
        return 0.0
    return float(np.sqrt(np.max(np.einsum("ij,ij->i", rows, rows, dtype=np.float64))))


def _product_error(query: np.ndarray, max_norm: float) -> float:
    """A bound on a float32 inner product's rounding error whatever the order of its sum
    (``dim * eps32 * |q| * max|v|``, twice the classic ``dim * u`` bound)."""
    q = np.asarray(query, dtype=np.float64)
    return float(q.size * np.finfo(np.float32).eps * np.sqrt(q @ q) * max_norm)


class HNSWIndex(_VectorIndex):
    """Approximate inner-product search with hnswlib, for ~1M candidates.

    ``ef_search`` trades latency for recall: on 50k clustered random 384-d vectors
    (harder than real embeddings) ef 128 / 200 / 300 gave recall@10 0.90 / 0.95 / 0.97
    at 0.6 / 0.9 / 1.3 ms per query. Building is the slow part (minutes per 100k
    vectors on two cores with the defaults); pickle the fitted index to reuse it.

    Args:
        m: Graph degree (``M``); higher = better recall, more memory.
        ef_construction: Build-time beam width.
        ef_search: Query-time beam width (raised to ``k`` when smaller).
        random_state: Seed for the level generator.
        num_threads: Threads used to build the index (-1 = all cores).
    """

    def __init__(
        self,
        m: int = 32,
        ef_construction: int = 200,
        ef_search: int = 300,
        random_state: int = 0,
        num_threads: int = -1,
    ) -> None:
        self.m = m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.random_state = random_state
        self.num_threads = num_threads

    def fit(self, vectors: np.ndarray) -> HNSWIndex:
        """Build the graph.

        Args:
            vectors: ``(n, dim)`` L2-normalised rows; row i gets label i.

        Returns:
            self, with ``index_``, ``n_`` and ``dim_`` set.
        """
        import hnswlib

        v = np.ascontiguousarray(vectors, dtype=np.float32)
        self.n_, self.dim_ = v.shape
        self.index_: Any = hnswlib.Index(space="ip", dim=self.dim_)
        self.index_.init_index(
            max_elements=max(self.n_, 1),
            ef_construction=self.ef_construction,
            M=self.m,
            random_seed=self.random_state,
        )
        if self.n_:
            self.index_.add_items(v, np.arange(self.n_), num_threads=self.num_threads)
        self.index_.set_ef(self.ef_search)
        return self

    def edited(self, take: np.ndarray, vectors: np.ndarray) -> HNSWIndex:
        """A new index for an edited corpus: the graph is built again from the stored
        vectors (labels are positions, which removals shift), so an edit costs a build.

        Args:
            take: As :meth:`DenseIndex.edited`.
            vectors: ``(m, dim)`` vectors of the new or replaced candidates.

        Returns:
            A new, fitted index; this one is left as it is.
        """
        kept = self.get_vectors(np.arange(self.n_))
        new = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim_)
        rows = np.concatenate([kept, new])[np.asarray(take, dtype=np.int64)]
        return HNSWIndex(self.m, self.ef_construction, self.ef_search, self.random_state, self.num_threads).fit(rows)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-k by inner product.

        Args:
            queries: ``(dim,)`` or ``(m, dim)``.
            k: Results per query; clipped to the number of candidates.

        Returns:
            ``(ids, scores)`` like :meth:`DenseIndex.search`.
        """
        q, single = _as_queries(queries)
        k = min(max(k, 0), self.n_)
        if k == 0:
            ids = np.empty((q.shape[0], 0), dtype=np.int64)
            scores = np.empty((q.shape[0], 0), dtype=np.float32)
        else:
            self.index_.set_ef(max(self.ef_search, k))
            labels, distances = self.index_.knn_query(q, k=k, num_threads=1)
            ids = labels.astype(np.int64)
            scores = (1.0 - distances).astype(np.float32)  # hnswlib "ip" distance = 1 - dot
        return (ids[0], scores[0]) if single else (ids, scores)

    def top_sets(self, queries: np.ndarray, k: int) -> list[np.ndarray]:
        """Each query's approximate top ``k`` as a set (ids ascending), as
        :meth:`DenseIndex.top_sets` (hnswlib searches each query alone, batch or not)."""
        q, _single = _as_queries(queries)
        ids, _scores = self.search(q, k)
        return [np.sort(row) for row in ids]

    def get_vectors(self, ids: np.ndarray) -> np.ndarray:
        """Stored vectors (hnswlib keeps a copy, so no second array is held).

        Args:
            ids: Candidate indices.

        Returns:
            ``(len(ids), dim)`` float32 array.
        """
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size == 0:
            return np.zeros((0, self.dim_), dtype=np.float32)
        return np.asarray(self.index_.get_items(ids, return_type="numpy"), dtype=np.float32)


#: Dense index registry: ``RankerConfig.ann`` value -> class (None means exact).
ANN_INDEXES: dict[str | None, type[DenseIndex | HNSWIndex]] = {
    None: DenseIndex,
    "exact": DenseIndex,
    "hnsw": HNSWIndex,
}


def make_dense_index(ann: str | None = None, **params: Any) -> DenseIndex | HNSWIndex:
    """Create an unfitted dense index by name.

    Args:
        ann: None or ``"exact"`` for :class:`DenseIndex`, ``"hnsw"`` for :class:`HNSWIndex`.
        **params: Constructor parameters of the chosen class.

    Returns:
        The unfitted index.
    """
    try:
        cls = ANN_INDEXES[ann]
    except KeyError:
        raise ValueError(
            f"unknown ann {ann!r}; choose from {sorted(map(str, ANN_INDEXES))}"
        ) from None
    return cls(**params)
