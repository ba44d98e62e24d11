"""Lexical scorers: BM25 and TF-IDF cosine over a fitted candidate corpus.

Both keep a sparse ``documents x terms`` weight matrix ``doc_matrix_`` so that scoring
a query is a single sparse matrix-vector product and the per-term contributions needed
for explanations are an element-wise product of one row with the query vector.

The index keeps what the weights are computed from — a vocabulary that can grow, the
raw term counts of every document (``counts_``) and the document frequencies — so a
corpus can be edited without tokenising it again: :meth:`LexicalIndex.edited` tokenises
only the new texts, takes the kept rows of the counts and recomputes the weights (and
idf, average length) from the counts with a few vectorised passes. The scores are those
of a fresh :meth:`~LexicalIndex.fit` on the resulting texts (``tests/matcher/
test_incremental.py``): terms left with no document are ignored in queries, as a fresh
fit would not know them, and are dropped once they outnumber the live ones.

Fit once per corpus version and reuse: a fitted index is picklable (the tokenizer is a
module-level function), so the web layer can cache it keyed by corpus version.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .text import tokenize

__all__ = ["SCORERS", "BM25Index", "LexicalIndex", "TfidfIndex", "Vocabulary"]

#: Dead terms (no document left) are dropped when they outnumber the live ones and this.
COMPACT_AFTER = 4096


class Vocabulary:
    """Terms and their column ids; grows as new texts bring new terms.

    Attributes:
        ids: term -> column.
        terms: column -> term.
    """

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.terms: list[str] = []

    def copy(self) -> Vocabulary:
        """An independent copy (an edited index never changes the one it came from)."""
        out = Vocabulary()
        out.ids = dict(self.ids)
        out.terms = list(self.terms)
        return out

    def rows(self, token_lists: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Count matrix (float64, ``len(token_lists) x len(terms)`` after growing) of token lists."""
        indptr = [0]
        indices: list[int] = []
        data: list[int] = []
        ids, terms = self.ids, self.terms
        for tokens in token_lists:
            for term, count in Counter(tokens).items():
                col = ids.get(term)
                if col is None:
                    col = ids[term] = len(terms)
                    terms.append(term)
                indices.append(col)
                data.append(count)
            indptr.append(len(indices))
        matrix = sp.csr_matrix(
            (np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
            shape=(len(token_lists), len(terms)),
        )
        matrix.sort_indices()
        return matrix

    def compacted(self, counts: sp.csr_matrix, alive: np.ndarray) -> sp.csr_matrix:
        """Drop the columns not ``alive`` from the vocabulary and renumber ``counts``."""
        new_ids = np.cumsum(alive) - 1
        self.terms = [t for t, keep in zip(self.terms, alive.tolist(), strict=True) if keep]
        self.ids = {t: i for i, t in enumerate(self.terms)}
        return sp.csr_matrix(
            (counts.data, new_ids[counts.indices], counts.indptr), shape=(counts.shape[0], len(self.terms))
        )


def stacked_rows(old: sp.csr_matrix, new: sp.csr_matrix, take: np.ndarray) -> sp.csr_matrix:
    """Rows ``take`` of ``old`` then ``new`` stacked (``new`` may have more columns).

    Args:
        old: ``(n, c)`` CSR.
        new: ``(m, c')`` CSR with ``c' >= c``.
        take: Row indices into the ``n + m`` stacked rows, in the order wanted.

    Returns:
        ``(len(take), c')`` CSR with sorted indices.
    """
    width = max(old.shape[1], new.shape[1])
    old = sp.csr_matrix((old.data, old.indices, old.indptr), shape=(old.shape[0], width))
    new = sp.csr_matrix((new.data, new.indices, new.indptr), shape=(new.shape[0], width))
    out = sp.vstack([old, new], format="csr")[np.asarray(take, dtype=np.int64)]
    result: sp.csr_matrix = sp.csr_matrix(out)
    result.sort_indices()
    return result


class LexicalIndex(ABC):
    """Base class: fit on candidate texts, then score query texts against them.

    Subclasses implement :meth:`_weight_documents` (counts -> document weights) and
    :meth:`_weight_query` (a query's term counts -> its weights).
    """

    def fit(self, texts: Sequence[str]) -> LexicalIndex:
        """Build the index over the candidate corpus.

        Args:
            texts: One text per candidate, in candidate order (use ``Item.text``).

        Returns:
            self, with ``vocabulary_``, ``counts_``, ``df_``, ``doc_matrix_`` (CSR,
            documents x terms), ``terms_`` and ``n_docs_`` set.
        """
        self.vocabulary_ = Vocabulary()
        self._set_counts(self.vocabulary_.rows([tokenize(t) for t in texts]))
        return self

    def edited(self, take: np.ndarray, texts: Sequence[str]) -> LexicalIndex:
        """A new index for an edited corpus (this one is left as it is, for readers).

        Args:
            take: For each document of the new corpus, in order, its row among this
                index's documents followed by ``texts`` (``i < n_docs_``: kept document
                ``i``; ``n_docs_ + j``: ``texts[j]``).
            texts: The new or replaced documents' texts.

        Returns:
            The index a :meth:`fit` on the resulting texts would give (same scores),
            having tokenised only ``texts``.
        """
        out = copy.copy(self)
        out.vocabulary_ = self.vocabulary_.copy()
        new_rows = out.vocabulary_.rows([tokenize(t) for t in texts])
        counts = stacked_rows(self.counts_, new_rows, take)
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        alive = df > 0
        dead = int(alive.size - alive.sum())
        if dead > max(COMPACT_AFTER, int(alive.sum())):
            counts = out.vocabulary_.compacted(counts, alive)
        out._set_counts(counts)
        return out

    def _set_counts(self, counts: sp.csr_matrix) -> None:
        self.counts_ = counts
        self.n_docs_ = counts.shape[0]
        self.df_ = np.bincount(counts.indices, minlength=counts.shape[1])
        self.doc_matrix_ = sp.csr_matrix(self._weight_documents(counts))
        # Column slicing (the query's few terms) is cheap in CSC.
        self._doc_csc = self.doc_matrix_.tocsc()

    @property
    def terms_(self) -> list[str]:
        """Column -> term."""
        return self.vocabulary_.terms

    def query_terms(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Vectorise a query once, for several :meth:`score` / :meth:`contributions` calls.

        Args:
            query: Query text; tokens in no fitted document are ignored.

        Returns:
            ``(term_ids, weights)`` of the query's known terms, by term id.
        """
        ids = self.vocabulary_.ids
        counts = Counter(t for t in tokenize(query) if t in ids)
        cols = np.array(sorted(ids[t] for t in counts), dtype=np.int64)
        if cols.size:
            cols = cols[self.df_[cols] > 0]
        if not cols.size:
            return np.array([], dtype=np.int64), np.array([])
        terms = self.vocabulary_.terms
        tf = np.array([counts[terms[c]] for c in cols.tolist()], dtype=np.float64)
        return cols, self._weight_query(cols, tf)

    def score(self, query: str | tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Score every fitted document against ``query``.

        Args:
            query: Query text, or the result of :meth:`query_terms`.

        Returns:
            float64 array of shape ``(n_docs_,)``; higher is better, 0 = no shared term.
        """
        cols, weights = self.query_terms(query) if isinstance(query, str) else query
        if cols.size == 0:
            return np.zeros(self.n_docs_)
        return np.asarray(self._doc_csc[:, cols] @ weights).ravel()

    def contributions(
        self, query: str | tuple[np.ndarray, np.ndarray], doc: int
    ) -> list[tuple[str, float]]:
        """Per-term contributions of one document's score, largest first.

        Args:
            query: Query text, or the result of :meth:`query_terms`.
            doc: Document index (position in the fitted corpus).

        Returns:
            ``[(token, contribution), ...]`` for tokens present in both the query and
            the document; the contributions sum to ``score(query)[doc]``.
        """
        cols, weights = self.query_terms(query) if isinstance(query, str) else query
        if cols.size == 0:
            return []
        # Slice the CSR arrays directly: scipy's row indexing costs ~1 ms per call.
        start, stop = self.doc_matrix_.indptr[doc], self.doc_matrix_.indptr[doc + 1]
        row_terms = self.doc_matrix_.indices[start:stop]
        row_weights = self.doc_matrix_.data[start:stop]
        qw = dict(zip(cols.tolist(), weights.tolist(), strict=True))
        terms = self.vocabulary_.terms
        pairs = [
            (terms[j], v * qw[j])
            for j, v in zip(row_terms.tolist(), row_weights.tolist(), strict=True)
            if j in qw
        ]
        pairs.sort(key=lambda p: (-p[1], p[0]))
        return pairs

    @abstractmethod
    def _weight_documents(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Document weights from the term counts (``df_`` and ``n_docs_`` are set)."""

    @abstractmethod
    def _weight_query(self, cols: np.ndarray, tf: np.ndarray) -> np.ndarray:
        """A query's weights from its known terms' ids and counts."""


class BM25Index(LexicalIndex):
    """Okapi BM25 with the non-negative Lucene idf ``log(1 + (N - df + .5) / (df + .5))``.

    ``score(q, d) = sum over query tokens t (with repeats) of
    idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))``.

    Args:
        k1: Term-frequency saturation.
        b: Document-length normalisation strength (0 disables).
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b

    def _weight_query(self, cols: np.ndarray, tf: np.ndarray) -> np.ndarray:
        return tf

    def _weight_documents(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        n_docs = counts.shape[0]
        # Per-nonzero row and document length, without a Python loop over documents.
        rows = np.repeat(np.arange(n_docs), np.diff(counts.indptr))
        doc_len = np.bincount(rows, weights=counts.data, minlength=n_docs)
        avgdl = doc_len.mean() if n_docs and doc_len.mean() > 0 else 1.0
        df = self.df_
        self.idf_ = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        self.avgdl_ = float(avgdl)
        tf = counts.data
        denom = tf + self.k1 * (1.0 - self.b + self.b * doc_len[rows] / avgdl)
        weights = self.idf_[counts.indices] * tf * (self.k1 + 1.0) / denom
        # The weights share the counts' index arrays (neither is ever changed in place).
        return sp.csr_matrix((weights, counts.indices, counts.indptr), shape=counts.shape)


class TfidfIndex(LexicalIndex):
    """Cosine similarity of sublinear TF-IDF vectors (smooth idf, L2 norm).

    Args:
        sublinear_tf: Use ``1 + log(tf)`` so long texts do not dominate.
    """

    def __init__(self, sublinear_tf: bool = True) -> None:
        self.sublinear_tf = sublinear_tf

    def _tf(self, tf: np.ndarray) -> np.ndarray:
        return 1.0 + np.log(tf) if self.sublinear_tf else tf

    def _weight_documents(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        # scikit-learn's TfidfVectorizer(smooth_idf=True, norm="l2"), from the counts.
        self.idf_ = np.log((1.0 + self.n_docs_) / (1.0 + self.df_)) + 1.0
        data = self._tf(counts.data) * self.idf_[counts.indices]
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        norms = np.sqrt(np.bincount(rows, weights=data**2, minlength=counts.shape[0]))
        return sp.csr_matrix((data / norms[rows], counts.indices, counts.indptr), shape=counts.shape)

    def _weight_query(self, cols: np.ndarray, tf: np.ndarray) -> np.ndarray:
        weights = self._tf(tf) * self.idf_[cols]
        norm = float(np.sqrt((weights**2).sum()))
        return weights / norm if norm > 0 else weights


#: Lexical scorer registry: name -> class (constructor kwargs are its params).
SCORERS: dict[str, type[LexicalIndex]] = {"bm25": BM25Index, "tfidf": TfidfIndex}
