"""Learnt weights: pair scores of proposed capabilities, labelled examples from decisions,
and training a new :class:`models.RankerVersion`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from sqlalchemy import select

import matcher
from models import Capability, Challenge, Dismissal, RankerVersion, Trial
from models.vocabulary import TrialState

from ...database import db
from .corpus import capability_corpus, clear_caches
from .items import capability_key, challenge_item
from .ranking import Recommendation

#: Trial statuses that count as an approval of the pair.


def _pair_matches_each(asks: Sequence[tuple[Challenge, Iterable[int]]]) -> list[list[matcher.Match]]:
    """For each (challenge, capability ids): the match of each capability's startup (its best
    capability) from the challenge's cached scores; a startup outside the scored pool gets none."""
    fitted = capability_corpus()
    if not fitted.owners:
        return [[] for _ in asks]
    # One scoring per challenge serves every pair asked about (the review queue asks for many).
    scored = fitted.scored_each([challenge_item(challenge) for challenge, _ids in asks])
    out = []
    for (_challenge, capability_ids), one in zip(asks, scored, strict=True):
        groups = {key: f"startup:{fitted.owners[key]}" for key in (capability_key(cid) for cid in capability_ids)
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


def pair_matches(challenge: Challenge, capability_ids: Iterable[int]) -> dict[int, Recommendation]:
    """The match of each given capability for ``challenge`` with its score, components and
    explanation (shared domains, areas and tags), by capability id; missing when out of the pool."""
    return {
        _capability_id(m): Recommendation(
            score=float(m.score), components=dict(m.components), explanation=m.explanation.to_dict()
        )
        for m in _pair_matches_each([(challenge, list(capability_ids))])[0]
    }


def _decided_pairs() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(challenge id, capability id) of the decided trials that name a capability: those
    that went ahead, and those turned down."""
    rows = db.execute(
        select(Trial.challenge_id, Trial.capability_id, Trial.status).where(
            Trial.status.in_(TrialState.DECIDED), Trial.capability_id.is_not(None)
        )
    ).all()
    went_ahead = [(cid, cap) for cid, cap, status in rows if cap is not None and status in TrialState.WENT_AHEAD]
    turned_down = [(cid, cap) for cid, cap, status in rows if cap is not None and status == TrialState.REJECTED]
    return went_ahead, turned_down


def training_examples() -> tuple[list[list[float]], list[int]]:
    """Labelled pairs from decisions: approved trials (1), rejected trials and dismissals (0)."""
    positives, negatives = _decided_pairs()
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
