"""Recommendations both ways, on top of the ``matcher`` library.

Vectors are cached in the ``embeddings`` table keyed by model and text hash, so an
unchanged text is never encoded twice. Each process keeps a fitted ranker per corpus
version (count and last update of the candidates), so a page view only encodes the
query (usually cached too) and ranks.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import func, select
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
    utcnow,
)

from ..database import db

_lock = threading.Lock()
_encoders: dict[str, matcher.Encoder] = {}
_rankers: dict[tuple[Any, ...], tuple[matcher.HybridRanker, dict[str, int]]] = {}


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
    """The configured encoder, loaded once per process (``MATCHER_MODEL``)."""
    name = current_app.config.get("MATCHER_MODEL") or "default"
    with _lock:
        if name not in _encoders:
            _encoders[name] = matcher.CachingEncoder(matcher.get_encoder(name))
        return _encoders[name]


def ranker_config() -> matcher.RankerConfig:
    """The ranking strategy: config overrides, then the active learnt weights if any."""
    mapping: dict[str, Any] = dict(current_app.config.get("MATCHER_CONFIG") or {})
    if current_app.config.get("MATCHER_FUSION"):
        mapping["fusion"] = current_app.config["MATCHER_FUSION"]
    active = db.scalar(select(RankerVersion).where(RankerVersion.active.is_(True)))
    if active is not None and "weights" not in mapping:
        mapping["weights"] = matcher.LearnedWeights.from_dict(active.weights).weights
    return matcher.RankerConfig.from_mapping(mapping)


def vectors_for(texts: Sequence[str], role: str = "passage") -> np.ndarray:
    """Return vectors for ``texts``, reading the cache and encoding only what is missing."""
    enc = encoder()
    model = enc.model_id
    hashes = [matcher.text_hash(model, t, role) for t in texts]
    found: dict[str, np.ndarray] = {}
    unique = list(dict.fromkeys(hashes))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = db.execute(
            select(Embedding.text_hash, Embedding.vector).where(
                Embedding.model == model, Embedding.text_hash.in_(chunk)
            )
        )
        for text_hash, blob in rows:
            found[text_hash] = np.frombuffer(blob, dtype="<f4")
    missing = [(h, t) for h, t in dict(zip(hashes, texts)).items() if h not in found]
    if missing:
        fresh = enc.encode([t for _h, t in missing], role=role)  # type: ignore[arg-type]
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
    challenge.updated_at = utcnow()
    db.flush()
    item = challenge_item(challenge)
    vectors_for(_dense_texts([item]), "passage")


def capability_changed(capability: Capability) -> None:
    """Encode a saved capability now, so rankings include it at once."""
    capability.updated_at = utcnow()
    db.flush()
    item = capability_item(capability)
    vectors_for(_dense_texts([item]), "passage")


# -- corpora -------------------------------------------------------------------------


def _fitted(kind: str, version: tuple[Any, ...], build) -> tuple[matcher.HybridRanker, dict[str, int]]:  # type: ignore[no-untyped-def]
    """The fitted ranker for a corpus version, with ``key -> owner id`` kept beside it.

    Loading the corpus (tens of thousands of ORM rows) happens only when the version
    changes; a page view then loads just the top results by id.
    """
    cfg = ranker_config()
    key = (kind, encoder().model_id, version, repr(cfg.to_dict()))
    with _lock:
        cached = _rankers.get(key)
    if cached is not None:
        return cached
    items, owners = build()
    vectors = vectors_for(_dense_texts(items), "passage") if items else None
    ranker = matcher.HybridRanker(cfg, encoder()).fit(items, vectors)
    with _lock:
        for old in [k for k in _rankers if k[0] == kind]:
            del _rankers[old]
        _rankers[key] = (ranker, owners)
    return ranker, owners


def _capability_corpus() -> tuple[matcher.HybridRanker, dict[str, int]]:
    """Ranker over every capability, and ``cap:<id> -> startup id``."""
    version = tuple(
        db.execute(select(func.count(Capability.id), func.max(Capability.updated_at), func.max(Capability.id))).one()
    )

    def build():  # type: ignore[no-untyped-def]
        caps = db.scalars(
            select(Capability)
            .options(selectinload(Capability.domain_rows), selectinload(Capability.tag_rows))
            .order_by(Capability.id)
        ).all()
        return [capability_item(c) for c in caps], {f"cap:{c.id}": c.startup_id for c in caps}

    return _fitted("capabilities", version, build)


def _open_challenges():  # type: ignore[no-untyped-def]
    today = date.today()
    return (
        select(Challenge)
        .where(Challenge.status == "open")
        .where((Challenge.closing_on.is_(None)) | (Challenge.closing_on >= today))
    )


def _challenge_corpus() -> tuple[matcher.HybridRanker, dict[str, int]]:
    """Ranker over open challenges whose closing date has not passed, and ``challenge:<id> -> id``."""
    sub = _open_challenges().subquery()
    version = (*db.execute(select(func.count(sub.c.id), func.max(sub.c.updated_at), func.max(sub.c.id))).one(), date.today())

    def build():  # type: ignore[no-untyped-def]
        rows = db.scalars(
            _open_challenges()
            .options(selectinload(Challenge.domain_rows), selectinload(Challenge.tag_rows))
            .order_by(Challenge.id)
        ).all()
        return [challenge_item(c) for c in rows], {f"challenge:{c.id}": c.id for c in rows}

    return _fitted("challenges", version, build)


def _load_by_key(model, keys: list[str], *options):  # type: ignore[no-untyped-def]
    ids = [int(k.split(":", 1)[1]) for k in keys]
    rows = db.scalars(select(model).where(model.id.in_(ids)).options(*options)).all() if ids else []
    by_id = {row.id: row for row in rows}
    return {k: by_id[i] for k, i in zip(keys, ids) if i in by_id}


# -- recommendations -------------------------------------------------------------------


def _without_sentence_pairs(ranker: matcher.HybridRanker) -> matcher.HybridRanker:
    # Same fitted corpus, cheaper explanations: no sentence encoding for list views.
    light = copy.copy(ranker)
    light.config = dataclasses.replace(ranker._config, explain_sentences=False)
    return light


def recommend_startups(
    challenge: Challenge, viewer: User | None, limit: int = 10, *, sentence_pairs: bool = True
) -> list[Recommendation]:
    """Rank startups for ``challenge`` (one row per startup, with its best capability).

    Leaves out startups that already proposed or have a trial for it, startups the viewer
    dismissed, and unverified startups when ``MATCHER_VERIFIED_ONLY`` is set.
    """
    ranker, owners = _capability_corpus()
    if not sentence_pairs:
        ranker = _without_sentence_pairs(ranker)
    if not owners:
        return []
    excluded_startups = set(
        db.scalars(select(Proposal.startup_id).where(Proposal.challenge_id == challenge.id))
    ) | set(db.scalars(select(Trial.startup_id).where(Trial.challenge_id == challenge.id)))
    if viewer is not None:
        excluded_startups |= set(
            db.scalars(
                select(Dismissal.startup_id).where(
                    Dismissal.challenge_id == challenge.id, Dismissal.user_id == viewer.id
                )
            )
        )
    if current_app.config.get("MATCHER_VERIFIED_ONLY"):
        excluded_startups |= set(db.scalars(select(Startup.id).where(Startup.verified.is_(False))))
    exclude = {key for key, startup_id in owners.items() if startup_id in excluded_startups}
    query = challenge_item(challenge)
    qvec = vectors_for(_dense_texts([query]), "query")[0]
    matches = ranker.rank(query, query_vector=qvec, top_k=limit, exclude_keys=exclude)
    caps = _load_by_key(Capability, [m.key for m in matches], selectinload(Capability.startup))
    return [
        Recommendation(
            score=m.score, components=m.components, explanation=m.explanation.to_dict(),
            challenge=challenge, startup=caps[m.key].startup, capability=caps[m.key],
        )
        for m in matches
        if m.key in caps
    ]


def recommend_challenges(startup: Startup, viewer: User | None, limit: int = 10) -> list[Recommendation]:
    """Rank open challenges (closing date not passed) for ``startup``.

    Leaves out challenges the startup already proposed for or has a trial in, and those
    the viewer dismissed.
    """
    if not startup.capabilities:
        return []
    ranker, owners = _challenge_corpus()
    if not owners:
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
    query = startup_item(startup)
    qvec = vectors_for(_dense_texts([query]), "query")[0]
    matches = ranker.rank(query, query_vector=qvec, top_k=limit, exclude_keys=exclude)
    challenges = _load_by_key(Challenge, [m.key for m in matches], selectinload(Challenge.department))
    return [
        Recommendation(
            score=m.score, components=m.components, explanation=m.explanation.to_dict(),
            challenge=challenges[m.key], startup=startup,
        )
        for m in matches
        if m.key in challenges
    ]


def reindex(progress=None) -> int:  # type: ignore[no-untyped-def]
    """Encode every challenge and capability whose text has no cached vector; return how many texts."""
    items = [challenge_item(c) for c in db.scalars(select(Challenge))]
    items += [capability_item(c) for c in db.scalars(select(Capability))]
    texts = _dense_texts(items)
    done = 0
    for start in range(0, len(texts), 64):
        batch = texts[start : start + 64]
        vectors_for(batch, "passage")
        done += len(batch)
        if progress is not None:
            progress(len(batch))
    return done


def clear_caches() -> None:
    """Forget fitted rankers (after a bulk change or in tests)."""
    with _lock:
        _rankers.clear()


# -- learning ---------------------------------------------------------------------------


def _pair_matches(challenge: Challenge, capability_ids: Iterable[int]) -> list[matcher.Match]:
    wanted = {f"cap:{cid}" for cid in capability_ids}
    ranker, owners = _capability_corpus()
    if not owners or not wanted:
        return []
    ranker = _without_sentence_pairs(ranker)
    query = challenge_item(challenge)
    qvec = vectors_for(_dense_texts([query]), "query")[0]
    return ranker.rank(query, query_vector=qvec, top_k=len(wanted), exclude_keys=set(owners) - wanted)


def pair_components(challenge: Challenge, capability_ids: Iterable[int]) -> dict[int, dict[str, float]]:
    """Component scores of the given capabilities for ``challenge`` (0 when out of the pool)."""
    capability_ids = list(capability_ids)
    found = {int(m.key.split(":")[1]): dict(m.components) for m in _pair_matches(challenge, capability_ids)}
    zero = {name: 0.0 for name in matcher.COMPONENTS}
    return {cid: found.get(cid, zero) for cid in capability_ids}


def pair_scores(challenge: Challenge, capability_ids: Iterable[int]) -> dict[int, float]:
    """Fused match score of each given capability for ``challenge`` (missing when out of the pool)."""
    return {int(m.key.split(":")[1]): float(m.score) for m in _pair_matches(challenge, capability_ids)}


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
