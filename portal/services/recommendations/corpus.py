"""The fitted corpora (every capability; open challenges) and their caches.

Each app keeps, in ``app.extensions["innomatch_recommendations"]``, one fitted ranker per
corpus and the corpus version it reflects (``corpus_versions``, bumped in the transaction
of every edit: :mod:`.changes`), so a page view only encodes the query (usually cached
too) and ranks. A request looks up each corpus once (``flask.g``): one query reads the
version; when it moved, the change log names the items changed since the version held,
only those rows are read (plain rows, no ORM objects) and the fitted ranker is edited
with them (:meth:`matcher.HybridRanker.updated`: no refit). The edited ranker is a new
object swapped in under a lock; requests already holding the old one finish with it and
it is then released. Each fitted corpus keeps its scored queries and ranked results.

A whole-corpus fit happens at cold start (or when the settings change, or on a new
database whose counter starts a new epoch). When a worker is more than
:data:`CATCH_UP_LIMIT` changes behind, or a bulk statement changed rows it does not name,
the corpus is fitted again in a background thread while requests keep the old ranker,
and the new one is swapped in when ready. ``warm_up(app)`` fits both before gunicorn
forks its workers (``--preload``), which then share those arrays copy-on-write.

With centering on, a :class:`matcher.LanguageCentering` is fitted on the corpus's
stored *raw* vectors whenever the corpus is fitted whole; the corpus and every query
vector are transformed with it, while the embeddings table keeps the raw vectors. Edits
are centred with the means of the last whole fit (one edit moves a mean of thousands of
vectors by a thousandth); the next whole fit estimates them again.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property, partial
from typing import Any, TypeGuard, TypeVar

import numpy as np
from flask import Flask, current_app, g, has_app_context, has_request_context
from sqlalchemy import ColumnElement, Select, select

import matcher
from models import Challenge
from models.vocabulary import ChallengeStatus, CorpusKind, CorpusOp

from ... import clock, heap
from ...database import db
from ...metrics import RANKER_FIT_SECONDS, RANKER_UPDATE_SECONDS, RANKINGS_WARMED
from .changes import changes_between, current_version, own_version
from .embeddings import cached_vectors, vectors_for
from .items import Row, capability_rows, challenge_rows, dense_texts, startup_queries
from .settings import encoder, ranker_config, settings

log = logging.getLogger("innomatch.recommendations")

#: The key of the per-app caches in ``app.extensions``.
EXTENSION = "innomatch_recommendations"

#: At most this many query-side items feed the "query" means of the centering.
CENTERING_QUERY_SAMPLE = 2000

#: A worker further behind than this many changed items fits the corpus again in the
#: background instead of reading them.
CATCH_UP_LIMIT = 2000

#: Seconds the follower spends, after catching up a corpus, ranking again the queries asked
#: of the version before (the most asked first), before swapping the new one in. Under the
#: load test's edits (a capability every 5 s) 1 s warms 70-85 of the 80-95 rankings asked of
#: a version, 0.5 s warmed 40-48 of them (and 0.25 s left some of the review queue's to its
#: own request); the work is done between requests (:class:`Idle`), and a version shows
#: about this much later (capability edits visible at p50 2.3 s instead of 1.5 s).
WARM_SECONDS = 1.0

#: Seconds, at most, the follower waits in a round for its process to serve no request
#: before each step of its work (a catch-up, then each ranking warmed): its work holds
#: Python's interpreter lock, so done beside a request it makes that request wait; done in
#: the gaps between requests it costs them nothing. After this it goes on regardless, so a
#: busy process still sees an edit within about ``CORPUS_FOLLOW_SECONDS + 2 x IDLE_PATIENCE
#: + WARM_SECONDS``.
IDLE_PATIENCE = 1.0
#: How often the follower looks again whether its process is serving a request.
IDLE_POLL_SECONDS = 0.003

#: Other answers (:meth:`Fitted.answer`) kept per fitted corpus.
ANSWERS_KEPT = 8

#: Ranked results kept per fitted corpus: (query item, exclusions, size, explain) -> matches.
RESULTS_CACHE_SIZE = 1024
#: Scored queries kept per fitted corpus (query item -> pool, components and fused scores,
#: whatever the exclusions): a new proposal or dismissal changes a page's exclusions, and
#: its new ranking then costs only the selection and explanations. Each holds at most
#: 2 x pool_size candidates' scores, about 25 KB: 256 of them about 6 MB a corpus (a version
#: lasts seconds to minutes under edits; the follower carries the recent ones to the next).
SCORED_CACHE_SIZE = 256

#: Keys whose demand (:attr:`Fitted.demand`) is counted per fitted corpus, at most: about twice
#: what its caches hold.
DEMAND_KEPT = 2 * (RESULTS_CACHE_SIZE + SCORED_CACHE_SIZE + ANSWERS_KEPT)

K = TypeVar("K")
V = TypeVar("V")

#: A ranked-results key: (query, exclusions, size, with evidence: key terms and sentence pairs).
ResultsKey = tuple[matcher.Item, frozenset[str], int, bool]
#: Loads a corpus: its items and ``key -> owner id``.
Build = Callable[[], tuple[list[matcher.Item], dict[str, int]]]
#: Loads the other side's items (the queries), for the centering's query means.
Queries = Callable[[], list[matcher.Item]]


@dataclass
class Fitted:
    """A fitted corpus ranker, ``key -> owner id``, the centering it was fitted with, the
    corpus version it reflects, and its caches of scored queries and ranked results.

    Never changed once made (but for its caches): an edit makes a new one.
    """

    ranker: matcher.HybridRanker
    owners: dict[str, int]
    centering: matcher.LanguageCentering | None = None
    #: What the fit used: (model id, ranker config, centering on); other settings refit.
    setup: tuple[Any, ...] = ()
    epoch: str | None = None
    version: int = 0
    #: The Hong Kong date the challenge corpus's membership is for (None: capabilities).
    day: date | None = None
    #: Challenge key -> its closing date, to drop it when the date passes.
    closing: dict[str, date | None] = field(default_factory=dict)
    results: OrderedDict[ResultsKey, list[matcher.Match]] = field(default_factory=OrderedDict)
    scored: OrderedDict[matcher.Item, matcher.Scored] = field(default_factory=OrderedDict)
    #: Other answers computed from this version alone (e.g. the review queue's possible
    #: duplicates), by their callers' keys, each with how to compute it (:meth:`answer`).
    answers: OrderedDict[Any, tuple[Any, Callable[[Fitted], Any]]] = field(default_factory=OrderedDict)
    #: How often each cached query, page or answer was asked of this version, plus half the
    #: count of the version before (:func:`carried_demand`): the follower warms the most
    #: asked first (the review queue's challenges, asked on every view, before a page read once).
    demand: Counter[Any] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: False while the follower warms this version (not yet installed): its own asks are not demand.
    counting: bool = field(default=True, repr=False)
    #: What the follower ranked here before this version was installed, and which of it a page
    #: then asked for: the follower's log line gives the share, its warm-up's hit rate.
    warmed: set[Any] = field(default_factory=set, repr=False)
    used: set[Any] = field(default_factory=set, repr=False)
    reported: bool = field(default=False, repr=False)

    @cached_property
    def languages(self) -> list[str]:
        """Each candidate's language, in corpus order."""
        return [c.language for c in self.ranker.candidates_]

    @cached_property
    def unit_vectors(self) -> np.ndarray:
        """The corpus's vectors as fitted (centred when centering is on), each of length 1."""
        dense = self.ranker.dense_
        if dense is None or not len(self.ranker.candidates_):
            return np.zeros((0, 0), dtype=np.float32)
        vectors = np.asarray(dense.get_vectors(np.arange(len(self.ranker.candidates_))), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.where(norms == 0, 1.0, norms), dtype=np.float32)

    @cached_property
    def keys_by_owner(self) -> dict[int, tuple[str, ...]]:
        """Owner id -> its item keys (a startup's capabilities), to exclude owners fast. Built
        once; a version caught up from one that has it derives it (:func:`_owner_keys_edited`)."""
        out: dict[int, list[str]] = {}
        for key, owner in self.owners.items():
            out.setdefault(owner, []).append(key)
        return {owner: tuple(keys) for owner, keys in out.items()}

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

    def asked(self, keys: Iterable[Any]) -> None:
        """Count a page's asks of these queries, pages or answers (:attr:`demand`)."""
        if self.counting:
            keys = list(keys)
            with self.lock:
                self.demand.update(keys)
                if self.warmed:
                    self.used.update(key for key in keys if key in self.warmed)
                if len(self.demand) > DEMAND_KEPT:  # a long-lived version: keep the most asked half
                    self.demand = Counter(dict(self.demand.most_common(DEMAND_KEPT // 2)))

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

    def rank_each(
        self, asks: Sequence[tuple[matcher.Item, Collection[str]]], limit: int, *, explain: bool = True,
    ) -> list[list[matcher.Match]]:
        """Rank each (query, exclusions), cached: the same query, exclusions and size rank once
        per version, and a query scored once serves every exclusion set. ``explain=False``:
        scores only, no key terms or sentence pairs (for pages and jobs that show no evidence)."""
        keys: list[ResultsKey] = [(query, frozenset(exclude), limit, explain) for query, exclude in asks]
        self.asked(keys)
        self.asked(query for query, _exclude in asks)  # its scoring is asked for too, cached or not
        ranked, misses = self.recall_each(self.results, keys)
        if misses:
            ranker = self.ranker if explain else _scores_only(self.ranker)
            scored = self._scored_each([asks[i][0] for i in misses])
            for i, one in zip(misses, scored, strict=True):
                ranked[i] = ranker.select(one, top_k=limit, exclude_keys=asks[i][1])
                self.remember(self.results, keys[i], ranked[i], RESULTS_CACHE_SIZE)
        return [ranked[i] for i in range(len(keys))]

    def answer(self, key: Any, compute: Callable[[Fitted], V], size: int = ANSWERS_KEPT) -> V:
        """``compute(self)``, remembered under ``key`` for this version (and computed again on
        the next version by the follower, :meth:`warmed_from`)."""
        self.asked([key])
        hit = self.recall(self.answers, key)
        if hit is not None:
            found: V = hit[0]
            return found
        value = compute(self)
        self.remember(self.answers, key, (value, compute), size)
        return value

    def warmed_from(
        self, older: Fitted, budget: float, idle: Idle | None = None, settle: Callable[[], None] | None = None
    ) -> None:
        """Rank again, here, what was asked lately of ``older`` (the version before this one)
        or of the one before it (:func:`carried_demand`), the most asked first, for up to
        ``budget`` seconds: the follower does this before swapping this version in, so the
        next pages find their rankings ready. What ``older`` holds but nobody asked for two
        versions is not ranked again (a page asking for it later computes it): otherwise a
        page read once would be ranked again after every edit for as long as the budget let
        it stay cached. How much of what was warmed a page then asked for is logged and
        counted (``innomatch_rankings_warmed``).

        Among equally asked: answers, then scored queries (the costly, shared part of every
        ranking), then ranked pages with their explanations; newest first within each. A
        page asked on every view (the review queue's suggestions) comes before a query
        scored once, explanations included.

        Before each step, ``idle`` (when given) waits until the process serves no request
        (:class:`Idle`); the time waited does not count against ``budget``. After each step,
        ``settle`` (when given: the follower's commit) ends the transaction that stored the
        step's new vectors, so that a page needing the same texts does not wait for the rest
        of the warm-up to see them (PostgreSQL makes its insert of the same row wait for an
        open transaction that inserted it)."""
        started = time.perf_counter()
        with older.lock:
            demand = older.demand
            planned: list[tuple[float, int, int, Any, Callable[[], object]]] = []
            for at, key in enumerate(older.answers):
                planned.append((-demand[key], 0, -at, key, partial(self.answer, key, older.answers[key][1])))
            for at, query in enumerate(older.scored):
                planned.append((-demand[query], 1, -at, query, partial(self.scored_each, [query])))
            for at, results_key in enumerate(older.results):
                query, exclusions, limit, explain = results_key
                rank = partial(self.rank_each, [(query, exclusions)], limit, explain=explain)
                planned.append((-demand[results_key], 2, -at, results_key, rank))
            hits, warmed_before = len(older.used), len(older.warmed)
            if warmed_before and not older.reported:  # once a version, when it is replaced
                older.reported = True
                RANKINGS_WARMED.labels("asked").inc(hits)
                RANKINGS_WARMED.labels("unasked").inc(warmed_before - hits)
        cached = len(planned)
        # Only what was asked lately (its demand not yet forgotten, :func:`carried_demand`): an
        # entry nobody asked for two versions is let go, and computed again if it is asked.
        planned = [plan for plan in planned if plan[0] < 0]
        planned.sort(key=lambda plan: plan[:3])
        steps = _batched_scorings([(plan[1], [plan[3]], plan[4]) for plan in planned], self.scored_each)
        asked = len(planned)  # rankings, whatever the steps they are made in
        spent = [0.0, 0.0, 0.0]  # seconds on answers, scorings, ranked pages
        self.counting = False
        waited = 0.0
        done = 0
        try:
            for kind, keys, step in steps:
                if idle is not None:
                    waited += idle.wait()
                began = time.perf_counter()
                if began - started - waited >= budget:
                    break
                step()
                spent[kind] += time.perf_counter() - began
                self.warmed.update(keys)
                done += len(keys)
                if settle is not None:
                    settle()
        finally:
            self.counting = True
            log.info(
                "warmed %d of %d rankings asked of version %d in %.0f ms (%.0f ms waiting for requests to end); "
                "%d cached but not asked lately let go; of the %d warmed for version %d, %d were asked; "
                "%.0f ms on answers, %.0f on scorings, %.0f on ranked pages",
                done, asked, older.version, (time.perf_counter() - started - waited) * 1000, waited * 1000,
                cached - asked, warmed_before, older.version, hits, *(t * 1000 for t in spent),
            )

    def scored_each(self, queries: Sequence[matcher.Item]) -> list[matcher.Scored]:
        """Each query scored against the corpus, cached per corpus version and query; the
        vectors of those not cached yet are read in one query."""
        self.asked(queries)
        return self._scored_each(queries)

    def _scored_each(self, queries: Sequence[matcher.Item]) -> list[matcher.Scored]:
        unique = list(dict.fromkeys(queries))
        found, misses = self.recall_each(self.scored, unique)
        if misses:
            asked = [unique[i] for i in misses]
            # One vector search for all (HybridRanker.score_each): the same as one by one.
            for i, one in zip(misses, self.ranker.score_each(asked, self.query_vectors(asked)), strict=True):
                found[i] = one
                self.remember(self.scored, unique[i], one, SCORED_CACHE_SIZE)
        by_query = {unique[i]: scored for i, scored in found.items()}
        return [by_query[q] for q in queries]


#: Scorings the follower makes in one step (one vector search for all, :meth:`Fitted.scored_each`).
SCORINGS_A_STEP = 8

#: A warm-up step: its kind (0 answers, 1 scorings, 2 ranked pages), what it warms, and how.
Step = tuple[int, list[Any], Callable[[], object]]


def _batched_scorings(steps: list[Step], score: Callable[[list[Any]], object]) -> list[Step]:
    """``steps`` with each run of consecutive scorings made by ``score`` in steps of up to
    :data:`SCORINGS_A_STEP` queries, in the same order."""
    out: list[Step] = []
    run: list[Any] = []
    for kind, keys, step in steps:
        if kind == 1 and len(run) < SCORINGS_A_STEP:
            run.extend(keys)
            continue
        if run:
            out.append((1, run, partial(score, run)))
        run = list(keys) if kind == 1 else []
        if kind != 1:
            out.append((kind, keys, step))
    if run:
        out.append((1, run, partial(score, run)))
    return out


def _scores_only(ranker: matcher.HybridRanker) -> matcher.HybridRanker:
    """Same fitted corpus and scores, no evidence: no key terms (a pass over both texts per
    match) and no sentence pairs (sentence encoding)."""
    light = copy.copy(ranker)
    light.config = replace(ranker.config, explain_sentences=False, max_key_terms=0)
    return light


class Idle:
    """Waits, for up to ``patience`` seconds in all, while ``busy()``: the follower's way of
    doing its work between requests rather than beside them."""

    def __init__(self, busy: Callable[[], bool], patience: float = IDLE_PATIENCE) -> None:
        self.busy = busy
        self.left = patience

    def wait(self) -> float:
        """Sleep until not busy or out of patience; the seconds slept."""
        if self.left <= 0 or not self.busy():
            return 0.0
        started = time.perf_counter()
        while self.busy() and time.perf_counter() - started < self.left:
            time.sleep(IDLE_POLL_SECONDS)
        slept = time.perf_counter() - started
        self.left -= slept
        return slept


@dataclass
class Caches:
    """One app's fitted corpora (kind -> :class:`Fitted`), a lock per kind so that one
    thread fits or edits while the others wait for it, the kinds being fitted again in the
    background, and counters (``full_fits``, ``updates``, ``rows_loaded``) for tests and
    benchmarks."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    fitted: dict[str, Fitted] = field(default_factory=dict)
    fit_locks: dict[str, threading.Lock] = field(default_factory=dict)
    rebuilding: dict[str, threading.Thread] = field(default_factory=dict)
    stats: Counter[str] = field(default_factory=Counter)
    #: The thread that keeps this process's corpora up to date, and the process it runs in
    #: (a forked worker starts its own).
    follower: threading.Thread | None = None
    follower_pid: int = 0
    #: Requests this process is serving now (counted by :func:`init_app`'s middleware).
    serving: int = 0

    def busy(self) -> bool:
        """Whether this process is serving a request."""
        return self.serving > 0


def caches(app: Flask | None = None) -> Caches:
    """The caches of ``app`` (default: the current app), created on first use."""
    extensions = (app if app is not None else current_app).extensions
    found = extensions.get(EXTENSION)
    if isinstance(found, Caches):
        return found
    created: Caches = extensions.setdefault(EXTENSION, Caches())
    return created


def clear_caches(app: Flask | None = None) -> None:
    """Forget the fitted rankers of ``app`` (default: the current app), in tests or after a
    change of settings. Outside an app context with no app given there is nothing to clear."""
    if app is None and not has_app_context():
        return
    state = caches(app)
    with state.lock:
        state.fitted.clear()


@dataclass(frozen=True)
class Corpus:
    """How to read one corpus: its name (its cache's), change-log kind, item key prefix, its
    rows (all members, or any of some ids), whether a row is a member on a date, the other
    side's items (queries) for the centering, and how it is ranked (None: the recommender's
    :func:`~.settings.ranker_config`; ``centred`` False: never centred)."""

    name: str
    kind: CorpusKind
    prefix: str
    members: Callable[[date], list[Row]]
    by_id: Callable[[Collection[int]], list[Row]]
    member: Callable[[Row, date], bool]
    queries: Callable[[], list[matcher.Item]]
    by_day: bool = False
    config: Callable[[], matcher.RankerConfig] | None = None
    centred: bool = True

    def ranker_config(self) -> matcher.RankerConfig:
        """The ranker settings this corpus is fitted and ranked with."""
        return self.config() if self.config is not None else ranker_config()

    def centering(self) -> bool:
        """Whether this corpus is centred (the recommender's setting, unless never)."""
        return self.centred and settings().centering


def _open_on(day: date) -> ColumnElement[bool]:
    return (Challenge.status == ChallengeStatus.OPEN) & (Challenge.closing_on.is_(None) | (Challenge.closing_on >= day))


def open_challenges() -> Select[Challenge]:
    """The challenges open for proposals today (Hong Kong date), as a select to refine."""
    return select(Challenge).where(_open_on(clock.today()))


def _is_open(row: Row, day: date) -> bool:
    return row.status == ChallengeStatus.OPEN and (row.closing_on is None or row.closing_on >= day)


CAPABILITIES = Corpus(
    "capabilities", CorpusKind.CAPABILITY, "cap",
    members=lambda _day: capability_rows(),
    by_id=capability_rows,
    member=lambda _row, _day: True,
    queries=lambda: [r.item for r in challenge_rows()][:CENTERING_QUERY_SAMPLE],
)
def _challenge_side_config() -> matcher.RankerConfig:
    """The recommender's strategy for ranking challenges: without the z-score reference,
    which was measured for challenges ranking startups (the score a pair shows is always
    that one, :func:`~.ranking.startup_matches`); here it would only reorder."""
    return replace(ranker_config(), zscore_reference=None)


CHALLENGES = Corpus(
    "challenges", CorpusKind.CHALLENGE, "challenge",
    members=lambda day: challenge_rows(where=_open_on(day)),
    by_id=challenge_rows,
    member=_is_open,
    queries=lambda: startup_queries(CENTERING_QUERY_SAMPLE),
    by_day=True,
    config=_challenge_side_config,
)


def _similarity_config() -> matcher.RankerConfig:
    """The recommender's strategy without what does not fit comparing challenges: no
    diversity (a second near copy must not be pushed down for resembling the first), no
    sentence pairs (cost), no floor, no z-score reference (:func:`_challenge_side_config`)."""
    return replace(_challenge_side_config(), diversity=0.0, explain_sentences=False, min_score=0.0)


def _is_published(row: Row, _day: date) -> bool:
    return row.status in ChallengeStatus.PUBLIC


#: Every published challenge (open or closed), compared with a draft or with each other
#: ("already solved elsewhere?", possible duplicates): the same change log as
#: :data:`CHALLENGES`, raw vectors (the similarity bands are read on uncentred cosines).
PUBLISHED = Corpus(
    "published challenges", CorpusKind.CHALLENGE, "challenge",
    members=lambda _day: challenge_rows(where=Challenge.status.in_(ChallengeStatus.PUBLIC)),
    by_id=challenge_rows,
    member=_is_published,
    queries=list,
    config=_similarity_config,
    centred=False,
)
#: The corpora a follower keeps up to date (those this process has fitted).
FOLLOWED: tuple[Corpus, ...] = (CAPABILITIES, CHALLENGES, PUBLISHED)


def _setup(spec: Corpus, config: matcher.RankerConfig | None = None) -> tuple[Any, ...]:
    """What a fit is built from: the model, the ranker settings that shape the indexes
    (``RankerConfig.fit_key``) and the centering. Other settings (weights, fusion, diversity)
    are read per query, and a change of them reuses the fitted corpus (:func:`_configured`)."""
    config = spec.ranker_config() if config is None else config
    return (encoder().model_id, config.fit_key(), spec.centering())


def _fitted(spec: Corpus, *, follow: bool = False) -> Fitted:
    """The corpus's fitted ranker, brought up to the current version and settings
    (:func:`_fitted_version`, :func:`_configured`)."""
    config = spec.ranker_config()
    return _configured(spec, _fitted_version(spec, _setup(spec, config), follow=follow), config)


def _configured(spec: Corpus, fitted: Fitted, config: matcher.RankerConfig) -> Fitted:
    """``fitted`` ranking with ``config``: itself when it already does; else the same fitted
    corpus under the new weights, fusion or diversity (learnt weights activated, say), with
    empty caches (what they hold was ranked the old way), swapped in for the next requests.
    No row is read and nothing is fitted."""
    if fitted.ranker.config == config:
        return fitted
    state = caches()
    with state.lock:
        live = state.fitted.get(spec.name)
    if live is not None and live is not fitted and live.ranker.config == config and live.version == fitted.version:
        return live  # another thread made it first
    again = Fitted(
        fitted.ranker.with_config(config), fitted.owners, fitted.centering, setup=fitted.setup, epoch=fitted.epoch,
        version=fitted.version, day=fitted.day, closing=fitted.closing,
    )
    with state.lock:
        if state.fitted.get(spec.name) is fitted:
            state.fitted[spec.name] = again
    state.stats["reconfigured"] += 1
    return again


def _fitted_version(spec: Corpus, setup: tuple[Any, ...], *, follow: bool = False) -> Fitted:
    """The corpus's fitted ranker, brought up to the current version.

    One query reads the version; an unchanged corpus costs nothing more. A moved version
    is caught up by editing the ranker with the changed rows: by the process's follower
    thread (:func:`_follow`) when one runs, while requests keep the version they have,
    except a request of the person whose own edit made the new version, which waits for
    it; without a follower, by the request. A cold start (or other settings, or a new
    epoch, or an empty corpus) fits it whole here.

    Args:
        spec: The corpus.
        follow: Called by the follower: catch up now.
    """
    state = caches()
    epoch, version = current_version(spec.kind)
    today = clock.today()
    day = today if spec.by_day else None
    with state.lock:
        live = state.fitted.get(spec.name)
        fit_lock = state.fit_locks.setdefault(spec.name, threading.Lock())
    if _current(live, setup, epoch, version, day):
        return live
    if (
        not follow and _can_edit(live, setup, epoch, version)
        and own_version(spec.kind, epoch) <= live.version and _following(state)
    ):
        return live  # someone else's edit: the follower brings it within CORPUS_FOLLOW_SECONDS
    idle = Idle(state.busy) if follow else None
    if idle is not None:
        idle.wait()  # the follower catches up between requests, not beside them
    # One thread fits or edits while the others wait for its result.
    with fit_lock:
        with state.lock:
            live = state.fitted.get(spec.name)
        if _current(live, setup, epoch, version, day):
            return live
        if _can_edit(live, setup, epoch, version):
            with state.lock:
                refitting = spec.name in state.rebuilding
            if refitting:  # too far behind: keep serving until the background fit is swapped in
                return live
            started = time.perf_counter()
            edited = _catch_up(spec, live, version, today)
            if edited is not None:
                RANKER_UPDATE_SECONDS.labels(_metric_label(spec)).observe(time.perf_counter() - started)
            if edited is None:
                _rebuild_in_background(spec)
                return live
            if not follow:
                _install(state, spec, edited)
                return edited
        else:
            started = time.perf_counter()
            fitted = _fit(spec, setup)
            RANKER_FIT_SECONDS.labels(_metric_label(spec)).observe(time.perf_counter() - started)
            _install(state, spec, fitted)
            return fitted
    # The follower ranks again what was asked of the version before, outside the lock: a
    # request waiting for its own edit meanwhile catches up by itself instead of waiting for
    # this (the warmed version then replaces its own, of the same version).
    edited.warmed_from(live, WARM_SECONDS, idle, settle=db.commit)
    _install(state, spec, edited)
    return edited


def _following(state: Caches) -> bool:
    """Whether a follower keeps this process's corpora up to date; started here, in a
    request of a process that has none, when ``CORPUS_FOLLOW_SECONDS`` is above 0."""
    seconds = float(current_app.config.get("CORPUS_FOLLOW_SECONDS", 0) or 0)
    if seconds <= 0 or not has_request_context():
        return False
    pid = os.getpid()
    with state.lock:
        if state.follower is not None and state.follower_pid == pid and state.follower.is_alive():
            return True
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # the real app, for the thread
        thread = threading.Thread(target=_follow, args=(app, state, seconds), name="corpus-follower", daemon=True)
        state.follower, state.follower_pid = thread, pid
    thread.start()
    return True


def _follow(app: Flask, state: Caches, seconds: float) -> None:
    """Every ``seconds``, bring each corpus this process holds up to its current version
    (reading only the changed rows), so that requests never wait for another person's edit,
    and return the memory freed meanwhile to the system (:mod:`portal.heap`)."""
    while state.follower is threading.current_thread():
        time.sleep(seconds)
        if state.follower is not threading.current_thread():
            break  # stopped or replaced while asleep: the round is no longer this thread's
        try:
            with app.app_context():
                for spec in FOLLOWED:
                    with state.lock:
                        held = spec.name in state.fitted
                    if held:
                        _fitted(spec, follow=True)
                        db.commit()  # the vectors it stored, visible to requests at once
        except Exception:  # the next round tries again; requests keep the version they have
            log.exception("catching up the corpora failed")
        # The versions replaced (and the cache entries dropped) since the last round are
        # freed by now: their pages go back to the system, so memory at rest stays flat.
        heap.release_free_memory()


def _metric_label(spec: Corpus) -> str:
    return spec.name


def _current(
    live: Fitted | None, setup: tuple[Any, ...], epoch: str | None, version: int, day: date | None
) -> TypeGuard[Fitted]:
    return live is not None and live.setup == setup and live.epoch == epoch and live.version == version and live.day == day


def _can_edit(live: Fitted | None, setup: tuple[Any, ...], epoch: str | None, version: int) -> TypeGuard[Fitted]:
    """Whether ``live`` can be caught up by edits (else it is fitted whole, here)."""
    return (
        live is not None and live.setup == setup and live.epoch == epoch and version >= live.version
        and len(live.ranker.candidates_) > 0
    )


def _install(state: Caches, spec: Corpus, fitted: Fitted) -> None:
    """Swap ``fitted`` in, unless a newer one of the same series already is (the old one is
    released once no request holds it)."""
    with state.lock:
        live = state.fitted.get(spec.name)
        if live is None or live.epoch != fitted.epoch or live.setup != fitted.setup or live.version <= fitted.version:
            state.fitted[spec.name] = fitted


def _vectors(items: Sequence[matcher.Item], centering: matcher.LanguageCentering | None) -> np.ndarray:
    vectors = vectors_for(dense_texts(items), "passage")
    if centering is not None and len(items):
        vectors = centering.transform(vectors, [i.language for i in items], "passage")
    return vectors


def _catch_up(spec: Corpus, live: Fitted, version: int, today: date) -> Fitted | None:
    """``live`` edited with the items changed after its version (and, for challenges, without
    those closed by the date), reading only their rows; None when too far behind."""
    changes = changes_between(spec.kind, live.version, version, CATCH_UP_LIMIT) if version > live.version else []
    if changes is None or any(op == CorpusOp.ALL for _v, _i, op in changes):
        return None
    if changes and live.ranker.config.ann == "hnsw":
        return None  # an HNSW graph is built again on any edit: not in a request
    ids = {item_id for _v, item_id, _op in changes if item_id is not None}
    rows = spec.by_id(ids) if ids else []
    state = caches()
    state.stats["rows_loaded"] += len(rows)
    state.stats["updates"] += 1
    upsert = [row for row in rows if spec.member(row, today)]
    remove = {f"{spec.prefix}:{i}" for i in ids} - {row.item.key for row in upsert}
    if spec.by_day and live.day != today:
        remove |= {key for key, closing in live.closing.items() if closing is not None and closing < today}
    items = [row.item for row in upsert]
    ranker = live.ranker.updated(items, _vectors(items, live.centering) if items else None, remove=remove)
    owners, closing = dict(live.owners), dict(live.closing)
    for key in remove:
        owners.pop(key, None)
        closing.pop(key, None)
    for row in upsert:
        owners[row.item.key] = row.owner
        if spec.by_day:
            closing[row.item.key] = row.closing_on
    edited = Fitted(
        ranker, owners, live.centering, setup=live.setup, epoch=live.epoch, version=version,
        day=today if spec.by_day else None, closing=closing, demand=carried_demand(live),
    )
    if "keys_by_owner" in live.__dict__:  # built for the version before: edited, not built again
        changed = remove | {row.item.key for row in upsert}
        edited.__dict__["keys_by_owner"] = _owner_keys_edited(live.keys_by_owner, live.owners, owners, changed)
    return edited


def _owner_keys_edited(
    before: dict[int, tuple[str, ...]], old_owners: dict[str, int], owners: dict[str, int], changed: set[str]
) -> dict[int, tuple[str, ...]]:
    """``before`` (owner -> keys) after the ``changed`` keys were edited, removed or added
    (``owners`` is key -> owner after the edit): only the owners concerned are rebuilt, the
    others' key tuples are shared with the version before."""
    out = dict(before)
    concerned = {old_owners[k] for k in changed if k in old_owners} | {owners[k] for k in changed if k in owners}
    for owner in concerned:
        keys = tuple(k for k in before.get(owner, ()) if k not in changed) + tuple(
            k for k in sorted(changed) if owners.get(k) == owner
        )
        if keys:
            out[owner] = keys
        else:
            out.pop(owner, None)
    return out


def carried_demand(older: Fitted) -> Counter[Any]:
    """Half of what was asked of ``older``, for the version after it: a key asked on every
    page view keeps its place, one asked once is forgotten after two versions."""
    with older.lock:
        return Counter({key: count / 2 for key, count in older.demand.items() if count >= 1})


def _fit(spec: Corpus, setup: tuple[Any, ...]) -> Fitted:
    """The corpus fitted whole: its version first, then its rows (an edit committed in
    between is read again by the next catch-up, which is harmless)."""
    epoch, version = current_version(spec.kind)
    today = clock.today()
    rows = spec.members(today)
    state = caches()
    state.stats["rows_loaded"] += len(rows)
    state.stats["full_fits"] += 1
    items = [row.item for row in rows]
    vectors = vectors_for(dense_texts(items), "passage") if items else None
    centering = None
    if spec.centering() and vectors is not None:
        query_items = spec.queries()
        samples = {"passage": (vectors, [i.language for i in items])}
        # Only query vectors already cached (`flask matcher reindex` caches them all):
        # a page view never waits for the other side to be encoded. A language with
        # too few of them is centred with its pooled mean (LanguageCentering.min_count).
        query_vectors, found = cached_vectors(dense_texts(query_items), "query")
        if found:
            samples["query"] = (query_vectors, [query_items[i].language for i in found])
        centering = matcher.LanguageCentering.fit(samples)
        vectors = centering.transform(vectors, [i.language for i in items], "passage")
    ranker = matcher.HybridRanker(spec.ranker_config(), encoder()).fit(items, vectors)
    return Fitted(
        ranker, {row.item.key: row.owner for row in rows}, centering, setup=setup, epoch=epoch, version=version,
        day=today if spec.by_day else None,
        closing={row.item.key: row.closing_on for row in rows} if spec.by_day else {},
    )


def _rebuild_in_background(spec: Corpus) -> None:
    """Fit the corpus whole in a thread of its own and swap it in when ready; requests
    meanwhile keep the ranker they have. At most one such fit per corpus at a time."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the real app behind the proxy, for the thread
    state = caches()
    with state.lock:
        if spec.name in state.rebuilding:
            return

        def run() -> None:
            try:
                with app.app_context():
                    started = time.perf_counter()
                    fitted = _fit(spec, _setup(spec))
                    RANKER_FIT_SECONDS.labels(_metric_label(spec)).observe(time.perf_counter() - started)
                    _install(state, spec, fitted)
            except Exception:  # the old ranker keeps serving; the next request tries again
                log.exception("background fit of the %s corpus failed", spec.name)
            finally:
                with state.lock:
                    state.rebuilding.pop(spec.name, None)

        thread = threading.Thread(target=run, name=f"corpus-fit-{spec.name}", daemon=True)
        state.rebuilding[spec.name] = thread
    thread.start()


def warm_up(app: Flask) -> None:
    """Fit every corpus (capabilities, open challenges, published challenges) and load what
    their explanations read (e.g. in gunicorn's master with ``--preload``, so the workers it
    forks share the fitted arrays and the dictionary), then close the database connections
    the fit opened."""
    with app.app_context():
        for spec in FOLLOWED:
            _fitted(spec).ranker.load_resources()
    app.extensions["innomatch_engine"].dispose()


def warm_up_if_asked(app: Flask, where: str) -> None:
    """:func:`warm_up` unless ``MATCHER_WARM_UP=0`` (gunicorn's master, the job worker): so that
    no request and no job waits for a whole fit. A failure (no tables yet, the database down)
    is logged, never raised, and the first ranking fits the corpora instead."""
    if os.environ.get("MATCHER_WARM_UP", "1").strip() == "0":
        return
    try:
        warm_up(app)
    except Exception:
        log.exception("MATCHER_WARM_UP: fitting the rankers in the %s failed", where)


#: The name in ``flask.g`` of a request's fitted corpora (:func:`_per_request`).
MEMO = "_recommendations_memo"


def init_app(app: Flask) -> None:
    """Forget each request's fitted corpora when its app context ends. Its ``g`` can outlive
    it in a reference cycle (the Jinja context of a rendered page refers to ``g``), and a
    memo there would keep a replaced version of a corpus, hundreds of MB, alive until
    Python's next full collection: measured under the load test's edits, a worker's full
    collections freed 80-240 MiB each.

    And count the requests the process is serving (:attr:`Caches.serving`), so that its
    follower does its work between them (:class:`Idle`)."""
    app.teardown_appcontext(_forget_memo)
    app.wsgi_app = _CountServing(app.wsgi_app, caches(app))  # type: ignore[method-assign]


class _CountServing:
    """WSGI middleware: :attr:`Caches.serving` counts the requests inside it."""

    def __init__(self, wsgi_app: Callable[..., Any], state: Caches) -> None:
        self.wsgi_app = wsgi_app
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self.state.lock:
            self.state.serving += 1
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            with self.state.lock:
                self.state.serving -= 1


def _forget_memo(_error: BaseException | None = None) -> None:
    g.pop(MEMO, None)


def _per_request(name: str, compute: Callable[[], Fitted]) -> Fitted:
    """Compute once per request (pages such as the review queue rank many times)."""
    if not has_request_context():
        return compute()
    memo: dict[str, Fitted] = g.setdefault(MEMO, {})
    if name not in memo:
        memo[name] = compute()
    return memo[name]


def capability_corpus() -> Fitted:
    """Ranker over every capability, and ``cap:<id> -> startup id`` (once per request)."""
    return _per_request("capabilities", lambda: _fitted(CAPABILITIES))


def challenge_corpus() -> Fitted:
    """Ranker over open challenges whose closing date has not passed, and ``challenge:<id> -> id``."""
    return _per_request("challenges", lambda: _fitted(CHALLENGES))


def published_corpus() -> Fitted:
    """Ranker over every published challenge (open or closed), uncentred, and ``challenge:<id> -> id``."""
    return _per_request("published challenges", lambda: _fitted(PUBLISHED))
