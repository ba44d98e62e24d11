"""The public landing page: headline figures and the latest open challenges."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from models import Challenge, Proposal, Startup, Trial
from models.vocabulary import ChallengeStatus, TrialState

from ..database import db

#: How many of the latest open challenges the landing page lists.
LATEST_CHALLENGES = 5


@dataclass(frozen=True)
class Landing:
    """What the public landing page shows."""

    #: open_challenges, startups, proposals and trials (approved, running or completed).
    stats: dict[str, int]
    latest: list[Challenge]


def landing_page() -> Landing:
    """Count the headline figures and load the latest open challenges."""
    stats = {
        "open_challenges": db.scalar(select(func.count()).where(Challenge.status == ChallengeStatus.OPEN)) or 0,
        "startups": db.scalar(select(func.count()).select_from(Startup)) or 0,
        "proposals": db.scalar(select(func.count()).select_from(Proposal)) or 0,
        "trials": db.scalar(
            select(func.count()).where(Trial.status.in_(TrialState.WENT_AHEAD))
        ) or 0,
    }
    latest = db.scalars(
        select(Challenge).where(Challenge.status == ChallengeStatus.OPEN).order_by(Challenge.opened_at.desc())
        .limit(LATEST_CHALLENGES)
    ).all()
    return Landing(stats=stats, latest=list(latest))
