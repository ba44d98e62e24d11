"""The hybrid ranker: dense + lexical + structured scores, fused, grouped, diversified.

Pipeline for one query (``HybridRanker.rank``):

1. **Pool.** With at most ``pool_size`` candidates every one is scored. Otherwise the
   pool is the dense top ``pool_size`` plus the lexical top ``pool_size``, which keeps
   a query against 100k+ candidates in the millisecond range.
2. **Components**, each 0..1:
   ``semantic = clip(cos(query, candidate) + language offset, 0, 1)``;
   ``lexical = score / max score over all candidates`` (so the best lexical match
   is 1 and no shared term is 0); ``structured`` as in ``matcher.structured``.
3. **Fusion** by name from ``FUSIONS`` with ``weights``.
4. **Filter**: the query's own key, ``exclude_keys`` and scores below ``min_score``.
5. **Grouping**: the best item per ``Item.group``.
6. **Diversity**: MMR over the best ``diversity_depth`` items using their vectors;
   only pairs above ``diversity_threshold`` cosine count as redundant.
7. **Explanations** for the returned top_k only.

Cross-lingual calibration: an English-only encoder scores a Chinese text and its
English translation near 0, so cross-language candidates sink. A multilingual encoder is
the real fix; ``RankerConfig.language_calibration`` is a hook to correct a residual
bias: ``{"same": a, "cross": b}`` adds ``a`` to the cosine of same-language pairs and
``b`` to cross-language pairs; a pair key such as ``"en|zh-Hant"`` (order-insensitive)
overrides them. ``matcher.calibration`` derives such offsets from the corpus, without
labels.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

import numpy as np

from .dense import DenseIndex, HNSWIndex, make_dense_index, top_k
from .diversity import mmr
from .encoders import Encoder
from .explain import DisplayMemo, best_pairs, key_terms
from .fusion import FUSIONS
from .lexical import SCORERS, LexicalIndex
from .structured import DEFAULT_STRUCTURED_WEIGHTS, StructuredIndex, shared
from .text import dense_text
from .translate import DictionaryTranslator, get_translator
from .types import COMPONENTS, Explanation, Item, Match

__all__ = ["HybridRanker", "RankerConfig", "Scored", "language_offset"]

DEFAULT_WEIGHTS: dict[str, float] = {"semantic": 0.6, "lexical": 0.25, "structured": 0.15}


@dataclass(frozen=True)
class RankerConfig:
    """Ranking strategy; every strategy is chosen by registry name.

    Attributes:
        lexical: Lexical scorer name in ``SCORERS`` (``"bm25"`` or ``"tfidf"``).
        lexical_params: Constructor kwargs of the scorer (e.g. ``{"k1": 1.2, "b": 0.75}``).
        fusion: Fusion name in ``FUSIONS`` (``"weighted"``, ``"minmax"``, ``"rrf"``,
            ``"zscore"``).
        weights: Component weights (``semantic``, ``lexical``, ``structured``;
            missing = 0). ``LearnedWeights.weights`` fits here.
        rrf_k: RRF constant.
        diversity: MMR trade-off in 0..1 (0 disables re-ranking).
        diversity_depth: How many of the best results MMR re-ranks.
        diversity_threshold: Cosine below which two results are not redundant, so MMR
            only pushes down near-duplicates (0 = classic MMR).
        min_score: Drop results whose fused score is below this.
        ann: Dense index: None / ``"exact"`` or ``"hnsw"`` (approximate, ~1M candidates).
        ann_params: Dense index kwargs (e.g. ``{"dtype": "float16"}`` for exact,
            ``{"ef_search": 128}`` for hnsw).
        pool_size: Depth of each first-stage retriever when candidates exceed it.
        zscore_reference: For z-score fusion, what a column's mean and spread are when
            the corpus is small: ``{"pool": P, "semantic": [mean, sd], "lexical": [mean,
            sd]}``, measured over P candidates (the evaluation cases' companies). A
            corpus of n < P candidates is standardised as if P - n candidates like those
            were beside it, so a pair reads as it would among P. None: the corpus alone.
        structured_weights: Part weights for the structured score.
        language_calibration: Additive cosine offsets by language relation, or None.
        query_expansion: Name of a bilingual glossary in ``matcher.glossary.GLOSSARIES``
            (``"glossary"``): the lexical scorer also searches the other language's
            equivalents of the query's domain terms. None = off.
        translation: Name of a dictionary translator in
            ``matcher.translate.TRANSLATORS`` (``"cedict"``): every Chinese text is
            indexed and queried with the English glosses of its words beside it, so
            BM25 matches across the two languages. None = off.
        explain_sentences: Compute ``Explanation.best_pair`` (needs an encoder).
        max_key_terms: Maximum ``Explanation.key_terms``.
        max_sentences: Sentences per text considered for ``best_pair``.
        batch_size: Encoder batch size.
    """

    lexical: str = "bm25"
    lexical_params: dict[str, Any] = field(default_factory=dict)
    fusion: str = "weighted"
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    rrf_k: int = 60
    diversity: float = 0.15
    diversity_depth: int = 50
    diversity_threshold: float = 0.6
    min_score: float = 0.0
    ann: str | None = None
    ann_params: dict[str, Any] = field(default_factory=dict)
    pool_size: int = 300
    zscore_reference: dict[str, Any] | None = None
    structured_weights: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_STRUCTURED_WEIGHTS)
    )
    language_calibration: dict[str, float] | None = None
    query_expansion: str | None = None
    translation: str | None = None
    explain_sentences: bool = True
    max_key_terms: int = 8
    max_sentences: int = 12
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.lexical not in SCORERS:
            raise ValueError(
                f"unknown lexical scorer {self.lexical!r}; choose from {sorted(SCORERS)}"
            )
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; choose from {sorted(FUSIONS)}")
        if self.ann not in (None, "exact", "hnsw"):
            raise ValueError(f"unknown ann {self.ann!r}; choose None, 'exact' or 'hnsw'")
        unknown = set(self.weights) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown weight keys {sorted(unknown)}; use {list(COMPONENTS)}")
        w = self.weight_vector()
        if np.any(w < 0) or not w.sum() > 0:
            raise ValueError("weights must be non-negative and not all zero")
        if not 0.0 <= self.diversity <= 1.0 or not 0.0 <= self.diversity_threshold < 1.0:
            raise ValueError("diversity must be in 0..1 and diversity_threshold in 0..<1")
        if self.query_expansion is not None:
            from .glossary import GLOSSARIES

            if self.query_expansion not in GLOSSARIES:
                raise ValueError(
                    f"unknown query_expansion {self.query_expansion!r}; "
                    f"choose None or one of {sorted(GLOSSARIES)}"
                )
        if self.translation is not None:
            from .translate import TRANSLATORS

            if self.translation not in TRANSLATORS:
                raise ValueError(
                    f"unknown translation {self.translation!r}; "
                    f"choose None or one of {sorted(TRANSLATORS)}"
                )
        if self.rrf_k < 0 or self.pool_size < 1 or self.diversity_depth < 1:
            raise ValueError("rrf_k must be >= 0, pool_size and diversity_depth >= 1")
        if self.zscore_reference is not None:
            _check_reference(self.zscore_reference)

    def weight_vector(self) -> np.ndarray:
        """Weights as an array in ``COMPONENTS`` order.

        Returns:
            float64 array of length 3.
        """
        return np.array([float(self.weights.get(c, 0.0)) for c in COMPONENTS])

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> RankerConfig:
        """Build a config from a plain mapping (e.g. the web layer's JSON config).

        Args:
            mapping: Field name -> value; missing fields keep their defaults.

        Returns:
            The validated config.

        Raises:
            ValueError: On an unknown field (catches typos) or an invalid value.
        """
        mapping = dict(mapping or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(mapping) - names
        if unknown:
            raise ValueError(f"unknown RankerConfig fields {sorted(unknown)}")
        return cls(**mapping)

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a plain, JSON-serialisable dict.

        Returns:
            Field name -> value (dicts copied).
        """
        return dataclasses.asdict(self)

    @property
    def needs_vectors(self) -> bool:
        """Whether a fit keeps the candidates' vectors (the semantic score or diversity reads them)."""
        return self.weights.get("semantic", 0.0) > 0 or self.diversity > 0

    def fit_key(self) -> tuple[Any, ...]:
        """What :meth:`HybridRanker.fit` builds its indexes from (``FIT_FIELDS``). Two configs
        with the same key can rank with one fitted corpus (:meth:`HybridRanker.with_config`,
        given the vectors); the other fields are read per query.

        Returns:
            A hashable, comparable tuple.
        """
        return tuple(repr(getattr(self, name)) for name in FIT_FIELDS)


def _check_reference(reference: Mapping[str, Any]) -> None:
    """Raise ValueError unless ``reference`` is a valid ``RankerConfig.zscore_reference``."""
    unknown = set(reference) - {"pool", *COMPONENTS}
    if unknown:
        raise ValueError(f"unknown zscore_reference keys {sorted(unknown)}; use 'pool' and {list(COMPONENTS)}")
    pool = reference.get("pool")
    if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
        raise ValueError("zscore_reference needs 'pool', a whole number of candidates >= 1")
    for name in COMPONENTS:
        if name not in reference:
            continue
        value = reference[name]
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
            or value[1] <= 0
        ):
            raise ValueError(f"zscore_reference[{name!r}] must be [mean, sd] with sd > 0")


#: Candidates a large corpus's column statistics are read from (evenly spaced over it).
REFERENCE_SAMPLE = 256


@lru_cache(maxsize=64)
def _reference_sample(n: int) -> np.ndarray:
    """:data:`REFERENCE_SAMPLE` candidate indices evenly spaced over a corpus of ``n``
    (all of them when there are no more): distinct, ascending, read-only."""
    sample = np.linspace(0, n - 1, min(n, REFERENCE_SAMPLE)).astype(np.int64)
    sample.flags.writeable = False
    return sample


#: The :class:`RankerConfig` fields a fit builds from: the lexical index and its texts, the
#: dense index, the structured parts. Weights, fusion, pool, calibration, diversity, query
#: expansion and explanations act per query.
FIT_FIELDS: tuple[str, ...] = ("lexical", "lexical_params", "translation", "ann", "ann_params", "structured_weights")


#: Key terms' display of each token for the pairs explained last (:class:`DisplayMemo`),
#: shared by every ranker and version: it depends on the pair's texts and translation alone.
DISPLAY_MEMO = DisplayMemo()


def _segmenter() -> DictionaryTranslator | None:
    """A dictionary segmenter for showing Chinese key terms as whole words, when
    translation is off (None without CC-CEDICT: then no Chinese term is shown)."""
    translator = get_translator("cedict")
    if translator is None:
        return None
    try:
        translator.entries  # noqa: B018 - loads the dictionary once
    except ImportError:
        return None
    return translator


def language_offset(calibration: Mapping[str, float] | None, lang_a: str, lang_b: str) -> float:
    """Additive cosine offset for a language pair.

    Args:
        calibration: ``RankerConfig.language_calibration``.
        lang_a: Language of one item.
        lang_b: Language of the other.

    Returns:
        The pair-specific offset (key ``"a|b"`` in sorted order) if present, else the
        ``"same"`` / ``"cross"`` offset, else 0.
    """
    if not calibration:
        return 0.0
    pair = "|".join(sorted((lang_a, lang_b)))
    if pair in calibration:
        return float(calibration[pair])
    return float(calibration.get("same" if lang_a == lang_b else "cross", 0.0))


@dataclass
class _Corpus:
    items: Sequence[Item]
    lexical: LexicalIndex
    dense: DenseIndex | HNSWIndex | None
    structured: StructuredIndex
    positions: dict[str, int]


@dataclass(frozen=True, eq=False)
class Scored:
    """A query scored against a corpus, before exclusions, grouping and explanations.

    Steps 1-3 of the pipeline, which cost nearly all of a ranking and depend only on the
    query: callers that rank the same query with different exclusions or sizes (a page
    whose exclusions change as proposals come in) keep this and call
    :meth:`HybridRanker.select` each time, which gives what :meth:`HybridRanker.rank` would.

    Attributes:
        query: The query item.
        pool: Candidate indices that were scored.
        fused: Fused score of each pool entry.
        components: ``(len(pool), 3)`` component scores.
    """

    query: Item
    pool: np.ndarray
    fused: np.ndarray
    components: np.ndarray
    _corpus: _Corpus = field(repr=False)
    _query_terms: tuple[np.ndarray, np.ndarray] = field(repr=False)
    lexical_raw: np.ndarray | None = field(default=None, repr=False)


def _match(
    query: Item,
    items: Sequence[Item],
    pool: np.ndarray,
    pos: int,
    fused: np.ndarray,
    components: np.ndarray,
    *,
    terms: tuple[str, ...] = (),
    best_pair: tuple[str, str, float] | None = None,
    lexical_raw: np.ndarray | None = None,
) -> Match:
    """The match of pool entry ``pos``, with its shared domains, areas and tags."""
    index = int(pool[pos])
    item = items[index]
    comps = {name: float(components[pos, j]) for j, name in enumerate(COMPONENTS)}
    domains, areas, tags = shared(query, item)
    raw = {"bm25": float(lexical_raw[pos])} if lexical_raw is not None else {}
    explanation = Explanation(domains, areas, tags, terms, best_pair, dict(comps), raw)
    return Match(index, item.key, float(fused[pos]), comps, explanation, item.group)


class HybridRanker:
    """Rank candidate items for a query item (either direction: challenge -> capabilities
    or startup profile -> challenges).

    Use it ad hoc (``rank(query, candidates)``: fits a lexical index and, if needed,
    encodes the candidates on every call) or fit once per corpus version and reuse:
    ``ranker = HybridRanker(cfg, enc).fit(items, vectors)`` then
    ``ranker.rank(query, query_vector=v)``. A fitted ranker is picklable.

    Args:
        config: Strategy; None means ``RankerConfig()``.
        encoder: Used when vectors are not given, and for ``best_pair`` explanations.

    Attributes:
        config: The strategy in use (never None).  A shallow copy of a fitted ranker
            whose ``config`` is replaced by ``dataclasses.replace(ranker.config, ...)``
            shares the fitted corpus: that is how to change query-time settings
            (``explain_sentences``, ``max_key_terms``, ``diversity``, ``min_score``)
            without refitting.  Settings used by :meth:`fit` (``lexical``, ``ann``,
            ``structured_weights``, ``translation``...) need a new fit.
        encoder: The encoder, or None.
    """

    def __init__(self, config: RankerConfig | None = None, encoder: Encoder | None = None) -> None:
        self.config: RankerConfig = config if config is not None else RankerConfig()
        self.encoder = encoder

    @property
    def translator(self) -> DictionaryTranslator | None:
        """The configured dictionary translator (``RankerConfig.translation``), or None."""
        return get_translator(self.config.translation)

    def lexical_texts(self, items: Sequence[Item]) -> list[str]:
        """What the lexical index sees of items: their texts, plus glosses when translating.

        Args:
            items: Candidates or queries.

        Returns:
            ``item.text`` each, or ``translator.bilingual(item.text)``.
        """
        translator = self.translator
        if translator is None:
            return [item.text for item in items]
        return [translator.bilingual(item.text) for item in items]

    def make_lexical_index(self) -> LexicalIndex:
        """A new, unfitted lexical index as configured (for callers that cache it).

        Returns:
            ``SCORERS[config.lexical](**config.lexical_params)``.
        """
        cfg = self.config
        return SCORERS[cfg.lexical](**cfg.lexical_params)

    def _build(
        self,
        candidates: Sequence[Item],
        candidate_vectors: np.ndarray | None,
        lexical_index: LexicalIndex | None,
    ) -> _Corpus:
        cfg = self.config
        n = len(candidates)
        if lexical_index is None:
            lexical_index = self.make_lexical_index().fit(self.lexical_texts(candidates))
        elif lexical_index.n_docs_ != n:
            raise ValueError(
                f"lexical_index was fitted on {lexical_index.n_docs_} texts, got {n} candidates"
            )
        semantic = cfg.weights.get("semantic", 0.0) > 0
        if candidate_vectors is None and n and (semantic or cfg.diversity > 0):
            if self.encoder is not None:
                candidate_vectors = self.encoder.encode(
                    [dense_text(c.title, c.text) for c in candidates],
                    role="passage",
                    batch_size=cfg.batch_size,
                )
            elif semantic:
                raise ValueError("candidate_vectors are required when the ranker has no encoder")
        dense = None
        if candidate_vectors is not None and n:
            vectors = np.asarray(candidate_vectors, dtype=np.float32)
            if vectors.ndim != 2 or vectors.shape[0] != n:
                raise ValueError(
                    f"candidate_vectors shape {vectors.shape} does not match {n} candidates"
                )
            dense = make_dense_index(cfg.ann, **cfg.ann_params).fit(vectors)
        structured = StructuredIndex(cfg.structured_weights).fit(candidates)
        positions = {c.key: i for i, c in enumerate(candidates)}
        return _Corpus(candidates, lexical_index, dense, structured, positions)

    def fit(
        self,
        candidates: Sequence[Item],
        candidate_vectors: np.ndarray | None = None,
        *,
        lexical_index: LexicalIndex | None = None,
    ) -> HybridRanker:
        """Index a candidate corpus for repeated queries.

        Args:
            candidates: The corpus.
            candidate_vectors: ``(n, dim)`` passage vectors of
                ``dense_text(c.title, c.text)``; encoded with the encoder when None.
            lexical_index: A prefitted index on ``self.lexical_texts(candidates)``.

        Returns:
            self, with ``candidates_``, ``lexical_``, ``dense_``, ``structured_`` and
            ``positions_`` (key -> index) set.
        """
        corpus = self._build(candidates, candidate_vectors, lexical_index)
        self.candidates_ = corpus.items
        self.lexical_ = corpus.lexical
        self.dense_ = corpus.dense
        self.structured_ = corpus.structured
        self.positions_ = corpus.positions
        return self

    def with_config(self, config: RankerConfig) -> HybridRanker:
        """This fitted ranker under another configuration that fits alike: new weights,
        fusion or diversity (learnt weights activated, say) without fitting the corpus again.

        Args:
            config: A config with the same :meth:`RankerConfig.fit_key` as this one's.

        Returns:
            A ranker sharing this one's fitted corpus (never changed in place) and ranking by
            ``config``.

        Raises:
            ValueError: When ``config`` would fit differently (another lexical scorer,
                translation, dense index or structured weights, or vectors this fit did not keep).
        """
        if config.fit_key() != self.config.fit_key():
            raise ValueError("the config fits differently: fit the corpus with it instead")
        if config.needs_vectors and getattr(self, "dense_", None) is None and len(getattr(self, "candidates_", ())):
            raise ValueError("the config reads vectors this fit did not keep: fit the corpus with it instead")
        out = copy.copy(self)
        out.config = config
        return out

    def load_resources(self) -> None:
        """Load now what explanations read lazily: the dictionary that shows Chinese key
        terms as whole words (CC-CEDICT: about 2.5 s and 80 MiB, once per process). A server
        calls it before forking its workers, so that they share it and no page or job waits
        for it."""
        if self.config.max_key_terms <= 0:
            return
        if self.translator is not None:
            self.translator.entries  # noqa: B018 - loads the dictionary once
        else:
            _segmenter()

    def updated(
        self,
        upsert: Sequence[Item] = (),
        vectors: np.ndarray | None = None,
        *,
        remove: Iterable[str] = (),
    ) -> HybridRanker:
        """A ranker over this fitted corpus with items added, replaced and removed.

        Only the changed items are tokenised (and encoded when ``vectors`` is None); the
        lexical statistics (document frequencies, lengths, idf) are recomputed from the
        kept term counts and the vector matrix is copied with the changed rows, so the
        result ranks exactly as :meth:`fit` on :attr:`candidates_` of the result would
        (``tests/matcher/test_incremental.py``). This ranker is left unchanged: readers
        holding it (or a :class:`Scored` of it) keep a consistent corpus.

        Args:
            upsert: Items to add (a new key goes last) or replace (a known key keeps
                its position).
            vectors: ``(len(upsert), dim)`` passage vectors of the upserted items.
            remove: Keys to remove; unknown keys are ignored.

        Returns:
            A new fitted ranker sharing this one's config and encoder.

        Raises:
            ValueError: Before :meth:`fit`, on a key both upserted and removed or
                upserted twice, or without vectors (nor an encoder) for a corpus with vectors.
        """
        try:
            items, positions = self.candidates_, self.positions_
        except AttributeError:
            raise ValueError("call fit() before updated()") from None
        upsert = list(upsert)
        gone = {key for key in remove if key in positions}
        keys = [item.key for item in upsert]
        if len(set(keys)) != len(keys) or gone & set(keys):
            raise ValueError("each key may be upserted once and not also removed")
        n = len(items)
        source = np.arange(n, dtype=np.int64)
        appended = []
        for j, item in enumerate(upsert):
            at = positions.get(item.key)
            if at is None:
                appended.append(n + j)
            else:
                source[at] = n + j
        drop = [positions[key] for key in gone]
        take = np.concatenate([np.delete(source, drop), np.array(appended, dtype=np.int64)])
        if drop:
            every = list(items) + upsert
            new_items = [every[i] for i in take.tolist()]
            new_positions = {c.key: i for i, c in enumerate(new_items)}
        else:  # replaced items keep their positions, new ones go last: edit copies, not rebuilds
            new_items = list(items)
            new_positions = dict(positions)
            for j, item in enumerate(upsert):
                at = positions.get(item.key)
                if at is None:
                    new_positions[item.key] = len(new_items)
                    new_items.append(item)
                else:
                    new_items[at] = item

        dense = self.dense_
        if upsert and vectors is None and (dense is not None or not n):
            if self.encoder is not None:
                vectors = self.encoder.encode(
                    [dense_text(c.title, c.text) for c in upsert], role="passage",
                    batch_size=self.config.batch_size,
                )
            elif dense is not None:
                raise ValueError("vectors are required when the ranker has no encoder")
        if vectors is not None and np.asarray(vectors).shape[0] != len(upsert):
            raise ValueError(f"{np.asarray(vectors).shape[0]} vectors for {len(upsert)} items")
        if not new_items:
            dense = None
        elif dense is not None:
            dense = dense.edited(take, vectors if vectors is not None else np.zeros((0, 0)))
        elif vectors is not None and int(take.min()) >= n:
            # No vectors before (an empty corpus): every item is new.
            cfg = self.config
            fresh = np.asarray(vectors, dtype=np.float32)[take - n]
            dense = make_dense_index(cfg.ann, **cfg.ann_params).fit(fresh)

        out = copy.copy(self)
        out.candidates_ = new_items
        out.lexical_ = self.lexical_.edited(take, self.lexical_texts(upsert))
        out.dense_ = dense
        out.structured_ = self.structured_.edited(take, upsert)
        out.positions_ = new_positions
        return out

    def rank(
        self,
        query: Item,
        candidates: Sequence[Item] | None = None,
        *,
        query_vector: np.ndarray | None = None,
        candidate_vectors: np.ndarray | None = None,
        top_k: int = 10,
        exclude_keys: Iterable[str] = (),
        lexical_index: LexicalIndex | None = None,
    ) -> list[Match]:
        """Rank candidates for a query.

        Args:
            query: The query item. A candidate with the same key is never returned.
            candidates: Candidates; None means the corpus given to :meth:`fit`.
            query_vector: ``(dim,)`` query-role vector of ``dense_text(query.title,
                query.text)``; encoded with the encoder when None.
            candidate_vectors: ``(n, dim)`` passage vectors (ad hoc mode only).
            top_k: Maximum number of results.
            exclude_keys: Candidate keys never to return (e.g. already proposed).
            lexical_index: Prefitted index on the candidates' texts (ad hoc mode only).

        Returns:
            Up to ``top_k`` matches, best first, one per group.
        """
        if top_k <= 0:
            return []
        scored = self.score(
            query, candidates, query_vector=query_vector, candidate_vectors=candidate_vectors,
            lexical_index=lexical_index,
        )
        return self.select(scored, top_k=top_k, exclude_keys=exclude_keys)

    def score(
        self,
        query: Item,
        candidates: Sequence[Item] | None = None,
        *,
        query_vector: np.ndarray | None = None,
        candidate_vectors: np.ndarray | None = None,
        lexical_index: LexicalIndex | None = None,
    ) -> Scored:
        """Score a query against the candidates (pool, components, fusion), once for any
        exclusions and sizes asked of :meth:`select` later.

        Args:
            query: The query item.
            candidates: Candidates; None means the corpus given to :meth:`fit`.
            query_vector: ``(dim,)`` query-role vector; encoded when None.
            candidate_vectors: ``(n, dim)`` passage vectors (ad hoc mode only).
            lexical_index: Prefitted index on the candidates' texts (ad hoc mode only).

        Returns:
            The scored query, for :meth:`select` or :meth:`best_of_groups`.

        Raises:
            ValueError: Without candidates before :meth:`fit`, or without vectors or
                an encoder when the semantic component is weighted.
        """
        if candidates is None:
            if candidate_vectors is not None or lexical_index is not None:
                raise ValueError("candidate_vectors/lexical_index need explicit candidates")
            corpus = self._fitted_corpus()
        else:
            corpus = self._build(candidates, candidate_vectors, lexical_index)
        return self._score(corpus, query, query_vector)

    def score_each(self, queries: Sequence[Item], query_vectors: np.ndarray | None = None) -> list[Scored]:
        """:meth:`score` of each query against the fitted corpus, with one vector search for
        all of them and one lexical pass (:meth:`matcher.BM25Index.score_each`: the terms they
        share read once). Each result equals :meth:`score` of that query alone, bit for bit
        (:meth:`matcher.DenseIndex.top_sets` settles near-ties by exact products; BM25 sums
        each document's terms in the same order).

        Args:
            queries: The query items.
            query_vectors: ``(len(queries), dim)`` query-role vectors; encoded when None.

        Returns:
            One scored query each, in order.

        Raises:
            ValueError: Before :meth:`fit`, or without vectors or an encoder when the
                semantic component is weighted.
        """
        corpus = self._fitted_corpus()
        if not queries:
            return []
        if query_vectors is None and self._uses_vectors(corpus):
            if self.encoder is None:
                raise ValueError("query_vectors are required when the ranker has no encoder")
            query_vectors = self.encoder.encode(
                [dense_text(q.title, q.text) for q in queries], role="query", batch_size=self.config.batch_size
            )
        vectors = None if query_vectors is None else np.asarray(query_vectors, dtype=np.float32)
        tops: list[np.ndarray | None] = [None] * len(queries)
        if (
            vectors is not None and self._uses_vectors(corpus) and len(queries) > 1
            and len(corpus.items) > self.config.pool_size
        ):
            tops = list(corpus.dense.top_sets(vectors, self.config.pool_size))  # type: ignore[union-attr]
        if not len(corpus.items):
            return [self._score(corpus, query, None) for query in queries]
        terms = [self._query_terms(corpus, query) for query in queries]
        raws = corpus.lexical.score_each(terms)
        return [
            self._score(
                corpus, query, None if vectors is None else vectors[i], dense_top=tops[i], lexical=(terms[i], raws[i])
            )
            for i, query in enumerate(queries)
        ]

    def _fitted_corpus(self) -> _Corpus:
        try:
            return _Corpus(self.candidates_, self.lexical_, self.dense_, self.structured_, self.positions_)
        except AttributeError:
            raise ValueError("pass candidates or call fit() first") from None

    def _uses_vectors(self, corpus: _Corpus) -> bool:
        """Whether scoring reads the query's vector (vectors used only for diversity do not)."""
        return corpus.dense is not None and self.config.weights.get("semantic", 0.0) > 0

    def _query_terms(self, corpus: _Corpus, query: Item) -> tuple[np.ndarray, np.ndarray]:
        lexical_query = self.lexical_texts([query])[0]
        if self.config.query_expansion:
            from .glossary import expand_query

            lexical_query = expand_query(lexical_query, self.config.query_expansion)
        return corpus.lexical.query_terms(lexical_query)

    def _score(
        self,
        corpus: _Corpus,
        query: Item,
        query_vector: np.ndarray | None,
        *,
        dense_top: np.ndarray | None = None,
        lexical: tuple[tuple[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> Scored:
        """Steps 1-3 for one query; ``dense_top`` and ``lexical`` (its terms and BM25 scores):
        what :meth:`score_each` computed for several queries at once."""
        cfg = self.config
        empty = np.zeros(0, dtype=np.int64)
        if not len(corpus.items):
            return Scored(query, empty, np.zeros(0), np.zeros((0, len(COMPONENTS))), corpus, (empty, np.zeros(0)))
        qvec = None
        # Vectors used only for diversity do not need a query vector.
        if self._uses_vectors(corpus):
            if query_vector is None:
                if self.encoder is None:
                    raise ValueError("query_vector is required when the ranker has no encoder")
                query_vector = self.encoder.encode(
                    [dense_text(query.title, query.text)], role="query", batch_size=cfg.batch_size
                )[0]
            qvec = np.asarray(query_vector, dtype=np.float32).ravel()

        if lexical is None:
            query_terms = self._query_terms(corpus, query)
            lexical_raw = corpus.lexical.score(query_terms)
        else:
            query_terms, lexical_raw = lexical
        own = corpus.positions.get(query.key)
        if own is not None:
            # The query itself is never a result; its perfect self-match must not
            # become the maximum that every other lexical score is divided by.
            lexical_raw[own] = 0.0
        pool = self._pool(corpus, qvec, lexical_raw, dense_top)
        n = len(corpus.items)
        if cfg.fusion == "zscore" and pool.size < n:
            # z-scores are read against the whole corpus (a sample of a large one), not the
            # pool of its closest candidates: one pass over both.
            sample = _reference_sample(n)
            both = np.union1d(pool, sample)
            scored = self._components(corpus, query, qvec, both, lexical_raw)
            components, seen = scored[np.searchsorted(both, pool)], scored[np.searchsorted(both, sample)]
        else:
            components = self._components(corpus, query, qvec, pool, lexical_raw)
            seen = components
        reference = self._reference(n, seen)
        fused = FUSIONS[cfg.fusion](components, cfg.weight_vector(), rrf_k=cfg.rrf_k, reference=reference)
        return Scored(query, pool, fused, components, corpus, query_terms, lexical_raw[pool])

    def select(self, scored: Scored, *, top_k: int = 10, exclude_keys: Iterable[str] = ()) -> list[Match]:
        """Steps 4-7 on a scored query: filter, group, diversify, explain.

        Args:
            scored: From :meth:`score` (of this ranker or one with the same corpus and
                scoring settings; explanation and diversity settings are this ranker's).
            top_k: Maximum number of results.
            exclude_keys: Candidate keys never to return.

        Returns:
            What :meth:`rank` returns for the same query and arguments.
        """
        if not scored.pool.size or top_k <= 0:
            return []
        corpus, query = scored._corpus, scored.query
        chosen = self._select(corpus, query, scored.pool, scored.fused, set(exclude_keys), top_k)
        return self._matches(
            corpus, query, scored._query_terms, scored.pool, chosen, scored.fused, scored.components,
            scored.lexical_raw,
        )

    def best_of_groups(self, scored: Scored, groups: Iterable[str], *, explain: bool = False) -> dict[str, Match]:
        """The best-scoring pool entry of each given group, with its score and components
        (no diversity: for reading scores of known pairs).

        Args:
            scored: From :meth:`score`.
            groups: ``Item.group`` values (or keys of ungrouped items) asked about.
            explain: Also the key terms and sentence pair of each, as :meth:`select` gives
                them (a page showing a known pair's evidence); otherwise none.

        Returns:
            group -> its best match; groups with no pool entry are left out.
        """
        items, pool, fused = scored._corpus.items, scored.pool, scored.fused
        members = self._members(items)
        best: dict[str, int] = {}
        for group in set(groups):
            indices = members.get(group)
            if not indices:
                continue
            # The pool is in candidate order (ascending): find the group's members in it.
            wanted = np.asarray(indices, dtype=pool.dtype)
            at = np.searchsorted(pool, wanted)
            inside = at < pool.size
            inside[inside] = pool[at[inside]] == wanted[inside]
            found = [pos for pos in at[inside].tolist() if items[int(pool[pos])].key != scored.query.key]
            if found:  # the highest score; among equals the first in the pool
                best[group] = max(found, key=lambda pos: (fused[pos], -pos))
        if explain and best:
            explained = self._matches(
                scored._corpus, scored.query, scored._query_terms, pool, np.asarray(list(best.values()), dtype=np.int64),
                fused, scored.components, scored.lexical_raw,
            )
            return dict(zip(best, explained, strict=True))
        return {
            group: _match(
                scored.query, items, scored.pool, pos, scored.fused, scored.components,
                lexical_raw=scored.lexical_raw,
            )
            for group, pos in best.items()
        }

    def _members(self, items: Sequence[Item]) -> dict[str, list[int]]:
        """Group (an ungrouped item's key) -> its items' indices in ``items``, made once per
        corpus (:meth:`updated` makes a new item list, so a new index): a group's best entry
        is then found among its few members rather than by reading the whole pool."""
        made = self.__dict__.get("_members_of")
        if made is not None and made[0] is items:
            found: dict[str, list[int]] = made[1]
            return found
        members: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            members.setdefault(item.group if item.group is not None else item.key, []).append(index)
        self.__dict__["_members_of"] = (items, members)
        return members

    def _pool(
        self, corpus: _Corpus, qvec: np.ndarray | None, lexical_raw: np.ndarray, dense_top: np.ndarray | None = None
    ) -> np.ndarray:
        cfg = self.config
        n = len(corpus.items)
        if n <= cfg.pool_size:
            return np.arange(n)
        lexical_top = top_k(lexical_raw, cfg.pool_size)
        parts = [lexical_top[lexical_raw[lexical_top] > 0]]
        if dense_top is not None and qvec is not None:
            parts.append(dense_top)
        elif corpus.dense is not None and qvec is not None:
            parts.append(corpus.dense.top_sets(qvec, cfg.pool_size)[0])
        return np.unique(np.concatenate(parts))

    def _components(
        self,
        corpus: _Corpus,
        query: Item,
        qvec: np.ndarray | None,
        pool: np.ndarray,
        lexical_raw: np.ndarray,
    ) -> np.ndarray:
        cfg = self.config
        comps = np.zeros((pool.size, len(COMPONENTS)))
        if corpus.dense is not None and qvec is not None:
            sem = corpus.dense.similarity(qvec, pool).astype(np.float64)
            if cfg.language_calibration:
                sem += np.array(
                    [
                        language_offset(
                            cfg.language_calibration, query.language, corpus.items[i].language
                        )
                        for i in pool.tolist()
                    ]
                )
            comps[:, 0] = np.clip(sem, 0.0, 1.0)
        top = lexical_raw.max() if lexical_raw.size else 0.0
        if top > 0:
            comps[:, 1] = lexical_raw[pool] / top
        comps[:, 2] = corpus.structured.score(query, pool)
        return comps

    def _reference(self, n: int, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """What z-score fusion standardises each column against: ``seen``, the components
        of the whole corpus of ``n`` candidates (or of :func:`_reference_sample` of a large
        one), not only of the pool scored; a corpus smaller than ``zscore_reference["pool"]``
        is topped up with the reference's candidates. None for other fusions."""
        cfg = self.config
        if cfg.fusion != "zscore":
            return None
        mean, var = seen.mean(axis=0), seen.var(axis=0)
        ref = cfg.zscore_reference
        extra = int(ref["pool"]) - n if ref else 0
        if ref and extra > 0:
            for col, name in enumerate(COMPONENTS):
                if name not in ref or var[col] <= 1e-24:
                    # No reference for this column, or a column the same for every candidate
                    # (no shared word at all): it says nothing here, as in a large corpus.
                    continue
                m0, sd0 = (float(v) for v in ref[name])
                both = (n * mean[col] + extra * m0) / (n + extra)
                var[col] = (
                    n * (var[col] + (mean[col] - both) ** 2) + extra * (sd0**2 + (m0 - both) ** 2)
                ) / (n + extra)
                mean[col] = both
        return mean, np.sqrt(var)

    def _select(
        self,
        corpus: _Corpus,
        query: Item,
        pool: np.ndarray,
        fused: np.ndarray,
        exclude: set[str],
        k: int,
    ) -> np.ndarray:
        """Positions into ``pool`` of the final results, in display order."""
        cfg = self.config
        exclude.add(query.key)
        order = np.lexsort((pool, -fused))  # best score first, ties by candidate index
        depth = max(k, cfg.diversity_depth) if cfg.diversity > 0 else k
        kept: list[int] = []
        seen_groups: set[str] = set()
        for pos in order.tolist():
            item = corpus.items[int(pool[pos])]
            if item.key in exclude or fused[pos] < cfg.min_score:
                continue
            if item.group is not None:
                if item.group in seen_groups:
                    continue
                seen_groups.add(item.group)
            kept.append(pos)
            if len(kept) >= depth:
                break
        head = np.asarray(kept, dtype=np.int64)
        if cfg.diversity > 0 and corpus.dense is not None and head.size > 1:
            vectors = corpus.dense.get_vectors(pool[head])
            picked = mmr(fused[head], vectors, cfg.diversity, k, threshold=cfg.diversity_threshold)
            diverse: np.ndarray = head[picked]
            return diverse
        return head[:k]

    def _matches(
        self,
        corpus: _Corpus,
        query: Item,
        query_terms: tuple[np.ndarray, np.ndarray],
        pool: np.ndarray,
        chosen: np.ndarray,
        fused: np.ndarray,
        components: np.ndarray,
        lexical_raw: np.ndarray | None = None,
    ) -> list[Match]:
        cfg = self.config
        items = [corpus.items[int(pool[p])] for p in chosen]
        pairs: list[tuple[str, str, float] | None] = [None] * len(items)
        if cfg.explain_sentences and self.encoder is not None and items:
            pairs = best_pairs(
                self.encoder,
                query.text,
                [c.text for c in items],
                max_sentences=cfg.max_sentences,
                batch_size=cfg.batch_size,
            )
        # Key terms cost a pass over the query's terms per result: only when asked for
        # (pair scores read hundreds of results and show no terms).
        explain_terms = cfg.max_key_terms > 0
        translator = self.translator if explain_terms else None
        segmenter = translator or (_segmenter() if explain_terms else None)
        single = (
            frozenset(w for w in segmenter.glossary if len(w) == 1) if segmenter else frozenset()
        )
        matches = []
        for pos, item, pair in zip(chosen.tolist(), items, pairs, strict=True):
            terms: tuple[str, ...] = ()
            if explain_terms:
                terms = key_terms(
                    query.text,
                    item.text,
                    corpus.lexical.contributions(query_terms, int(pool[pos])),
                    cfg.max_key_terms,
                    query_pairs=(
                        partial(translator.trusted_pairs, query.text, item.text) if translator else None
                    ),
                    candidate_pairs=(
                        partial(translator.trusted_pairs, item.text, query.text) if translator else None
                    ),
                    words=segmenter.segment if segmenter is not None else None,
                    single_words=single,
                    memo=DISPLAY_MEMO.pair(segmenter, query.text, item.text),
                )
            matches.append(
                _match(
                    query, corpus.items, pool, pos, fused, components, terms=terms,
                    best_pair=pair, lexical_raw=lexical_raw,
                )
            )
        return matches
