"""The fitted corpora (every capability; open challenges) and their caches.

Each app keeps, in ``app.extensions["innomatch_recommendations"]``, a fitted ranker per
corpus version (count and last update of the candidates), so a page view only encodes
the query (usually cached too) and ranks. Each fitted corpus keeps its scored queries
and ranked results; a request fits or looks up each corpus once (``flask.g``).

With centering on, a :class:`matcher.LanguageCentering` is fitted on the corpus's
stored *raw* vectors whenever its ranker is fitted; the corpus and every query vector
are transformed with it, while the embeddings table keeps the raw vectors.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
from flask import Flask, current_app, g, has_app_context, has_request_context
from sqlalchemy import Select, func, select

import matcher
from models import Capability, Challenge
from models.vocabulary import ChallengeStatus

from ... import clock
from ...database import db
from ...metrics import RANKER_FIT_SECONDS
from .embeddings import cached_vectors, vectors_for
from .items import (
    CAPABILITY_ROWS,
    CHALLENGE_ROWS,
    capability_item,
    challenge_item,
    dense_texts,
    startup_queries,
)
from .settings import encoder, ranker_config, settings

#: The key of the per-app caches in ``app.extensions``.
EXTENSION = "innomatch_recommendations"

#: At most this many query-side items feed the "query" means of the centering.
CENTERING_QUERY_SAMPLE = 2000

#: Ranked results kept per fitted corpus: (query item, exclusions, size, explain) -> matches.
RESULTS_CACHE_SIZE = 1024
#: Scored queries kept per fitted corpus (query item -> pool, components and fused scores,
#: whatever the exclusions): a new proposal or dismissal changes a page's exclusions, and
#: its new ranking then costs only the selection and explanations. Each holds at most
#: 2 x pool_size candidates' scores, about 25 KB: 1024 of them about 25 MB a corpus.
SCORED_CACHE_SIZE = 1024

K = TypeVar("K")
V = TypeVar("V")

#: A ranked-results key: (query, exclusions, size, with sentence pairs).
ResultsKey = tuple[matcher.Item, frozenset[str], int, bool]
#: Loads a corpus: its items and ``key -> owner id``.
Build = Callable[[], tuple[list[matcher.Item], dict[str, int]]]
#: Loads the other side's items (the queries), for the centering's query means.
Queries = Callable[[], list[matcher.Item]]


@dataclass
class Fitted:
    """A fitted corpus ranker, ``key -> owner id``, the centering it was fitted with, and
    its caches of scored queries and ranked results."""

    ranker: matcher.HybridRanker
    owners: dict[str, int]
    centering: matcher.LanguageCentering | None = None
    results: OrderedDict[ResultsKey, list[matcher.Match]] = field(default_factory=OrderedDict)
    scored: OrderedDict[matcher.Item, matcher.Scored] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def keys_by_owner(self) -> dict[int, list[str]]:
        """Owner id -> its item keys (a startup's capabilities), to exclude owners fast."""
        out: dict[int, list[str]] = {}
        for key, owner in self.owners.items():
            out.setdefault(owner, []).append(key)
        return out

    def remember(self, cache: OrderedDict[K, V], key: K, value: V, size: int) -> None:
        """Keep ``value`` in one of this corpus's caches, dropping the least recently used."""
        with self.lock:
            cache[key] = value
            while len(cache) > size:
                cache.popitem(last=False)

    def recall(self, cache: OrderedDict[K, V], key: K) -> V | None:
        """The cached value for ``key`` (marked as recently used), or None."""
        with self.lock:
            hit = cache.get(key)
            if hit is not None:
                cache.move_to_end(key)
            return hit

    def recall_each(self, cache: OrderedDict[K, V], keys: Sequence[K]) -> tuple[dict[int, V], list[int]]:
        """The cached values of ``keys`` by position, and the positions not cached."""
        found: dict[int, V] = {}
        misses: list[int] = []
        for i, key in enumerate(keys):
            hit = self.recall(cache, key)
            if hit is None:
                misses.append(i)
            else:
                found[i] = hit
        return found, misses

    def query_vectors(self, queries: Sequence[matcher.Item]) -> np.ndarray:
        """The queries' vectors (one cache read for all), centred like the corpus when
        centering is on."""
        vectors = vectors_for(dense_texts(queries), "query")
        if self.centering is not None and len(queries):
            vectors = self.centering.transform(vectors, [q.language for q in queries], "query")
        return vectors

    def scored_each(self, queries: Sequence[matcher.Item]) -> list[matcher.Scored]:
        """Each query scored against the corpus, cached per corpus version and query; the
        vectors of those not cached yet are read in one query."""
        unique = list(dict.fromkeys(queries))
        found, misses = self.recall_each(self.scored, unique)
        if misses:
            vectors = self.query_vectors([unique[i] for i in misses])
            for i, qvec in zip(misses, vectors, strict=True):
                found[i] = self.ranker.score(unique[i], query_vector=qvec)
                self.remember(self.scored, unique[i], found[i], SCORED_CACHE_SIZE)
        by_query = {unique[i]: scored for i, scored in found.items()}
        return [by_query[q] for q in queries]


@dataclass
class Caches:
    """One app's fitted corpora: ``(kind, model, version, config, centering) -> Fitted``,
    and a lock per kind so that one thread fits while the others wait for it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    fitted: dict[tuple[Any, ...], Fitted] = field(default_factory=dict)
    fit_locks: dict[str, threading.Lock] = field(default_factory=dict)


def caches(app: Flask | None = None) -> Caches:
    """The caches of ``app`` (default: the current app), created on first use."""
    extensions = (app if app is not None else current_app).extensions
    found = extensions.get(EXTENSION)
    if isinstance(found, Caches):
        return found
    created: Caches = extensions.setdefault(EXTENSION, Caches())
    return created


def clear_caches(app: Flask | None = None) -> None:
    """Forget the fitted rankers of ``app`` (default: the current app), after a bulk
    change or in tests. Outside an app context with no app given there is nothing to clear."""
    if app is None and not has_app_context():
        return
    state = caches(app)
    with state.lock:
        state.fitted.clear()


def _fitted(kind: str, version: tuple[Any, ...], build: Build, queries: Queries) -> Fitted:
    """The fitted ranker for a corpus version, with ``key -> owner id`` kept beside it.

    Loading the corpus (tens of thousands of ORM rows) happens only when the version
    changes; a page view then loads just the top results by id. With centering on, the
    per-language means are fitted on the corpus (passages) and a sample of the other
    side (queries), and the corpus vectors are centred once here.
    """
    cfg = ranker_config()
    centering_on = settings().centering
    key = (kind, encoder().model_id, version, repr(cfg.to_dict()), centering_on)
    state = caches()
    with state.lock:
        cached = state.fitted.get(key)
        fit_lock = state.fit_locks.setdefault(kind, threading.Lock())
    if cached is not None:
        return cached
    # One thread fits while the others wait for its result, instead of all fitting at once.
    with fit_lock:
        with state.lock:
            cached = state.fitted.get(key)
        if cached is not None:
            return cached
        started = time.perf_counter()
        fitted = _fit(cfg, centering_on, build, queries)
        RANKER_FIT_SECONDS.labels(kind).observe(time.perf_counter() - started)
        with state.lock:
            for old in [k for k in state.fitted if k[0] == kind]:
                del state.fitted[old]
            state.fitted[key] = fitted
        return fitted


def _fit(cfg: matcher.RankerConfig, centering_on: bool, build: Build, queries: Queries) -> Fitted:
    items, owners = build()
    vectors = vectors_for(dense_texts(items), "passage") if items else None
    centering = None
    if centering_on and vectors is not None:
        query_items = list(queries())[:CENTERING_QUERY_SAMPLE]
        samples = {"passage": (vectors, [i.language for i in items])}
        # Only query vectors already cached (`flask matcher reindex` caches them all):
        # a page view never waits for the other side to be encoded. A language with
        # too few of them is centred with its pooled mean (LanguageCentering.min_count).
        query_vectors, found = cached_vectors(dense_texts(query_items), "query")
        if found:
            samples["query"] = (query_vectors, [query_items[i].language for i in found])
        centering = matcher.LanguageCentering.fit(samples)
        vectors = centering.transform(vectors, [i.language for i in items], "passage")
    ranker = matcher.HybridRanker(cfg, encoder()).fit(items, vectors)
    return Fitted(ranker, owners, centering)


def _per_request(name: str, compute: Callable[[], Fitted]) -> Fitted:
    """Compute once per request (pages such as the review queue rank many times)."""
    if not has_request_context():
        return compute()
    memo: dict[str, Fitted] = g.setdefault("_recommendations_memo", {})
    if name not in memo:
        memo[name] = compute()
    return memo[name]


def capability_corpus() -> Fitted:
    """Ranker over every capability, and ``cap:<id> -> startup id`` (once per request)."""
    return _per_request("capabilities", _load_capability_corpus)


def _load_capability_corpus() -> Fitted:
    # Three scalar subqueries, not one aggregate: the maxima are then index lookups
    # (ix_capabilities_updated_at, the primary key) and only the count reads an index.
    version = tuple(
        db.execute(
            select(
                select(func.count()).select_from(Capability).scalar_subquery(),
                select(func.max(Capability.updated_at)).scalar_subquery(),
                select(func.max(Capability.id)).scalar_subquery(),
            )
        ).one()
    )

    def build() -> tuple[list[matcher.Item], dict[str, int]]:
        caps = db.scalars(select(Capability).options(*CAPABILITY_ROWS).order_by(Capability.id)).all()
        return [capability_item(c) for c in caps], {f"cap:{c.id}": c.startup_id for c in caps}

    def queries() -> list[matcher.Item]:
        return [challenge_item(c) for c in db.scalars(
            select(Challenge).options(*CHALLENGE_ROWS).order_by(Challenge.id)
        )]

    return _fitted("capabilities", version, build, queries)


def _open_challenges() -> Select[Challenge]:
    today = clock.today()
    return (
        select(Challenge)
        .where(Challenge.status == ChallengeStatus.OPEN)
        .where((Challenge.closing_on.is_(None)) | (Challenge.closing_on >= today))
    )


def challenge_corpus() -> Fitted:
    """Ranker over open challenges whose closing date has not passed, and ``challenge:<id> -> id``."""
    return _per_request("challenges", _load_challenge_corpus)


def _load_challenge_corpus() -> Fitted:
    sub = _open_challenges().subquery()
    version = (*db.execute(select(func.count(sub.c.id), func.max(sub.c.updated_at), func.max(sub.c.id))).one(), clock.today())

    def build() -> tuple[list[matcher.Item], dict[str, int]]:
        rows = db.scalars(_open_challenges().options(*CHALLENGE_ROWS).order_by(Challenge.id)).all()
        return [challenge_item(c) for c in rows], {f"challenge:{c.id}": c.id for c in rows}

    return _fitted("challenges", version, build, startup_queries)
