"""Lexical scorers: BM25 and TF-IDF cosine over a fitted candidate corpus.

Both keep a sparse ``documents x terms`` weight matrix ``doc_matrix_`` so that scoring
a query is a single sparse matrix-vector product and the per-term contributions needed
for explanations are an element-wise product of one row with the query vector.

Fit once per corpus version and reuse: a fitted index is picklable (the tokenizer is a
module-level function), so the web layer can cache it keyed by corpus version.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from .text import tokenize

__all__ = ["SCORERS", "BM25Index", "LexicalIndex", "TfidfIndex"]


class LexicalIndex(ABC):
    """Base class: fit on candidate texts, then score query texts against them.

    Subclasses implement :meth:`_make_vectorizer`, and may override
    :meth:`_weight_documents` and :meth:`_query_vector`.
    """

    def fit(self, texts: Sequence[str]) -> LexicalIndex:
        """Build the index over the candidate corpus.

        Args:
            texts: One text per candidate, in candidate order (use ``Item.text``).

        Returns:
            self, with ``vectorizer_``, ``doc_matrix_`` (CSR, documents x terms),
            ``terms_`` and ``n_docs_`` set.
        """
        self.n_docs_ = len(texts)
        self.vectorizer_: Any = self._make_vectorizer()
        try:
            matrix = self.vectorizer_.fit_transform(list(texts))
        except ValueError:
            # Empty corpus, or no text yields a token: every score is 0.
            self.vectorizer_ = None
            self.doc_matrix_ = None
            self.terms_ = np.array([], dtype=object)
            return self
        self.terms_ = self.vectorizer_.get_feature_names_out()
        self.doc_matrix_ = self._weight_documents(matrix.tocsr().astype(np.float64))
        # Column slicing (the query's few terms) is cheap in CSC.
        self._doc_csc = self.doc_matrix_.tocsc()
        return self

    def query_terms(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Vectorise a query once, for several :meth:`score` / :meth:`contributions` calls.

        Args:
            query: Query text; tokens unseen at fit time are ignored.

        Returns:
            ``(term_ids, weights)`` of the query's known terms.
        """
        if self.vectorizer_ is None:
            return np.array([], dtype=np.int64), np.array([])
        vec = self._query_vector(query).tocsr()
        return vec.indices.astype(np.int64), vec.data.astype(np.float64)

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
        if cols.size == 0 or self.doc_matrix_ is None:
            return []
        # Slice the CSR arrays directly: scipy's row indexing costs ~1 ms per call.
        start, stop = self.doc_matrix_.indptr[doc], self.doc_matrix_.indptr[doc + 1]
        row_terms = self.doc_matrix_.indices[start:stop]
        row_weights = self.doc_matrix_.data[start:stop]
        qw = dict(zip(cols.tolist(), weights.tolist(), strict=True))
        pairs = [
            (str(self.terms_[j]), v * qw[j])
            for j, v in zip(row_terms.tolist(), row_weights.tolist(), strict=True)
            if j in qw
        ]
        pairs.sort(key=lambda p: (-p[1], p[0]))
        return pairs

    @abstractmethod
    def _make_vectorizer(self) -> Any:
        """The scikit-learn vectorizer that tokenises and counts this index's terms."""

    def _weight_documents(self, counts: Any) -> Any:
        return counts

    def _query_vector(self, query: str) -> Any:
        return self.vectorizer_.transform([query])


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

    def _make_vectorizer(self) -> CountVectorizer:
        return CountVectorizer(analyzer=tokenize, dtype=np.float64)

    def _weight_documents(self, counts: Any) -> Any:
        n_docs = counts.shape[0]
        doc_len = np.asarray(counts.sum(axis=1)).ravel()
        avgdl = doc_len.mean() if n_docs and doc_len.mean() > 0 else 1.0
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf_ = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        self.avgdl_ = float(avgdl)
        # Per-nonzero document length, without a Python loop over documents.
        row_len = np.repeat(doc_len, np.diff(counts.indptr))
        tf = counts.data
        denom = tf + self.k1 * (1.0 - self.b + self.b * row_len / avgdl)
        weighted = counts.copy()
        weighted.data = self.idf_[counts.indices] * tf * (self.k1 + 1.0) / denom
        return weighted


class TfidfIndex(LexicalIndex):
    """Cosine similarity of sublinear TF-IDF vectors (smooth idf, L2 norm).

    Args:
        sublinear_tf: Use ``1 + log(tf)`` so long texts do not dominate.
    """

    def __init__(self, sublinear_tf: bool = True) -> None:
        self.sublinear_tf = sublinear_tf

    def _make_vectorizer(self) -> TfidfVectorizer:
        return TfidfVectorizer(analyzer=tokenize, sublinear_tf=self.sublinear_tf)


#: Lexical scorer registry: name -> class (constructor kwargs are its params).
SCORERS: dict[str, type[LexicalIndex]] = {"bm25": BM25Index, "tfidf": TfidfIndex}
