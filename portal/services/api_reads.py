"""What the public API reads: published records a page at a time (keyset pages on the id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import Challenge, ChallengeDomain, Department, Proposal, Trial, Workshop
from models.vocabulary import ChallengeStatus, TrialState

from .. import clock
from ..database import db
from .challenges import _department_and_units
from .stats import outcome_published


@dataclass
class ChallengeQuery:
    """Filters of the published challenges list."""

    domain: str | None = None
    functional_area: str | None = None
    department: str | None = None
    status: str | None = None
    language: str | None = None
    updated_since: datetime | None = None


def _after(stmt: Any, column: Any, after_id: int | None, limit: int) -> Any:
    """Rows after ``after_id`` in id order, one more than ``limit`` (to know if there is a next page)."""
    if after_id is not None:
        stmt = stmt.where(column > after_id)
    return stmt.order_by(column).limit(limit + 1)


def published_challenges(query: ChallengeQuery, after_id: int | None, limit: int) -> list[Challenge]:
    """Open and closed challenges matching ``query``, in id order, up to ``limit + 1``."""
    stmt = select(Challenge).where(Challenge.status.in_(ChallengeStatus.PUBLIC)).options(
        selectinload(Challenge.department), selectinload(Challenge.domain_rows), selectinload(Challenge.tag_rows)
    )
    if query.status:
        stmt = stmt.where(Challenge.status == query.status)
    if query.domain:
        stmt = stmt.where(Challenge.domain_rows.any(ChallengeDomain.domain == query.domain))
    if query.functional_area:
        stmt = stmt.where(Challenge.functional_area == query.functional_area)
    if query.language:
        stmt = stmt.where(Challenge.language == query.language)
    if query.updated_since:
        stmt = stmt.where(Challenge.updated_at >= query.updated_since)
    if query.department:
        department_id = db.scalar(select(Department.id).where(Department.code == query.department))
        if department_id is None:
            return []
        stmt = stmt.where(Challenge.department_id.in_(_department_and_units(department_id)))
    return list(db.scalars(_after(stmt, Challenge.id, after_id, limit)))


def completed_trials(outcome: str | None, after_id: int | None, limit: int) -> list[Trial]:
    """Completed trials with a signed-off outcome, report and KPIs (as the public showcase shows them)."""
    stmt = select(Trial).where(Trial.status == TrialState.COMPLETED, outcome_published()).options(
        selectinload(Trial.challenge).selectinload(Challenge.department),
        selectinload(Trial.startup), selectinload(Trial.capability),
        selectinload(Trial.report), selectinload(Trial.kpis),
    )
    if outcome:
        stmt = stmt.where(Trial.outcome == outcome)
    return list(db.scalars(_after(stmt, Trial.id, after_id, limit)))


def workshops(when: str | None, after_id: int | None, limit: int) -> list[Workshop]:
    """Workshops (``upcoming``: not ended; ``past``: ended), in id order."""
    stmt = select(Workshop)
    if when == "upcoming":
        stmt = stmt.where(Workshop.ends_at > clock.now())
    elif when == "past":
        stmt = stmt.where(Workshop.ends_at <= clock.now())
    return list(db.scalars(_after(stmt, Workshop.id, after_id, limit)))


def proposals_for_challenge(challenge: Challenge) -> list[tuple[Proposal, Trial | None]]:
    """A challenge's proposals with their trials, oldest first."""
    proposals = list(db.scalars(
        select(Proposal).where(Proposal.challenge_id == challenge.id)
        .options(selectinload(Proposal.startup), selectinload(Proposal.capability))
        .order_by(Proposal.created_at, Proposal.id)
    ))
    trials = {t.startup_id: t for t in db.scalars(select(Trial).where(Trial.challenge_id == challenge.id))}
    return [(p, trials.get(p.startup_id)) for p in proposals]
