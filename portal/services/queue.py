"""The lab coordinators' review queue: proposals awaiting a decision, suggested matches,
active trials and the latest feedback on recommendations."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Row, func, select
from sqlalchemy.orm import selectinload

from models import Challenge, Dismissal, Startup, Trial, User
from models.vocabulary import ChallengeStatus, TrialState

from ..database import db
from . import conflicts, recommendations, trials
from .paging import Page, paginate

#: How many open challenges, and matches for each, the queue suggests.
QUEUE_CHALLENGES = 8
QUEUE_MATCHES = 3
#: How many feedback rows are shown.
FEEDBACK_ROWS = 20
#: How many approved and running trials are listed (most recently changed first; the
#: coordinator dashboard pages through all of them).
ACTIVE_ROWS = 20
#: How many of the latest completed trials are listed (their outcome reports wait for sign-off or publication).
COMPLETED_ROWS = 10


@dataclass(frozen=True)
class ReviewQueue:
    """What the review queue page shows."""

    pending: Page[Trial]
    #: Match score of each pending trial, by trial id.
    scores: dict[int, float]
    #: Startups the coordinator has a conflict of interest with.
    conflicts: set[int]
    suggestions: list[tuple[Challenge, list[recommendations.Recommendation]]]
    active: list[Trial]
    #: How many trials are approved or running in all (``active`` holds the latest ``ACTIVE_ROWS``).
    active_total: int
    #: The latest completed trials, newest first (the outcome to sign off, publish or unpublish).
    completed: list[Trial]
    #: (dismissal, user, challenge, startup) rows, newest first.
    feedback: list[Row[Dismissal, User, Challenge, Startup]]


def review_queue(coordinator: User, page: int, per_page: int) -> ReviewQueue:
    """Gather the coordinator's review queue with one page of pending proposals, oldest first."""
    pending: Page[Trial] = paginate(
        select(Trial).where(Trial.status.in_(TrialState.OPEN)).order_by(Trial.created_at, Trial.id),
        page, per_page,
        options=[
            # Match scores read each challenge's domains and tags.
            selectinload(Trial.challenge).selectinload(Challenge.domain_rows),
            selectinload(Trial.challenge).selectinload(Challenge.tag_rows),
            selectinload(Trial.startup), selectinload(Trial.proposal), selectinload(Trial.capability),
        ],
    )
    conflicted = conflicts.conflicted_startup_ids(coordinator)
    open_challenges = db.scalars(
        select(Challenge).where(Challenge.status == ChallengeStatus.OPEN).order_by(Challenge.opened_at.desc()).limit(QUEUE_CHALLENGES)
        # Domains and tags go into the matcher's view of each challenge.
        .options(selectinload(Challenge.domain_rows), selectinload(Challenge.tag_rows))
    ).all()
    ranked = recommendations.recommend_startups_for_each(
        open_challenges, coordinator, limit=QUEUE_MATCHES, explain=False
    )
    suggestions = [(challenge, recs) for challenge, recs in zip(open_challenges, ranked, strict=True) if recs]
    active = db.scalars(
        select(Trial)
        .where(Trial.status.in_(TrialState.ACTIVE))
        .options(selectinload(Trial.challenge), selectinload(Trial.startup))
        .order_by(Trial.updated_at.desc(), Trial.id.desc())
        .limit(ACTIVE_ROWS)
    ).all()
    active_total = len(active) if len(active) < ACTIVE_ROWS else int(
        db.scalar(select(func.count()).select_from(Trial).where(Trial.status.in_(TrialState.ACTIVE))) or 0
    )
    completed = db.scalars(
        select(Trial)
        .where(Trial.status == TrialState.COMPLETED)
        .options(selectinload(Trial.challenge), selectinload(Trial.startup), selectinload(Trial.report))
        .order_by(Trial.completed_at.desc(), Trial.id.desc())
        .limit(COMPLETED_ROWS)
    ).all()
    feedback = db.execute(
        select(Dismissal, User, Challenge, Startup)
        .join(User, User.id == Dismissal.user_id)
        .join(Challenge, Challenge.id == Dismissal.challenge_id)
        .join(Startup, Startup.id == Dismissal.startup_id)
        .order_by(Dismissal.created_at.desc(), Dismissal.id.desc())
        .limit(FEEDBACK_ROWS)
    ).all()
    return ReviewQueue(
        pending=pending, scores=trials.match_scores(pending.items), conflicts=conflicted,
        suggestions=suggestions, active=list(active), active_total=active_total, completed=list(completed), feedback=list(feedback),
    )
