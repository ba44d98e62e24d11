"""Recommendations both ways: startups for challenges (one page or the review queue's
several at once) and open challenges for a startup, without what was already proposed,
trialled or dismissed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import func, select, union_all
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.base import ExecutableOption

import matcher
from models import Capability, Challenge, Dismissal, Proposal, Startup, Trial, User
from models.vocabulary import Role

from ...database import db
from .corpus import Fitted, capability_corpus, challenge_corpus
from .exposure import capped_out
from .items import CHALLENGE_ROWS, capability_key, challenge_item, startup_item

Row = TypeVar("Row", Capability, Challenge)


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


def _mark_diversity(recs: list[Recommendation]) -> list[Recommendation]:
    """Flag each result placed above a higher-scored one (diversity re-ranking moved it up),
    so a list shown with its scores says why it is not in score order."""
    best_below = 0.0
    for rec in reversed(recs):
        if rec.score < best_below:
            rec.extra["diversity_moved"] = True
        best_below = max(best_below, rec.score)
    return recs


def startup_matches(
    challenges: Sequence[Challenge], startup_id: int, *, explain: bool = False
) -> dict[int, matcher.Match]:
    """The one match score of a startup for each challenge: the challenge ranks the
    capability corpus and the startup's best capability gives the score, components and
    evidence. Every page that shows a pair's score reads it from here (or from the same
    scoring of the challenge), so a pair shows the same score everywhere.

    Args:
        challenges: The challenges (their domains and tags loaded).
        startup_id: The startup.
        explain: Also each pair's key terms and sentence pair (the challenge's text against
            the best capability's: the evidence of the score shown), remembered for the
            corpus version (and warmed again by the follower after an edit).

    Returns:
        challenge id -> the startup's best match; missing when no capability of the
        startup is in the challenge's scored pool.
    """
    fitted = capability_corpus()
    if not fitted.owners or not challenges:
        return {}
    items = tuple(challenge_item(c) for c in challenges)
    ids = [c.id for c in challenges]
    group = f"startup:{startup_id}"

    def compute(version: Fitted) -> dict[int, matcher.Match]:
        out: dict[int, matcher.Match] = {}
        for cid, one in zip(ids, version.scored_each(items), strict=True):
            best = version.ranker.best_of_groups(one, {group}, explain=explain)
            if group in best:
                out[cid] = best[group]
        return out

    if not explain:
        return compute(fitted)
    return fitted.answer(("explained pairs", items, startup_id), compute)


def _load_by_key(model: type[Row], keys: list[str], *options: ExecutableOption) -> dict[str, Row]:
    ids = [int(k.split(":", 1)[1]) for k in keys]
    rows = db.scalars(select(model).where(model.id.in_(ids)).options(*options)).all() if ids else []
    by_id = {row.id: row for row in rows}
    return {k: by_id[i] for k, i in zip(keys, ids) if i in by_id}


def unconfirmed_startups() -> set[int]:
    """Startups with active member accounts none of which has confirmed its email address.

    They are never recommended (whatever ``MATCHER_VERIFIED_ONLY``, which is the lab's own
    verification of the startup): nobody reachable could answer. Startups the lab entered
    without accounts are not affected.
    """
    verified = func.count(User.email_verified_at)
    return set(
        db.scalars(
            select(User.startup_id)
            .where(User.role == Role.STARTUP, User.is_active.is_(True), User.startup_id.is_not(None))
            .group_by(User.startup_id)
            .having(verified == 0)
        )
    )


def recommend_startups(
    challenge: Challenge, viewer: User | None, limit: int = 10, *, explain: bool = True
) -> list[Recommendation]:
    """Rank startups for ``challenge`` (one row per startup, with its best capability).

    Leaves out startups that already proposed or have a trial for it, startups the viewer
    dismissed, startups whose members have not confirmed an email address
    (:func:`unconfirmed_startups`), and startups the lab has not verified when
    ``MATCHER_VERIFIED_ONLY`` is set. With ``explain=False`` the matches carry their scores
    and components but no evidence (key terms, sentence pair): for pages and jobs that
    show only scores (the review queue, match notifications).
    """
    return recommend_startups_for_each([challenge], viewer, limit, explain=explain)[0]


def recommend_startups_for_each(
    challenges: Sequence[Challenge], viewer: User | None, limit: int = 10, *, explain: bool = True
) -> list[list[Recommendation]]:
    """Rank startups for each challenge as :func:`recommend_startups` does, in four queries
    whatever the number of challenges (the review queue shows several)."""
    if not challenges:
        return []
    fitted = capability_corpus()
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
    hidden = unconfirmed_startups()
    if current_app.config.get("MATCHER_VERIFIED_ONLY"):
        hidden |= set(db.scalars(select(Startup.id).where(Startup.verified.is_(False))))
    for found in excluded.values():
        found |= hidden
    # MATCHER_EXPOSURE_CAP: startups that give up this challenge's top-ten place so that no
    # startup holds more than the cap of all open challenges' top-ten places.
    for cid, capped in capped_out().items():
        if cid in excluded:
            excluded[cid] |= capped
    by_owner = fitted.keys_by_owner
    asks = [
        (challenge_item(c), {key for startup_id in excluded[c.id] for key in by_owner.get(startup_id, ())})
        for c in challenges
    ]
    ranked = fitted.rank_each(asks, limit, explain=explain)
    caps = _load_by_key(
        Capability, list(dict.fromkeys(m.key for matches in ranked for m in matches)),
        selectinload(Capability.startup),
    )
    return [
        _mark_diversity([
            Recommendation(
                score=m.score, components=m.components, explanation=m.explanation.to_dict(),
                challenge=challenge, startup=caps[m.key].startup, capability=caps[m.key],
            )
            for m in matches
            if m.key in caps
        ])
        for challenge, matches in zip(challenges, ranked, strict=True)
    ]


#: Challenges a startup's recommendations page lists; the challenge list's "best match"
#: order puts the same ones first, in the same order (:func:`challenge_ids_by_match`).
RECOMMENDED_CHALLENGES = 10


def _not_recommended(startup: Startup, viewer: User | None) -> set[str]:
    """The challenge keys a startup's recommendations leave out: those it proposed for or has
    a trial in, and those ``viewer`` dismissed for it."""
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
    return {f"challenge:{cid}" for cid in done}


def challenge_ids_by_match(startup: Startup, limit: int = 200, viewer: User | None = None) -> list[int]:
    """The open challenges' ids, best match for ``startup`` first (for sorting a list: no
    sentence-pair explanations). The recommendations page's challenges for ``viewer`` come
    first, in its order (:func:`recommend_challenges`: the pair's one score); then the rest
    as the startup's profile ranks them."""
    if not startup.capabilities:
        return []
    fitted = challenge_corpus()
    if not fitted.owners:
        return []
    head = [int(r.challenge.id) for r in recommend_challenges(startup, viewer, RECOMMENDED_CHALLENGES, explain=False)
            if r.challenge is not None]
    matches = fitted.rank_each([(startup_item(startup), set())], limit, explain=False)[0]
    seen = set(head)
    return head + [cid for cid in (int(m.key.split(":", 1)[1]) for m in matches) if cid not in seen]


def recommend_challenges(
    startup: Startup, viewer: User | None, limit: int = 10, *, explain: bool = True
) -> list[Recommendation]:
    """Rank open challenges (closing date not passed) for ``startup``.

    Leaves out challenges the startup already proposed for or has a trial in, and those
    the viewer dismissed. ``explain=False``: scores without evidence (for sorting a list).
    """
    if not startup.capabilities:
        return []
    fitted = challenge_corpus()
    if not fitted.owners:
        return []
    exclude = _not_recommended(startup, viewer)
    matches = fitted.rank_each([(startup_item(startup), exclude)], limit, explain=False)[0]
    challenges = _load_by_key(
        Challenge, [m.key for m in matches], selectinload(Challenge.department), *CHALLENGE_ROWS
    )
    # The startup's profile finds the challenges; the score shown is the pair's one score
    # (the challenge's view of the startup's best capability), with that pair's evidence
    # (the challenge's text against that capability's), and the list is in its order.
    found = [challenges[m.key] for m in matches if m.key in challenges]
    scores = startup_matches(found, startup.id, explain=explain)
    capabilities = {capability_key(c.id): c for c in startup.capabilities}
    recs = []
    for challenge in found:
        pair = scores.get(challenge.id)
        if pair is None:
            continue  # outside the challenge's scored pool: no score to show
        recs.append(Recommendation(
            score=pair.score, components=dict(pair.components),
            explanation=pair.explanation.to_dict() | {"query_side": "challenge"},
            challenge=challenge, startup=startup, capability=capabilities.get(pair.key),
        ))
    recs.sort(key=lambda r: -r.score)
    return recs
