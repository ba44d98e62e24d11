"""The PoC trial state machine: every allowed move, who may make it, and its effects.

    proposed -> shortlisted -> approved -> running -> completed (adopted | not_adopted | extended)
    exits: withdrawn (the startup, before running), rejected (a coordinator, before approval)

The department confirms it takes part and the startup accepts an approved trial; a
coordinator starts it once both have. Every move records who, when and why, and a move
on a stale copy of the trial (someone else acted first) is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from models import Capability, Challenge, ConflictOfInterest, Trial, TrialTransition, User, utcnow
from models.vocabulary import TRIAL_OUTCOMES

from ..database import db
from ..errors import DomainError, NotAllowed, StaleState
from . import audit

TRIAL_FIELDS = (
    "status", "outcome", "decision_reason", "department_confirmed_at", "startup_accepted_at",
    "approved_at", "started_at", "completed_at",
)


@dataclass(frozen=True)
class Move:
    """One kind of move: the states it leaves from, where it goes, who may make it."""

    name: str
    label: Any
    sources: tuple[str, ...]
    target: str | None  # None: the state stays (a confirmation)
    actors: tuple[str, ...]  # "coordinator" (includes admin), "department", "startup"
    reason_required: bool = False


MOVES: dict[str, Move] = {
    m.name: m
    for m in (
        Move("shortlist", _l("Shortlist"), ("proposed",), "shortlisted", ("coordinator",)),
        Move("approve", _l("Approve trial"), ("proposed", "shortlisted"), "approved", ("coordinator",), True),
        Move("reject", _l("Reject"), ("proposed", "shortlisted"), "rejected", ("coordinator",), True),
        Move("confirm", _l("Confirm the department takes part"), ("approved",), None, ("department",)),
        Move("accept", _l("Accept the trial"), ("approved",), None, ("startup",)),
        Move("start", _l("Start the trial"), ("approved",), "running", ("coordinator",)),
        Move("complete", _l("Record the outcome"), ("running",), "completed", ("coordinator",), True),
        Move("withdraw", _l("Withdraw"), ("proposed", "shortlisted", "approved"), "withdrawn", ("startup",), True),
    )
}


def has_conflict(user: User, startup_id: int) -> bool:
    """Whether coordinator ``user`` has a declared or detected conflict with the startup."""
    return (
        db.scalar(
            select(ConflictOfInterest.id).where(
                ConflictOfInterest.coordinator_id == user.id, ConflictOfInterest.startup_id == startup_id
            )
        )
        is not None
    )


def actor_kinds(user: User, trial: Trial) -> set[str]:
    """The parts ``user`` plays in ``trial``: coordinator, department, startup."""
    kinds: set[str] = set()
    if user.is_staff and not has_conflict(user, trial.startup_id):
        kinds.add("coordinator")
    if user.is_officer and user.department_id == trial.challenge.department_id:
        kinds.add("department")
    if user.is_startup and user.startup_id == trial.startup_id:
        kinds.add("startup")
    return kinds


def allowed_moves(user: User, trial: Trial) -> list[Move]:
    """The moves ``user`` may make on ``trial`` now (for showing buttons)."""
    kinds = actor_kinds(user, trial)
    out = []
    for move in MOVES.values():
        if trial.status not in move.sources or not kinds.intersection(move.actors):
            continue
        if move.name == "confirm" and trial.department_confirmed_at is not None:
            continue
        if move.name == "accept" and trial.startup_accepted_at is not None:
            continue
        if move.name == "start" and not (trial.department_confirmed_at and trial.startup_accepted_at):
            continue
        out.append(move)
    return out


def _check(user: User, trial: Trial, move: Move, reason: str, expected_version: int | None) -> None:
    if expected_version is not None and trial.version != expected_version:
        raise StaleState(_("This trial was changed by someone else a moment ago. Review it and try again."))
    kinds = actor_kinds(user, trial)
    if not kinds.intersection(move.actors):
        if user.is_staff and has_conflict(user, trial.startup_id):
            raise NotAllowed(_("You have a conflict of interest with this startup, so another coordinator must decide."))
        raise NotAllowed(_("You are not allowed to make this move."))
    if trial.status not in move.sources:
        raise DomainError(
            _("A trial that is %(state)s cannot be moved this way.", state=state_label(trial.status))
        )
    if move.reason_required and not reason.strip():
        raise DomainError(_("Give a reason for this decision."), field="reason")
    if move.name == "start" and not (trial.department_confirmed_at and trial.startup_accepted_at):
        raise DomainError(_("Both the department and the startup must confirm before the trial starts."))
    if move.name == "confirm" and trial.department_confirmed_at is not None:
        raise DomainError(_("The department has already confirmed."))
    if move.name == "accept" and trial.startup_accepted_at is not None:
        raise DomainError(_("The startup has already accepted."))


_EFFECTS: dict[str, Callable[[Trial, dict[str, Any]], None]] = {
    "approve": lambda t, extra: setattr(t, "approved_at", utcnow()),
    "confirm": lambda t, extra: setattr(t, "department_confirmed_at", utcnow()),
    "accept": lambda t, extra: setattr(t, "startup_accepted_at", utcnow()),
    "start": lambda t, extra: setattr(t, "started_at", utcnow()),
}


def move_trial(
    user: User, trial: Trial, name: str, reason: str = "", *, expected_version: int | None = None,
    outcome: str | None = None,
) -> TrialTransition:
    """Make move ``name`` on ``trial`` as ``user``; record the transition and the audit event.

    Raises:
        NotAllowed: the user plays no part that may make this move (or is conflicted).
        StaleState: the trial changed since the user loaded it.
        DomainError: the move does not leave from the trial's state, or data is missing.
    """
    move = MOVES.get(name)
    if move is None:
        raise DomainError(_("Unknown action."))
    reason = (reason or "").strip()
    _check(user, trial, move, reason, expected_version)
    before = audit.snapshot(trial, TRIAL_FIELDS)
    from_state = trial.status
    if move.name == "complete":
        if outcome not in TRIAL_OUTCOMES:
            raise DomainError(_("Choose the outcome of the trial."), field="outcome")
        trial.outcome = outcome
        trial.completed_at = utcnow()
    effect = _EFFECTS.get(move.name)
    if effect:
        effect(trial, {})
    if move.target is not None:
        trial.status = move.target
    if move.reason_required or reason:
        trial.decision_reason = reason
    trial.updated_at = utcnow()  # always bump the row, so the version check covers every move
    transition = TrialTransition(
        trial_id=trial.id, from_state=from_state, to_state=trial.status, actor_id=user.id,
        reason=reason or move.name,
    )
    db.add(transition)
    try:
        db.flush()
    except StaleDataError as error:
        raise StaleState(
            _("This trial was changed by someone else a moment ago. Review it and try again.")
        ) from error
    audit.record(user, f"trial.{move.name}", trial, before, audit.snapshot(trial, TRIAL_FIELDS))
    _notify(trial, transition)
    return transition


def _notify(trial: Trial, transition: TrialTransition) -> None:
    try:
        from .notifications import notify_trial_moved
    except ImportError:  # notifications are optional for the state machine itself
        return
    notify_trial_moved(trial, transition)


def open_trial_from_match(user: User, challenge: Challenge, capability: Capability, reason: str = "") -> Trial:
    """Shortlist a recommended startup for a challenge without a proposal (coordinators)."""
    if not user.is_staff:
        raise NotAllowed(_("Only lab coordinators can shortlist a match."))
    if has_conflict(user, capability.startup_id):
        raise NotAllowed(_("You have a conflict of interest with this startup, so another coordinator must decide."))
    existing = db.scalar(
        select(Trial).where(Trial.challenge_id == challenge.id, Trial.startup_id == capability.startup_id)
    )
    if existing is not None:
        raise DomainError(_("There is already a trial for this startup and challenge."))
    if challenge.status != "open":
        raise DomainError(_("Only open challenges can be matched."))
    trial = Trial(
        challenge_id=challenge.id, startup_id=capability.startup_id, capability_id=capability.id,
        status="shortlisted", decision_reason=reason,
    )
    db.add(trial)
    db.flush()
    db.add(TrialTransition(trial_id=trial.id, from_state=None, to_state="shortlisted", actor_id=user.id,
                           reason=reason or "shortlisted from recommendations"))
    audit.record(user, "trial.create", trial, after=audit.snapshot(trial, TRIAL_FIELDS))
    db.flush()
    return trial


STATE_LABELS = {
    "proposed": _l("Proposed"),
    "shortlisted": _l("Shortlisted"),
    "approved": _l("Approved"),
    "running": _l("Running"),
    "completed": _l("Completed"),
    "withdrawn": _l("Withdrawn"),
    "rejected": _l("Rejected"),
}
OUTCOME_LABELS = {
    "adopted": _l("Adopted"),
    "not_adopted": _l("Not adopted"),
    "extended": _l("Extended"),
}


def state_label(state: str) -> str:
    """The translated label of a trial state."""
    return str(STATE_LABELS.get(state, state))
