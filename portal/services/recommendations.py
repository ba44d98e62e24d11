"""Recommendations both ways, on top of the ``matcher`` library.

Vectors are cached in the ``embeddings`` table keyed by model and text hash, so an
unchanged text is never encoded twice. Each process keeps a fitted ranker per corpus
version (count and last update of the candidates), so a page view only encodes the
query (usually cached too) and ranks.

Cross-lingual settings (:func:`settings`): ``MATCHER_MODEL`` selects the encoder and
its recommended preset (``matcher.PRESETS``: for the bundled English model, dictionary
translation of Chinese texts and per-language centering; for ``use-multilingual``,
centering and a cross-language offset); ``MATCHER_CONFIG`` (RankerConfig fields),
``MATCHER_FUSION``, ``MATCHER_CALIBRATION``, ``MATCHER_CENTERING`` and
``MATCHER_TRANSLATION`` override it.
With centering on, a :class:`matcher.LanguageCentering` is fitted on the corpus's
stored *raw* vectors whenever its ranker is fitted; the corpus and every query vector
are transformed with it, while the embeddings table keeps the raw vectors.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from flask import current_app, g, has_request_context
from sqlalchemy import func, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

import matcher
from models import (
    Capability,
    Challenge,
    Dismissal,
    Embedding,
    Proposal,
    RankerVersion,
    Startup,
    Trial,
    User,
)

from .. import clock
from ..database import db

_lock = threading.Lock()
_encoders: dict[str, matcher.Encoder] = {}
_rankers: dict[tuple[Any, ...], _Fitted] = {}
_fit_locks: dict[str, threading.Lock] = {}
_threads_limited = False


@dataclass(frozen=True)
class MatcherSettings:
    """The matcher configuration resolved from the app config and the model's preset.

    Attributes:
        model: Encoder name (``MATCHER_MODEL``).
        centering: Fit per-language centering on each corpus.
        ranker: ``RankerConfig`` fields (learnt weights are added by :func:`ranker_config`).
        translation: Dictionary translator name (``"cedict"``) or None.
        encoder_translation: The encoder sees the English view of Chinese texts
            (for an English-only model).
        explicit_weights: The weights were set in ``MATCHER_CONFIG`` (learnt ones do not
            replace them).
    """

    model: str
    centering: bool
    ranker: dict[str, Any]
    explicit_weights: bool = False
    translation: str | None = None
    encoder_translation: bool = False


def settings(config: Mapping[str, Any] | None = None) -> MatcherSettings:
    """Resolve the matcher settings: the model's preset, then explicit overrides.

    Order (later wins): ``matcher.preset_for(MATCHER_MODEL)``; ``MATCHER_CONFIG``;
    ``MATCHER_FUSION``; ``MATCHER_CALIBRATION`` (``{}`` switches the preset's offset
    off); ``MATCHER_CENTERING`` (None = the preset's); ``MATCHER_TRANSLATION`` (None =
    the preset's, ``""`` = off).

    Args:
        config: A mapping like ``app.config``; default ``current_app.config``.
    """
    cfg = current_app.config if config is None else config
    model = cfg.get("MATCHER_MODEL") or "default"
    preset = matcher.preset_for(model)
    explicit = dict(cfg.get("MATCHER_CONFIG") or {})
    mapping: dict[str, Any] = dict(preset.get("ranker") or {})
    mapping.update(explicit)
    if cfg.get("MATCHER_FUSION"):
        mapping["fusion"] = cfg["MATCHER_FUSION"]
    if cfg.get("MATCHER_CALIBRATION") is not None:
        mapping["language_calibration"] = dict(cfg["MATCHER_CALIBRATION"]) or None
    centering = cfg.get("MATCHER_CENTERING")
    if centering is None:
        centering = bool(preset.get("centering", False))
    translation = cfg.get("MATCHER_TRANSLATION")
    if translation is None:
        translation = preset.get("translation")
    translation = translation or None
    if translation and "translation" not in explicit:
        mapping["translation"] = translation
    return MatcherSettings(
        model,
        bool(centering),
        mapping,
        "weights" in explicit,
        translation,
        bool(translation and preset.get("encoder_translation")),
    )


def _limit_threads() -> None:
    """One torch thread per web worker: multi-threaded inference is slower on a loaded
    2-core machine (docs/matching.md section 3). Only if torch is already imported."""
    global _threads_limited
    if _threads_limited or "torch" not in sys.modules:
        return
    sys.modules["torch"].set_num_threads(int(current_app.config.get("MATCHER_TORCH_THREADS") or 1))
    _threads_limited = True


@dataclass
class Recommendation:
    """A ranked counterpart with the matcher's evidence."""

    score: float
    components: dict[str, float]
    explanation: dict[str, Any]
    challenge: Challenge | None = None
    startup: Startup | None = None
    capability: Capability | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def encoder() -> matcher.Encoder:
    """The configured encoder, loaded once per process (``MATCHER_MODEL``, translated
    when the preset or ``MATCHER_TRANSLATION`` says so)."""
    resolved = settings()
    translation = resolved.translation if resolved.encoder_translation else None
    key = f"{resolved.model}+{translation}" if translation else resolved.model
    with _lock:
        if key not in _encoders:
            _encoders[key] = matcher.CachingEncoder(
                matcher.with_translation(matcher.get_encoder(resolved.model), translation)
            )
        return _encoders[key]


def ranker_config() -> matcher.RankerConfig:
    """The ranking strategy: preset and config (:func:`settings`), with the active learnt
    weights replacing the preset's unless ``MATCHER_CONFIG`` sets weights itself."""
    resolved = settings()
    mapping = dict(resolved.ranker)
    active = db.scalar(select(RankerVersion).where(RankerVersion.active.is_(True)))
    if active is not None and not resolved.explicit_weights:
        mapping["weights"] = matcher.LearnedWeights.from_dict(active.weights).weights
    return matcher.RankerConfig.from_mapping(mapping)


def _cache_role(enc: matcher.Encoder, role: str) -> str:
    # Queries and passages of a symmetric encoder encode alike: one vector serves both.
    return "passage" if getattr(enc, "symmetric", False) else role


def _stored(enc: matcher.Encoder, texts: Sequence[str], role: str) -> tuple[str, list[str], dict[str, np.ndarray]]:
    """The cache role for ``enc``, each text's cache key, and the cached vectors among them."""
    role = _cache_role(enc, role)
    hashes = [matcher.text_hash(enc.model_id, t, role) for t in texts]
    found: dict[str, np.ndarray] = {}
    unique = list(dict.fromkeys(hashes))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = db.execute(
            select(Embedding.text_hash, Embedding.vector).where(
                Embedding.model == enc.model_id, Embedding.text_hash.in_(chunk)
            )
        )
        for text_hash, blob in rows:
            found[text_hash] = np.frombuffer(blob, dtype="<f4")
    return role, hashes, found


def cached_vectors(texts: Sequence[str], role: str = "passage") -> tuple[np.ndarray, list[int]]:
    """Return the vectors of ``texts`` already in the cache and their positions; encode nothing."""
    enc = encoder()
    _role, hashes, found = _stored(enc, texts, role)
    positions = [i for i, h in enumerate(hashes) if h in found]
    if not positions:
        return np.zeros((0, enc.dim), dtype=np.float32), []
    return np.stack([found[hashes[i]] for i in positions]).astype(np.float32), positions


def vectors_for(texts: Sequence[str], role: str = "passage") -> np.ndarray:
    """Return vectors for ``texts``, reading the cache and encoding only what is missing."""
    enc = encoder()
    model = enc.model_id
    role, hashes, found = _stored(enc, texts, role)
    missing = [(h, t) for h, t in dict(zip(hashes, texts)).items() if h not in found]
    if missing:
        fresh = enc.encode([t for _h, t in missing], role=role)  # type: ignore[arg-type]
        _limit_threads()
        for (text_hash, _t), vec in zip(missing, fresh):
            vec = np.asarray(vec, dtype="<f4")
            found[text_hash] = vec
            try:
                # A savepoint, so a concurrent insert of the same text only skips this row.
                with db.begin_nested():
                    db.add(Embedding(model=model, text_hash=text_hash, dim=int(vec.shape[0]), vector=vec.tobytes()))
            except IntegrityError:
                pass
    if not texts:
        return np.zeros((0, enc.dim), dtype=np.float32)
    return np.stack([found[h] for h in hashes]).astype(np.float32)


# -- items ---------------------------------------------------------------------------


def challenge_item(challenge: Challenge) -> matcher.Item:
    """The matcher's view of a challenge."""
    return matcher.Item(
        key=f"challenge:{challenge.id}",
        title=challenge.title,
        text="\n".join(p for p in (challenge.problem_statement, challenge.desired_outcomes) if p),
        domains=challenge.domains,
        areas=[challenge.functional_area],
        tags=challenge.tags,
        language=challenge.language,
    )


def capability_item(capability: Capability) -> matcher.Item:
    """The matcher's view of a capability (grouped by startup: one row per startup)."""
    return matcher.Item(
        key=f"cap:{capability.id}",
        title=capability.name,
        text="\n".join(p for p in (capability.description, capability.deployments) if p),
        domains=capability.domains,
        tags=capability.technologies,
        readiness=capability.readiness,
        language=capability.language,
        group=f"startup:{capability.startup_id}",
    )


def startup_item(startup: Startup) -> matcher.Item:
    """A startup as a query: its description and all its capabilities."""
    caps = startup.capabilities
    languages = [c.language for c in caps] or [startup.language]
    return matcher.Item(
        key=f"startup:{startup.id}",
        title=" / ".join(c.name for c in caps) or startup.name,
        text="\n".join([startup.description] + [f"{c.name}. {c.description}" for c in caps]),
        domains={d for c in caps for d in c.domains},
        tags={t for c in caps for t in c.technologies},
        readiness=max((c.readiness for c in caps), default=None),
        language=max(set(languages), key=languages.count),
    )


def _dense_texts(items: Iterable[matcher.Item]) -> list[str]:
    return [matcher.dense_text(i.title, i.text) for i in items]


def challenge_changed(challenge: Challenge) -> None:
    """Encode a saved challenge now, so its recommendations are ready."""
    # Tag and domain rows do not touch the parent row; bump it so corpus caches refresh.
    challenge.updated_at = clock.now()
    db.flush()
    texts = _dense_texts([challenge_item(challenge)])
    # As a candidate for startups, and as the query that ranks capabilities for it.
    vectors_for(texts, "passage")
    vectors_for(texts, "query")


def capability_changed(capability: Capability) -> None:
    """Encode a saved capability now, so rankings include it at once."""
    capability.updated_at = clock.now()
    db.flush()
    vectors_for(_dense_texts([capability_item(capability)]), "passage")
    # The startup's profile, its capabilities together, is the query of its recommendations.
    startup = db.get(Startup, capability.startup_id)
    if startup is not None:
        db.refresh(startup, ["capabilities"])
        vectors_for(_dense_texts([startup_item(startup)]), "query")


# -- corpora -------------------------------------------------------------------------


@dataclass
class _Fitted:
    """A fitted corpus ranker, ``key -> owner id`` and the centering it was fitted with."""

    ranker: matcher.HybridRanker
    owners: dict[str, int]
    centering: matcher.LanguageCentering | None = None
    results: OrderedDict[Any, list[matcher.Match]] = field(default_factory=OrderedDict)
    scored: OrderedDict[matcher.Item, matcher.Scored] = field(default_factory=OrderedDict)

    @cached_property
    def keys_by_owner(self) -> dict[int, list[str]]:
        """Owner id -> its item keys (a startup's capabilities), to exclude owners fast."""
        out: dict[int, list[str]] = {}
        for key, owner in self.owners.items():
            out.setdefault(owner, []).append(key)
        return out

    def query_vectors(self, queries: Sequence[matcher.Item]) -> np.ndarray:
        """The queries' vectors (one cache read for all), centred like the corpus when
        centering is on."""
        vectors = vectors_for(_dense_texts(queries), "query")
        if self.centering is not None and len(queries):
            vectors = self.centering.transform(vectors, [q.language for q in queries], "query")
        return vectors


#: At most this many query-side items feed the "query" means of the centering.
CENTERING_QUERY_SAMPLE = 2000


#: Ranked results kept per fitted corpus: (query item, exclusions, size, explain) -> matches.
RESULTS_CACHE_SIZE = 1024
#: Scored queries kept per fitted corpus (query item -> pool, components and fused scores,
#: whatever the exclusions): a new proposal or dismissal changes a page's exclusions, and
#: its new ranking then costs only the selection and explanations. Each holds at most
#: 2 x pool_size candidates' scores, about 25 KB: 1024 of them about 25 MB a corpus.
SCORED_CACHE_SIZE = 1024


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any, size: int) -> None:
    with _lock:
        cache[key] = value
        while len(cache) > size:
            cache.popitem(last=False)


def _recall(cache: OrderedDict[Any, Any], key: Any) -> Any:
    with _lock:
        hit = cache.get(key)
        if hit is not None:
            cache.move_to_end(key)
        return hit


def _fitted(kind: str, version: tuple[Any, ...], build, queries) -> _Fitted:  # type: ignore[no-untyped-def]
    """The fitted ranker for a corpus version, with ``key -> owner id`` kept beside it.

    Loading the corpus (tens of thousands of ORM rows) happens only when the version
    changes; a page view then loads just the top results by id. With centering on, the
    per-language means are fitted on the corpus (passages) and a sample of the other
    side (queries), and the corpus vectors are centred once here.
    """
    cfg = ranker_config()
    centering_on = settings().centering
    key = (kind, encoder().model_id, version, repr(cfg.to_dict()), centering_on)
    with _lock:
        cached = _rankers.get(key)
        fit_lock = _fit_locks.setdefault(kind, threading.Lock())
    if cached is not None:
        return cached
    # One thread fits while the others wait for its result, instead of all fitting at once.
    with fit_lock:
        with _lock:
            cached = _rankers.get(key)
        if cached is not None:
            return cached
        return _fit(kind, key, cfg, centering_on, build, queries)


def _fit(kind, key, cfg, centering_on, build, queries) -> _Fitted:  # type: ignore[no-untyped-def]
    items, owners = build()
    vectors = vectors_for(_dense_texts(items), "passage") if items else None
    centering = None
    if centering_on and items:
        query_items = list(queries())[:CENTERING_QUERY_SAMPLE]
        samples = {"passage": (vectors, [i.language for i in items])}
        # Only query vectors already cached (`flask matcher reindex` caches them all):
        # a page view never waits for the other side to be encoded. A language with
        # too few of them is centred with its pooled mean (LanguageCentering.min_count).
        query_vectors, found = cached_vectors(_dense_texts(query_items), "query")
        if found:
            samples["query"] = (query_vectors, [query_items[i].language for i in found])
        centering = matcher.LanguageCentering.fit(samples)
        vectors = centering.transform(vectors, [i.language for i in items], "passage")
    ranker = matcher.HybridRanker(cfg, encoder()).fit(items, vectors)
    fitted = _Fitted(ranker, owners, centering)
    with _lock:
        for old in [k for k in _rankers if k[0] == kind]:
            del _rankers[old]
        _rankers[key] = fitted
    return fitted


def _scored_each(fitted: _Fitted, queries: Sequence[matcher.Item]) -> list[matcher.Scored]:
    """Each query scored against the corpus, cached per corpus version and query; the
    vectors of those not cached yet are read in one query."""
    found = {q: _recall(fitted.scored, q) for q in dict.fromkeys(queries)}
    missing = [q for q, hit in found.items() if hit is None]
    if missing:
        for query, qvec in zip(missing, fitted.query_vectors(missing), strict=True):
            found[query] = fitted.ranker.score(query, query_vector=qvec)
            _remember(fitted.scored, query, found[query], SCORED_CACHE_SIZE)
    return [found[q] for q in queries]


def _rank_each(
    fitted: _Fitted, asks: Sequence[tuple[matcher.Item, set[str]]], limit: int, *, sentence_pairs: bool = True,
) -> list[list[matcher.Match]]:
    """Rank each (query, exclusions) with a per-corpus cache: the same query, exclusions and
    size rank once, and a query scored once serves every exclusion set."""
    keys = [(query, frozenset(exclude), limit, sentence_pairs) for query, exclude in asks]
    ranked = [_recall(fitted.results, key) for key in keys]
    misses = [i for i, hit in enumerate(ranked) if hit is None]
    if misses:
        ranker = fitted.ranker if sentence_pairs else _without_sentence_pairs(fitted.ranker)
        scored = _scored_each(fitted, [asks[i][0] for i in misses])
        for i, one in zip(misses, scored, strict=True):
            ranked[i] = ranker.select(one, top_k=limit, exclude_keys=asks[i][1])
            _remember(fitted.results, keys[i], ranked[i], RESULTS_CACHE_SIZE)
    return ranked  # type: ignore[return-value]


def _per_request(name: str, compute):  # type: ignore[no-untyped-def]
    """Compute once per request (pages such as the review queue rank many times)."""
    if not has_request_context():
        return compute()
    memo = g.setdefault("_recommendations_memo", {})
    if name not in memo:
        memo[name] = compute()
    return memo[name]


def _capability_corpus() -> _Fitted:
    """Ranker over every capability, and ``cap:<id> -> startup id`` (once per request)."""
    return _per_request("capabilities", _load_capability_corpus)


def _load_capability_corpus() -> _Fitted:
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

    def build():  # type: ignore[no-untyped-def]
        caps = db.scalars(
            select(Capability)
            .options(selectinload(Capability.domain_rows), selectinload(Capability.tag_rows))
            .order_by(Capability.id)
        ).all()
        return [capability_item(c) for c in caps], {f"cap:{c.id}": c.startup_id for c in caps}

    def queries():  # type: ignore[no-untyped-def]
        return [challenge_item(c) for c in db.scalars(
            select(Challenge).options(selectinload(Challenge.domain_rows), selectinload(Challenge.tag_rows))
            .order_by(Challenge.id)
        )]

    return _fitted("capabilities", version, build, queries)


def _open_challenges():  # type: ignore[no-untyped-def]
    today = clock.today()
    return (
        select(Challenge)
        .where(Challenge.status == "open")
        .where((Challenge.closing_on.is_(None)) | (Challenge.closing_on >= today))
    )


def _challenge_corpus() -> _Fitted:
    """Ranker over open challenges whose closing date has not passed, and ``challenge:<id> -> id``."""
    return _per_request("challenges", _load_challenge_corpus)


def _load_challenge_corpus() -> _Fitted:
    sub = _open_challenges().subquery()
    version = (*db.execute(select(func.count(sub.c.id), func.max(sub.c.updated_at), func.max(sub.c.id))).one(), clock.today())

    def build():  # type: ignore[no-untyped-def]
        rows = db.scalars(
            _open_challenges()
            .options(selectinload(Challenge.domain_rows), selectinload(Challenge.tag_rows))
            .order_by(Challenge.id)
        ).all()
        return [challenge_item(c) for c in rows], {f"challenge:{c.id}": c.id for c in rows}

    def queries():  # type: ignore[no-untyped-def]
        return _startup_queries()

    return _fitted("challenges", version, build, queries)


def _load_by_key(model, keys: list[str], *options):  # type: ignore[no-untyped-def]
    ids = [int(k.split(":", 1)[1]) for k in keys]
    rows = db.scalars(select(model).where(model.id.in_(ids)).options(*options)).all() if ids else []
    by_id = {row.id: row for row in rows}
    return {k: by_id[i] for k, i in zip(keys, ids) if i in by_id}


# -- recommendations -------------------------------------------------------------------


def _without_sentence_pairs(ranker: matcher.HybridRanker) -> matcher.HybridRanker:
    """Same fitted corpus, cheaper explanations: no sentence encoding."""
    light = copy.copy(ranker)
    light.config = dataclasses.replace(ranker.config, explain_sentences=False)
    return light


def recommend_startups(
    challenge: Challenge, viewer: User | None, limit: int = 10, *, sentence_pairs: bool = True
) -> list[Recommendation]:
    """Rank startups for ``challenge`` (one row per startup, with its best capability).

    Leaves out startups that already proposed or have a trial for it, startups the viewer
    dismissed, and unverified startups when ``MATCHER_VERIFIED_ONLY`` is set.
    """
    return recommend_startups_for_each([challenge], viewer, limit, sentence_pairs=sentence_pairs)[0]


def recommend_startups_for_each(
    challenges: Sequence[Challenge], viewer: User | None, limit: int = 10, *, sentence_pairs: bool = True
) -> list[list[Recommendation]]:
    """Rank startups for each challenge as :func:`recommend_startups` does, in three queries
    whatever the number of challenges (the review queue shows several)."""
    if not challenges:
        return []
    fitted = _capability_corpus()
    if not fitted.owners:
        return [[] for _ in challenges]
    ids = [c.id for c in challenges]
    # Already proposed, already in a trial, dismissed by this viewer: one query for all.
    parts = [
        select(Proposal.challenge_id.label("cid"), Proposal.startup_id.label("sid")).where(Proposal.challenge_id.in_(ids)),
        select(Trial.challenge_id.label("cid"), Trial.startup_id.label("sid")).where(Trial.challenge_id.in_(ids)),
    ]
    if viewer is not None:
        parts.append(
            select(Dismissal.challenge_id.label("cid"), Dismissal.startup_id.label("sid")).where(
                Dismissal.challenge_id.in_(ids), Dismissal.user_id == viewer.id
            )
        )
    excluded: dict[int, set[int]] = {cid: set() for cid in ids}
    for cid, sid in db.execute(union_all(*parts)):
        excluded[cid].add(sid)
    if current_app.config.get("MATCHER_VERIFIED_ONLY"):
        unverified = set(db.scalars(select(Startup.id).where(Startup.verified.is_(False))))
        for found in excluded.values():
            found |= unverified
    by_owner = fitted.keys_by_owner
    asks = [
        (challenge_item(c), {key for startup_id in excluded[c.id] for key in by_owner.get(startup_id, ())})
        for c in challenges
    ]
    ranked = _rank_each(fitted, asks, limit, sentence_pairs=sentence_pairs)
    caps = _load_by_key(
        Capability, list(dict.fromkeys(m.key for matches in ranked for m in matches)),
        selectinload(Capability.startup),
    )
    return [
        [
            Recommendation(
                score=m.score, components=m.components, explanation=m.explanation.to_dict(),
                challenge=challenge, startup=caps[m.key].startup, capability=caps[m.key],
            )
            for m in matches
            if m.key in caps
        ]
        for challenge, matches in zip(challenges, ranked, strict=True)
    ]


def recommend_challenges(startup: Startup, viewer: User | None, limit: int = 10) -> list[Recommendation]:
    """Rank open challenges (closing date not passed) for ``startup``.

    Leaves out challenges the startup already proposed for or has a trial in, and those
    the viewer dismissed.
    """
    if not startup.capabilities:
        return []
    fitted = _challenge_corpus()
    if not fitted.owners:
        return []
    done = set(db.scalars(select(Proposal.challenge_id).where(Proposal.startup_id == startup.id))) | set(
        db.scalars(select(Trial.challenge_id).where(Trial.startup_id == startup.id))
    )
    if viewer is not None:
        done |= set(
            db.scalars(
                select(Dismissal.challenge_id).where(
                    Dismissal.startup_id == startup.id, Dismissal.user_id == viewer.id
                )
            )
        )
    exclude = {f"challenge:{cid}" for cid in done}
    matches = _rank_each(fitted, [(startup_item(startup), exclude)], limit)[0]
    challenges = _load_by_key(Challenge, [m.key for m in matches], selectinload(Challenge.department))
    return [
        Recommendation(
            score=m.score, components=m.components, explanation=m.explanation.to_dict(),
            challenge=challenges[m.key], startup=startup,
        )
        for m in matches
        if m.key in challenges
    ]


def _startup_queries() -> list[matcher.Item]:
    """Every startup with a capability, as the query of its recommendations."""
    startups = db.scalars(
        select(Startup).where(Startup.capabilities.any()).options(
            selectinload(Startup.capabilities).selectinload(Capability.domain_rows),
            selectinload(Startup.capabilities).selectinload(Capability.tag_rows),
        ).order_by(Startup.id)
    ).all()
    return [startup_item(s) for s in startups]


def index_size() -> int:
    """How many texts :func:`reindex` goes through (challenges twice, as corpus and as
    queries; capabilities; startups with a capability, as queries)."""
    challenges = db.scalar(select(func.count()).select_from(Challenge)) or 0
    capabilities = db.scalar(select(func.count()).select_from(Capability)) or 0
    startups = db.scalar(select(func.count()).select_from(Startup).where(Startup.capabilities.any())) or 0
    return 2 * challenges + capabilities + startups


def reindex(progress=None) -> int:  # type: ignore[no-untyped-def]
    """Encode every text the rankers use that has no cached vector; return how many texts.

    Challenges and capabilities as corpus passages, challenges and startups as queries
    (query vectors also feed the per-language centering; a symmetric encoder reuses the
    passage vectors for them).
    """
    challenges = [
        challenge_item(c)
        for c in db.scalars(
            select(Challenge).options(selectinload(Challenge.domain_rows), selectinload(Challenge.tag_rows))
        )
    ]
    capabilities = [
        capability_item(c)
        for c in db.scalars(
            select(Capability).options(selectinload(Capability.domain_rows), selectinload(Capability.tag_rows))
        )
    ]
    work = [
        (_dense_texts(challenges + capabilities), "passage"),
        (_dense_texts(challenges + _startup_queries()), "query"),
    ]
    done = 0
    for texts, role in work:
        for start in range(0, len(texts), 64):
            batch = texts[start : start + 64]
            vectors_for(batch, role)
            done += len(batch)
            if progress is not None:
                progress(len(batch))
    return done


def clear_caches() -> None:
    """Forget fitted rankers (after a bulk change or in tests)."""
    with _lock:
        _rankers.clear()


# -- learning ---------------------------------------------------------------------------


def _pair_matches_each(asks: Sequence[tuple[Challenge, Iterable[int]]]) -> list[list[matcher.Match]]:
    """For each (challenge, capability ids): the match of each capability's startup (its best
    capability) from the challenge's cached scores; a startup outside the scored pool gets none."""
    fitted = _capability_corpus()
    if not fitted.owners:
        return [[] for _ in asks]
    # One scoring per challenge serves every pair asked about (the review queue asks for many).
    scored = _scored_each(fitted, [challenge_item(challenge) for challenge, _ids in asks])
    out = []
    for (_challenge, capability_ids), one in zip(asks, scored, strict=True):
        groups = {key: f"startup:{fitted.owners[key]}" for key in (f"cap:{cid}" for cid in capability_ids)
                  if key in fitted.owners}
        best = fitted.ranker.best_of_groups(one, set(groups.values()))
        out.append([
            dataclasses.replace(best[group], key=key) if best[group].key != key else best[group]
            for key, group in groups.items() if group in best
        ])
    return out


def _capability_id(match: matcher.Match) -> int:
    return int(match.key.split(":")[1])


def pair_components(challenge: Challenge, capability_ids: Iterable[int]) -> dict[int, dict[str, float]]:
    """Component scores of the given capabilities for ``challenge`` (0 when out of the pool)."""
    capability_ids = list(capability_ids)
    found = {_capability_id(m): dict(m.components) for m in _pair_matches_each([(challenge, capability_ids)])[0]}
    zero = {name: 0.0 for name in matcher.COMPONENTS}
    return {cid: found.get(cid, zero) for cid in capability_ids}


def pair_scores_each(asks: Sequence[tuple[Challenge, Iterable[int]]]) -> list[dict[int, float]]:
    """For each (challenge, capability ids): the fused match score of each capability
    (missing when out of the pool). The challenges' domains and tags should be loaded."""
    return [{_capability_id(m): float(m.score) for m in matches} for matches in _pair_matches_each(asks)]


def pair_scores(challenge: Challenge, capability_ids: Iterable[int]) -> dict[int, float]:
    """Fused match score of each given capability for ``challenge`` (missing when out of the pool)."""
    return pair_scores_each([(challenge, capability_ids)])[0]


def training_examples() -> tuple[list[list[float]], list[int]]:
    """Labelled pairs from decisions: approved trials (1), rejected trials and dismissals (0)."""
    positives = db.execute(
        select(Trial.challenge_id, Trial.capability_id).where(
            Trial.status.in_(("approved", "running", "completed")), Trial.capability_id.is_not(None)
        )
    ).all()
    negatives = db.execute(
        select(Trial.challenge_id, Trial.capability_id).where(
            Trial.status == "rejected", Trial.capability_id.is_not(None)
        )
    ).all()
    dismissed = db.execute(select(Dismissal.challenge_id, Dismissal.startup_id, Dismissal.components)).all()
    by_challenge: dict[int, set[int]] = {}
    for cid, cap in [*positives, *negatives]:
        by_challenge.setdefault(cid, set()).add(cap)
    for cid, startup_id, stored in dismissed:
        if stored:
            continue
        first = db.scalar(select(Capability.id).where(Capability.startup_id == startup_id).order_by(Capability.id))
        if first is not None:
            by_challenge.setdefault(cid, set()).add(first)
    components: dict[tuple[int, int], dict[str, float]] = {}
    for cid, caps in by_challenge.items():
        challenge = db.get(Challenge, cid)
        if challenge is None:
            continue
        for cap_id, comp in pair_components(challenge, caps).items():
            components[(cid, cap_id)] = comp
    rows: list[list[float]] = []
    labels: list[int] = []

    def add(comp: dict[str, float] | None, label: int) -> None:
        if comp is not None:
            rows.append([float(comp.get(name, 0.0)) for name in matcher.COMPONENTS])
            labels.append(label)

    for cid, cap in positives:
        add(components.get((cid, cap)), 1)
    for cid, cap in negatives:
        add(components.get((cid, cap)), 0)
    for cid, startup_id, stored in dismissed:
        if stored:
            add(stored, 0)
        else:
            first = db.scalar(select(Capability.id).where(Capability.startup_id == startup_id).order_by(Capability.id))
            add(components.get((cid, first)) if first is not None else None, 0)
    return rows, labels


def train_weights(min_per_class: int = matcher.learning.MIN_PER_CLASS, activate: bool = True) -> RankerVersion:
    """Learn fusion weights from decisions and store them as a new version.

    Raises:
        matcher.NotEnoughData: too few approvals or rejections/dismissals yet.
    """
    rows, labels = training_examples()
    learned = matcher.fit_weights(rows, labels, random_state=0, min_per_class=min_per_class)
    existing = db.scalar(select(RankerVersion).where(RankerVersion.version == learned.version))
    version = existing or RankerVersion(version=learned.version, weights=learned.to_dict(), examples=len(labels))
    version.metrics = {"n_positive": learned.n_positive, "n_negative": learned.n_negative, "coef": learned.coef}
    if activate:
        for other in db.scalars(select(RankerVersion).where(RankerVersion.active.is_(True))):
            other.active = False
        version.active = True
    db.add(version)
    db.flush()
    clear_caches()
    return version
