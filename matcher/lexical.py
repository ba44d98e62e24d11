"""Lexical scorers: BM25 and TF-IDF cosine over a fitted candidate corpus.

TF-IDF keeps a sparse ``documents x terms`` weight matrix ``doc_matrix_`` so that scoring
a query is a single sparse matrix-vector product and the per-term contributions needed
for explanations are an element-wise product of one row with the query vector. BM25
keeps the term counts instead and weighs the few columns of a query's terms when it is
scored (:class:`BM25Index`), so that an edit need not re-weigh the corpus.

Both keep what the weights are computed from — a vocabulary that can grow, the raw term
counts of every document and the document frequencies — so a corpus can be edited
without tokenising it again: :meth:`LexicalIndex.edited` tokenises only the new texts.
TF-IDF then takes the kept rows of the counts and recomputes the weights (and idf) with a
few vectorised passes; BM25 keeps its base and adds the changed rows to a delta. The
scores are those of a fresh :meth:`~LexicalIndex.fit` on the resulting texts
(``tests/matcher/test_incremental.py``): terms left with no document are ignored in
queries, as a fresh fit would not know them, and are dropped once they outnumber the
live ones (when the index is next rebuilt).

Fit once per corpus version and reuse: a fitted index is picklable (the tokenizer is a
module-level function), so the web layer can cache it keyed by corpus version.
"""

from __future__ import annotations

import copy
import threading
from abc import ABC, abstractmethod
from collections import Counter, OrderedDict
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from .text import tokenize

__all__ = ["SCORERS", "BM25Index", "LexicalIndex", "TfidfIndex", "Vocabulary"]

#: Dead terms (no document left) are dropped when they outnumber the live ones and this.
COMPACT_AFTER = 4096

#: Query texts whose token counts are remembered (:func:`query_counts`): tens of KB each
#: (a long Chinese text has a thousand distinct characters and pairs), a few MB in all.
QUERY_COUNTS_KEPT = 256


class Vocabulary:
    """Terms and their column ids; grows as new texts bring new terms.

    Attributes:
        ids: term -> column.
        terms: column -> term.
    """

    def __init__(self, known: _KnownTerms | None = None) -> None:
        self.ids: dict[str, int] = {}
        self.terms: list[str] = []
        #: Queries' columns (:meth:`known`), handed on to copies (which only append terms, so a
        #: column keeps its term) and dropped when the columns are renumbered (:meth:`compacted`).
        self._known = known if known is not None else _KnownTerms()

    def copy(self) -> Vocabulary:
        """An independent copy (an edited index never changes the one it came from)."""
        out = Vocabulary(self._known.copy())
        out.ids = dict(self.ids)
        out.terms = list(self.terms)
        return out

    def known(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """A query's tokens in this vocabulary: their columns (ascending) and counts.

        Remembered per query text for this vocabulary and its copies: a query is asked again
        after every edit of the corpus, and looking up its hundred-odd tokens cost a tenth of
        scoring it. A remembered answer serves this vocabulary and its later copies (each with
        its own memory, from its copying on), as long as they have not learnt one of the tokens
        it did not know.
        """
        hit = self._known.get(query)
        if hit is not None:
            cols, tf, unknown = hit
            if (not cols.size or int(cols[-1]) < len(self.terms)) and not any(t in self.ids for t in unknown):
                return cols, tf
        ids = self.ids
        found: list[tuple[int, int]] = []
        missing: list[str] = []
        for term, count in query_counts(query):
            col = ids.get(term)
            if col is None:
                missing.append(term)
            else:
                found.append((col, count))
        found.sort()
        cols = np.array([col for col, _count in found], dtype=np.int64)
        tf = np.array([count for _col, count in found], dtype=np.float64)
        cols.flags.writeable = tf.flags.writeable = False  # shared by every later scoring
        self._known.put(query, (cols, tf, tuple(missing)))
        return cols, tf

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
        self._known = _KnownTerms()  # the columns are renumbered: what was remembered is not true here
        new_ids = np.cumsum(alive) - 1
        self.terms = [t for t, keep in zip(self.terms, alive.tolist(), strict=True) if keep]
        self.ids = {t: i for i, t in enumerate(self.terms)}
        return sp.csr_matrix(
            (counts.data, new_ids[counts.indices], counts.indptr), shape=(counts.shape[0], len(self.terms))
        )


class _KnownTerms:
    """The latest ``QUERY_COUNTS_KEPT`` queries' columns, counts and unknown tokens (thread-safe)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[np.ndarray, np.ndarray, tuple[str, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]] | None:
        with self._lock:
            hit = self._entries.get(query)
            if hit is not None:
                self._entries.move_to_end(query)
            return hit

    def __getstate__(self) -> dict[str, object]:
        return {}  # a pickled index remembers no queries (and a lock does not pickle)

    def __setstate__(self, _state: dict[str, object]) -> None:
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def copy(self) -> _KnownTerms:
        out = _KnownTerms()
        with self._lock:
            out._entries = OrderedDict(self._entries)
        return out

    def put(self, query: str, entry: tuple[np.ndarray, np.ndarray, tuple[str, ...]]) -> None:
        with self._lock:
            self._entries[query] = entry
            self._entries.move_to_end(query)
            while len(self._entries) > QUERY_COUNTS_KEPT:
                self._entries.popitem(last=False)


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
        return self.fit_tokens([tokenize(t) for t in texts])

    def fit_tokens(self, token_lists: Sequence[Sequence[str]]) -> LexicalIndex:
        """:meth:`fit` on texts already split into tokens (another analyser's, e.g. a
        stemmer's or word pairs': ``benchmarks/tune_ideas.py``).

        Args:
            token_lists: One token list per candidate, in candidate order.

        Returns:
            self, fitted as :meth:`fit` is.
        """
        self.vocabulary_ = Vocabulary()
        self._set_counts(self.vocabulary_.rows(token_lists))
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
        token_lists = [tokenize(t) for t in texts]
        known = self.vocabulary_.ids
        if not all(t in known for tokens in token_lists for t in tokens):
            out.vocabulary_ = self.vocabulary_.copy()  # it grows: readers of this one keep theirs
        new_rows = out.vocabulary_.rows(token_lists)
        take = np.asarray(take, dtype=np.int64)
        if out._patched(take, new_rows):
            return out
        counts = stacked_rows(self._counts(), new_rows, take)
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        alive = df > 0
        dead = int(alive.size - alive.sum())
        if dead > max(COMPACT_AFTER, int(alive.sum())):
            if out.vocabulary_ is self.vocabulary_:
                out.vocabulary_ = self.vocabulary_.copy()  # compacting renumbers it
            counts = out.vocabulary_.compacted(counts, alive)
        out._set_counts(counts)
        return out

    def _counts(self) -> sp.csr_matrix:
        """The term counts of every document (CSR, documents x terms)."""
        return self.counts_

    def _patched(self, take: np.ndarray, new_rows: sp.csr_matrix) -> bool:
        """Apply an edit that only replaces and appends documents without computing the
        whole corpus again, when the index can (this one cannot): False leaves it to
        :meth:`edited`'s whole recomputation."""
        return False

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
        return self._weighted_query(*self.vocabulary_.known(query))

    def query_tokens(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`query_terms` of a query already split into tokens (as :meth:`fit_tokens`).

        Args:
            tokens: The query's tokens, with repeats; unknown ones are ignored.

        Returns:
            ``(term_ids, weights)``, as :meth:`query_terms`.
        """
        ids = self.vocabulary_.ids
        counts = Counter(ids[t] for t in tokens if t in ids)
        cols = np.array(sorted(counts), dtype=np.int64)
        return self._weighted_query(cols, np.array([counts[c] for c in cols.tolist()], dtype=np.float64))

    def _weighted_query(self, cols: np.ndarray, tf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The known query terms ``cols`` (counts ``tf``) still in some document, weighted."""
        if cols.size:
            live = self.df_[cols] > 0
            cols, tf = cols[live], tf[live]
        if not cols.size:
            return np.array([], dtype=np.int64), np.array([])
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

    def score_each(self, queries: Sequence[str | tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """:meth:`score` of several queries: ``(len(queries), n_docs_)``, row i equal to
        ``score(queries[i])``.

        Args:
            queries: Query texts, or results of :meth:`query_terms`.

        Returns:
            float64 array, one row a query.
        """
        return np.stack([self.score(q) for q in queries]) if queries else np.zeros((0, self.n_docs_))

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
        row_terms, row_weights = self._row_weights(doc)
        qw = dict(zip(cols.tolist(), weights.tolist(), strict=True))
        terms = self.vocabulary_.terms
        pairs = [
            (terms[j], v * qw[j])
            for j, v in zip(row_terms.tolist(), row_weights.tolist(), strict=True)
            if j in qw
        ]
        pairs.sort(key=lambda p: (-p[1], p[0]))
        return pairs

    def _row_weights(self, doc: int) -> tuple[np.ndarray, np.ndarray]:
        """One document's term ids and weights."""
        # Slice the CSR arrays directly: scipy's row indexing costs ~1 ms per call.
        start, stop = self.doc_matrix_.indptr[doc], self.doc_matrix_.indptr[doc + 1]
        return self.doc_matrix_.indices[start:stop], self.doc_matrix_.data[start:stop]

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

    The weights are computed when a query is scored, from the counts of the documents that
    hold its terms (a column slice of a few thousand values), rather than stored for the
    whole corpus: idf and the average length move with every edit, so stored weights
    would all be computed again on each one. Edits that replace or add documents (a
    capability edited or created) then cost what they change, in the way of a search
    engine's segments:

    - the *base*: the counts as of the last :meth:`fit` or compaction, by document (CSR, for
      explanations) and by term (CSC, for scoring); never changed once built, so every
      later version shares it;
    - the *delta*: the documents replaced or added since (``patched_``, position -> their
      term ids and counts), with the base rows they replace (``stale_``) left out of scores;
    - the statistics (document frequencies, lengths, average length, idf) of the current
      corpus, brought up to date from the changed rows.

    An edit that removes documents (the positions after them move), or a delta grown past
    :func:`delta_limit`, compacts: the base is built again from the current counts. Scores
    equal those of a fresh :meth:`fit` in every case (``tests/matcher/test_incremental.py``).

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
        """The documents' weights for the current statistics (rows = all documents)."""
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        weights = self._weights(counts.indices, counts.data, rows)
        return sp.csr_matrix((weights, counts.indices, counts.indptr), shape=counts.shape)

    def _weights(self, terms: np.ndarray, tf: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """BM25 weight of each (term, count, document) entry under the current statistics."""
        return self._saturated(tf, docs) * (self.idf_[terms] * (self.k1 + 1.0))

    def _saturated(self, tf: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """``tf / (tf + k1 * (1 - b + b * |d| / avgdl))`` of each entry (one gather, two passes)."""
        denom = self.length_norm_[docs]
        denom += tf
        return np.divide(tf, denom, out=denom)

    def _set_counts(self, counts: sp.csr_matrix) -> None:
        self.base_csr_ = counts
        self.base_csc_ = counts.tocsc()
        self.patched_: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.stale_ = np.array([], dtype=np.int64)
        self.delta_csc_: sp.csc_matrix | None = None
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        self._set_statistics(
            np.bincount(counts.indices, minlength=counts.shape[1]),
            np.bincount(rows, weights=counts.data, minlength=counts.shape[0]),
        )

    def _set_statistics(self, df: np.ndarray, doc_len: np.ndarray) -> None:
        self.df_ = df
        self.doc_len_ = doc_len
        self.n_docs_ = n_docs = int(doc_len.size)
        mean = float(doc_len.mean()) if n_docs else 0.0
        self.avgdl_ = mean if mean > 0 else 1.0
        self.idf_ = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        # Each document's k1 * (1 - b + b * |d| / avgdl): one value a document, so computed
        # per version (15,000 values), not per term of every document.
        self.length_norm_ = self.k1 * (1.0 - self.b + self.b * doc_len / self.avgdl_)

    def _row(self, doc: int) -> tuple[np.ndarray, np.ndarray]:
        """One document's term ids and counts."""
        patched = self.patched_.get(doc)
        if patched is not None:
            return patched
        start, stop = self.base_csr_.indptr[doc], self.base_csr_.indptr[doc + 1]
        return self.base_csr_.indices[start:stop], self.base_csr_.data[start:stop]

    def _counts(self) -> sp.csr_matrix:
        if not self.patched_:
            return self.base_csr_
        n_base = self.base_csr_.shape[0]
        positions = sorted(self.patched_)
        rows = [self.patched_[p] for p in positions]
        delta = sp.csr_matrix(
            (
                np.concatenate([tf for _terms, tf in rows]),
                np.concatenate([terms for terms, _tf in rows]),
                np.concatenate([[0], np.cumsum([terms.size for terms, _tf in rows])]),
            ),
            shape=(len(rows), self.df_.size),
        )
        take = np.arange(self.n_docs_, dtype=np.int64)
        take[positions] = n_base + np.arange(len(positions))
        return stacked_rows(self.base_csr_, delta, take)

    def _patched(self, take: np.ndarray, new_rows: sp.csr_matrix) -> bool:
        n, n_base = self.n_docs_, self.base_csr_.shape[0]
        if not n_base or not only_replaces_and_appends(take, n):
            return False  # a document removed: positions move, compact
        changed = np.flatnonzero(take >= n)
        if not changed.size:
            return True  # nothing replaced or added (say, an edit elsewhere): this version stands
        if len(self.patched_) + changed.size > delta_limit(n_base):
            return False  # the delta has grown: compact
        width = new_rows.shape[1]
        df = np.zeros(width, dtype=np.int64)
        df[: self.df_.size] = self.df_
        doc_len = np.zeros(take.size)
        doc_len[:n] = self.doc_len_
        patched = dict(self.patched_)
        stale = set(self.stale_.tolist())
        for position in changed.tolist():
            j = int(take[position]) - n
            start, stop = new_rows.indptr[j], new_rows.indptr[j + 1]
            terms, tf = new_rows.indices[start:stop], new_rows.data[start:stop]
            if position < n:
                df[self._row(position)[0]] -= 1
            df[terms] += 1
            doc_len[position] = tf.sum()
            patched[position] = (terms, tf)
            if position < n_base:
                stale.add(position)
        self.patched_ = patched
        self.stale_ = np.array(sorted(stale), dtype=np.int64)
        positions = sorted(patched)
        self.delta_csc_ = sp.csc_matrix(
            (
                np.concatenate([patched[p][1] for p in positions]),
                (
                    np.concatenate([np.full(patched[p][0].size, p, dtype=np.int64) for p in positions]),
                    np.concatenate([patched[p][0] for p in positions]),
                ),
            ),
            shape=(take.size, width),
        )
        self._set_statistics(df, doc_len)
        return True

    def score(self, query: str | tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        out: np.ndarray = self.score_each([query])[0]
        return out

    def score_each(self, queries: Sequence[str | tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Several queries at once: the columns their terms share are read and weighted once
        (ten challenges share most of their common words), then one sparse-by-dense product
        gives every score. Each document's score sums its terms in column order, as it
        would alone, so a row equals :meth:`score` of that query bit for bit."""
        terms = [self.query_terms(q) if isinstance(q, str) else q for q in queries]
        width = self.base_csc_.shape[1]
        scores = self._segment_scores(self.base_csc_, [(c[c < width], w[c < width]) for c, w in terms])
        if self.stale_.size:
            scores[:, self.stale_] = 0.0
        if self.delta_csc_ is not None:
            scores += self._segment_scores(self.delta_csc_, terms)
        return scores

    def _segment_scores(self, counts: sp.csc_matrix, terms: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """``(len(terms), n_docs_)`` scores from one segment's counts."""
        union = np.unique(np.concatenate([cols for cols, _w in terms])) if terms else np.zeros(0, dtype=np.int64)
        if not union.size:
            return np.zeros((len(terms), self.n_docs_))
        sliced = counts[:, union]
        weights = sp.csc_matrix(
            (self._saturated(sliced.data, sliced.indices), sliced.indices, sliced.indptr), shape=sliced.shape
        )
        query = np.zeros((union.size, len(terms)))
        for j, (cols, query_weights) in enumerate(terms):
            query[np.searchsorted(union, cols), j] = self.idf_[cols] * (self.k1 + 1.0) * query_weights
        # (float64 whatever the counts' type; a column of zeros adds nothing to a sum)
        product = np.asarray(weights @ query, dtype=np.float64)
        if product.shape[0] < self.n_docs_:
            product = np.vstack([product, np.zeros((self.n_docs_ - product.shape[0], len(terms)))])
        return np.ascontiguousarray(product.T)

    def _row_weights(self, doc: int) -> tuple[np.ndarray, np.ndarray]:
        row_terms, tf = self._row(doc)
        return row_terms, self._weights(row_terms, tf, np.full(row_terms.size, doc))


@lru_cache(maxsize=QUERY_COUNTS_KEPT)
def query_counts(query: str) -> tuple[tuple[str, int], ...]:
    """Each token of a query text with its count, remembered for the latest
    ``QUERY_COUNTS_KEPT`` texts: a page asks the same challenge or profile again after every
    edit of the corpus, and tokenizing it again cost as much as scoring its terms."""
    return tuple(Counter(tokenize(query)).items())


def only_replaces_and_appends(take: np.ndarray, n: int) -> bool:
    """Whether an edit's ``take`` (as :meth:`LexicalIndex.edited`) of an index of ``n`` rows
    keeps every row in place, replaced or not, and adds rows only at the end."""
    head = take[:n]
    return take.size >= n and bool(np.all((head == np.arange(n)) | (head >= n))) and bool(np.all(take[n:] >= n))


def delta_limit(n_base: int) -> int:
    """Documents a :class:`BM25Index` keeps in its delta before compacting: 2% of its base,
    at least 64 (compacting costs about what a whole edit did before, ~0.1 s for 15,000
    documents; the delta's cost per query grows with its size)."""
    return max(64, n_base // 50)


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
