"""The PoC trial state machine: every allowed move, who may make it, and its effects.

    proposed -> shortlisted -> approved -> running -> completed (adopted | not_adopted | extended)
    exits: withdrawn (the startup: withdraws before approval, declines an approved trial),
           rejected (a coordinator, before approval)

The department confirms it takes part and the startup accepts an approved trial; a
coordinator starts it once both have. Every move records who, when and why, and a move
on a stale copy of the trial (someone else acted first) is refused.

``MOVES`` is the one place that says who may make each move; ``TRACKING`` says who may
track a trial (milestones, KPIs and their results, notes) and in which states. A
coordinator with a conflict of interest with the startup plays no "coordinator" part in
its trials, so can neither decide nor score them.

Refusals: ``NotAllowed`` (the user plays no part that may do it; HTTP 403), ``StaleState``
(the trial is in the wrong state or changed since the user loaded it; HTTP 409),
``DomainError`` (missing or bad data; HTTP 400).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, or_, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

import matcher
from models import (
    AuditEvent,
    Capability,
    Challenge,
    Kpi,
    Milestone,
    OutcomeReport,
    Trial,
    TrialNote,
    TrialTransition,
    User,
)
from models.vocabulary import (
    CONTENT_LANGUAGES,
    TRIAL_OUTCOMES,
    TRIAL_STATES,
    ChallengeStatus,
    Party,
    ProposalStatus,
    TrialState,
)

from .. import clock, signals
from ..database import db, execute_update
from ..errors import DomainError, DomainErrors, NotAllowed, StaleState
from ..labels import TRIAL_OUTCOME_LABELS as OUTCOME_LABELS  # noqa: F401 (kept for callers)
from ..labels import trial_state_label as state_label
from . import audit, conflicts, recommendations
from .inputs import ServiceInput
from .paging import Page, paginate

log = logging.getLogger("innomatch.trials")

TRIAL_FIELDS = (
    "status", "outcome", "decision_reason", "department_confirmed_at", "startup_accepted_at",
    "approved_at", "started_at", "completed_at",
)
PARTIES = tuple(Party)
REASON_MAX = 3000
#: A milestone's waiver reason is one line (its input takes 200 characters).
WAIVER_REASON_MAX = 200
NAME_MAX = 200  # milestone titles, KPI names, targets and results
TEXT_MAX = 10000  # notes and the outcome report's parts
KPIS_MAX = 20
MILESTONES_MAX = 50


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
        Move("shortlist", _l("Shortlist"), (TrialState.PROPOSED,), TrialState.SHORTLISTED, (Party.COORDINATOR,)),
        Move("approve", _l("Approve trial"), TrialState.OPEN, TrialState.APPROVED, (Party.COORDINATOR,), True),
        Move("reject", _l("Reject"), TrialState.OPEN, TrialState.REJECTED, (Party.COORDINATOR,), True),
        Move("confirm", _l("Confirm the department takes part"), (TrialState.APPROVED,), None, (Party.DEPARTMENT,)),
        Move("accept", _l("Accept the trial"), (TrialState.APPROVED,), None, (Party.STARTUP,)),
        Move("start", _l("Start the trial"), (TrialState.APPROVED,), TrialState.RUNNING, (Party.COORDINATOR,)),
        # The outcome report's summary is the reason of this move.
        Move("complete", _l("Record the outcome"), (TrialState.RUNNING,), TrialState.COMPLETED, (Party.COORDINATOR,)),
        Move("withdraw", _l("Withdraw"), TrialState.OPEN, TrialState.WITHDRAWN, (Party.STARTUP,), True),
        # The startup's answer to an approved trial: "accept" above, or decline it with a reason.
        Move("decline", _l("Decline the trial"), (TrialState.APPROVED,), TrialState.WITHDRAWN, (Party.STARTUP,), True),
    )
}


@dataclass(frozen=True)
class Action:
    """One way of tracking a trial: the states it is open in and who may do it."""

    name: str
    states: tuple[str, ...]
    actors: tuple[str, ...]


TRACKING: dict[str, Action] = {
    a.name: a
    for a in (
        Action("add_milestone", TrialState.ACTIVE, PARTIES),
        Action("complete_milestone", TrialState.ACTIVE, PARTIES),
        # Milestones and KPIs are changed or removed only before the trial is completed.
        Action("edit_milestone", TrialState.ACTIVE, PARTIES),
        Action("add_kpi", TrialState.ACTIVE, (Party.COORDINATOR, Party.DEPARTMENT)),
        Action("edit_kpi", TrialState.ACTIVE, (Party.COORDINATOR, Party.DEPARTMENT)),
        # Scoring: measured KPI results (also entered with the "complete" move).
        Action("record_result", (TrialState.RUNNING, TrialState.COMPLETED), (Party.COORDINATOR,)),
        # A trial withdrawn or rejected is kept as it was left: its reason is the move's.
        Action("add_note", tuple(s for s in TRIAL_STATES if s not in TrialState.ENDED_EARLY), PARTIES),
        # A milestone that will not be reached is waived with a reason, so the trial can complete.
        Action("waive_milestone", TrialState.ACTIVE, (Party.COORDINATOR, Party.DEPARTMENT)),
        # The outcome report goes public once the department signs it off; the lab can take it down.
        Action("sign_off_outcome", (TrialState.COMPLETED,), (Party.DEPARTMENT,)),
        Action("agree_outcome", (TrialState.COMPLETED,), (Party.STARTUP,)),
        # An agreement the startup gave outside the service (in writing), recorded by the lab.
        Action("record_outcome_agreement", (TrialState.COMPLETED,), (Party.COORDINATOR,)),
        Action("unpublish_outcome", (TrialState.COMPLETED,), (Party.COORDINATOR,)),
        # The report's text is put right by the lab while no sign-off stands (see results_locked).
        Action("correct_outcome_report", (TrialState.COMPLETED,), (Party.COORDINATOR,)),
    )
}

STALE_MESSAGE = _l("This trial was changed by someone else a moment ago. Review it and try again.")


# -- who plays which part ------------------------------------------------------------------


def has_conflict(user: User, startup_id: int) -> bool:
    """Whether coordinator ``user`` has a declared or detected conflict with the startup."""
    return conflicts.has_conflict(user, startup_id)


def actor_kinds(user: User, trial: Trial) -> set[str]:
    """The parts ``user`` plays in ``trial``: coordinator, department, startup."""
    kinds: set[str] = set()
    if not getattr(user, "is_authenticated", False):
        return kinds
    if user.is_staff and not has_conflict(user, trial.startup_id):
        kinds.add(Party.COORDINATOR)
    if user.is_officer and user.department_id == trial.challenge.department_id:
        kinds.add(Party.DEPARTMENT)
    if user.is_startup and user.startup_id == trial.startup_id:
        kinds.add(Party.STARTUP)
    return kinds


def refusal_message(user: User, trial: Trial) -> str:
    """Why ``user`` may not act on ``trial`` (a conflict of interest, or no part in it)."""
    if getattr(user, "is_staff", False) and has_conflict(user, trial.startup_id):
        return _("You have a conflict of interest with this startup, so another coordinator must decide.")
    return _("You are not allowed to do this on this trial.")


def _refuse(user: User, trial: Trial) -> None:
    raise NotAllowed(refusal_message(user, trial))


def _precondition_problem(trial: Trial, move: Move) -> str | None:
    """Why ``move`` cannot be made yet although the trial is in a source state, or None."""
    if move.name == "start" and not (trial.department_confirmed_at and trial.startup_accepted_at):
        return _("Both the department and the startup must confirm before the trial starts.")
    if move.name == "confirm" and trial.department_confirmed_at is not None:
        return _("The department has already confirmed.")
    if move.name in ("accept", "decline") and trial.startup_accepted_at is not None:
        return _("The startup has already accepted.")
    return None


def allowed_moves(user: User, trial: Trial) -> list[Move]:
    """The moves ``user`` may make on ``trial`` now (for showing buttons)."""
    kinds = actor_kinds(user, trial)
    return [
        move
        for move in MOVES.values()
        if trial.status in move.sources and kinds.intersection(move.actors) and _precondition_problem(trial, move) is None
    ]


def may(user: User, trial: Trial, name: str) -> bool:
    """Whether ``user`` plays a part in ``trial`` that may make move or tracking action ``name`` (in some state)."""
    rule = MOVES.get(name) or TRACKING.get(name)
    return rule is not None and bool(actor_kinds(user, trial).intersection(rule.actors))


def open_actions(user: User, trial: Trial) -> set[str]:
    """The tracking actions ``user`` may take on ``trial`` in its current state (for showing forms)."""
    kinds = actor_kinds(user, trial)
    names = {a.name for a in TRACKING.values() if trial.status in a.states and kinds.intersection(a.actors)}
    if results_locked(trial):
        names -= {"record_result", "correct_outcome_report"}
    return names


def results_locked(trial: Trial) -> bool:
    """Whether the KPI results stand as the department signed them off: while the outcome
    report's sign-off stands (published, or waiting for the startup's agreement), the showcase
    shows or will show them under the department's sign-off."""
    return trial.report is not None and trial.report.sign_off_stands


# -- input rules ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _short(value: Any, field: str, message: str) -> str:
    text = _text(value)
    if not text:
        raise DomainError(message, field=field)
    if len(text) > NAME_MAX:
        raise DomainError(_("Use at most %(n)d characters.", n=NAME_MAX), field=field)
    return text


def _language(value: Any, field: str) -> str | None:
    if value in (None, ""):
        return None
    if value not in CONTENT_LANGUAGES:
        raise DomainError(_("Choose the language of the text."), field=field)
    return str(value)


def parse_kpi_lines(text: str | None) -> list[tuple[str, str]]:
    """Read KPI lines written as ``name | target``, one per line (blank lines are skipped);
    every wrong line is named at once (DomainErrors)."""
    pairs: list[tuple[str, str]] = []
    problems: list[DomainError] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, target = line.partition("|")
        if not sep or not name.strip() or not target.strip():
            problems.append(DomainError(_("Line %(n)d: write each KPI as “name | target”.", n=number), field="kpis"))
        elif len(name.strip()) > NAME_MAX or len(target.strip()) > NAME_MAX:
            problems.append(DomainError(
                _("Line %(n)d: use at most %(max)d characters for the name and the target.", n=number, max=NAME_MAX),
                field="kpis",
            ))
        else:
            pairs.append((name.strip(), target.strip()))
    if len(pairs) > KPIS_MAX:
        problems.append(DomainError(_("Agree at most %(n)d KPIs.", n=KPIS_MAX), field="kpis"))
    DomainErrors.raise_for(problems)
    return pairs


def _check_kpis(trial: Trial, kpis: Sequence[tuple[str, str]], field: str) -> list[tuple[str, str]]:
    clean = []
    for name, target in kpis:
        clean.append((_short(name, field, _("Name the KPI.")), _short(target, field, _("Give the KPI's target."))))
    known = {k.name.casefold() for k in trial.kpis}
    for name, _target in clean:
        if name.casefold() in known:
            raise DomainError(_("There is already a KPI called “%(name)s”.", name=name), field=field)
        known.add(name.casefold())
    if len(known) > KPIS_MAX:
        raise DomainError(_("A trial has at most %(n)d KPIs.", n=KPIS_MAX), field=field)
    return clean


@dataclass
class OutcomeData(ServiceInput):
    """What a coordinator enters with the "complete" move."""

    outcome: str | None = None
    summary: str = ""
    lessons: str = ""
    recommendation: str = ""
    language: str | None = None
    # Measured results by KPI id; KPIs that already have a result may be left out.
    results: Mapping[int, str] | None = None


def _report_text_problems(data: OutcomeData) -> list[DomainError]:
    """The problems of the report's text (summary, lessons, recommendation), which it trims; its
    language as chosen, else read from the text (never the challenge's)."""
    problems: list[DomainError] = []
    data.summary = _text(data.summary)
    data.lessons = _text(data.lessons)
    data.recommendation = _text(data.recommendation)
    if not data.summary:
        problems.append(DomainError(_("Summarise what the trial showed."), field="summary"))
    for name in ("summary", "lessons", "recommendation"):
        if len(getattr(data, name)) > TEXT_MAX:
            problems.append(DomainError(_("Use at most %(n)d characters.", n=TEXT_MAX), field=name))
    data.language = _language(data.language, "report_language") or matcher.detect_language(
        f"{data.summary} {data.lessons} {data.recommendation}"
    )
    return problems


def _check_outcome(trial: Trial, data: OutcomeData) -> dict[int, str]:
    """The KPI results that change; every problem of the report at once (DomainErrors)."""
    problems: list[DomainError] = []
    if data.outcome not in TRIAL_OUTCOMES:
        problems.append(DomainError(_("Choose the outcome of the trial."), field="outcome"))
    problems += _report_text_problems(data)
    try:
        given = {int(k): _text(v) for k, v in (data.results or {}).items()}
    except (TypeError, ValueError) as error:
        raise DomainError(_("Enter the measured results of the KPIs.")) from error
    known = {k.id for k in trial.kpis}
    if set(given) - known:
        raise StaleState(str(STALE_MESSAGE))
    results: dict[int, str] = {}
    for kpi in trial.kpis:
        value = given.get(kpi.id) or (kpi.result or "")
        if not value:
            problems.append(
                DomainError(_("Enter the measured result of “%(name)s”.", name=kpi.name), field=f"result_{kpi.id}")
            )
        elif len(value) > NAME_MAX:
            problems.append(DomainError(_("Use at most %(n)d characters.", n=NAME_MAX), field=f"result_{kpi.id}"))
        elif value != (kpi.result or ""):
            results[kpi.id] = value
    open_ones = [m.title for m in trial.milestones if not m.settled]
    if open_ones:  # a trial completes only when each milestone is done or waived with a reason
        problems.append(DomainError(
            _("Mark these milestones as done or waive them first: %(titles)s.", titles="; ".join(open_ones))
        ))
    DomainErrors.raise_for(problems)
    return results


# -- moves ---------------------------------------------------------------------------------


def _flush_or_stale() -> None:
    try:
        db.flush()
    except StaleDataError as error:
        raise StaleState(str(STALE_MESSAGE)) from error


def move_trial(
    user: User,
    trial: Trial,
    name: str,
    reason: str = "",
    *,
    expected_version: int | None = None,
    outcome: str | None = None,
    kpis: Sequence[tuple[str, str]] = (),
    report: OutcomeData | Mapping[str, Any] | None = None,
) -> TrialTransition:
    """Make move ``name`` on ``trial`` as ``user``; record the transition and the audit event.

    ``kpis`` (name, target) are agreed with "approve"; ``report`` (and ``outcome``) come
    with "complete" and carry the measured KPI results.

    Raises:
        NotAllowed: the user plays no part that may make this move (or is conflicted).
        StaleState: the trial changed since the user loaded it, or its state does not allow the move.
        DomainError: data is missing or bad.
    """
    move = MOVES.get(name)
    if move is None:
        raise DomainError(_("Unknown action."))
    if not actor_kinds(user, trial).intersection(move.actors):
        _refuse(user, trial)
    if expected_version is not None and trial.version != expected_version:
        raise StaleState(str(STALE_MESSAGE))
    if trial.status not in move.sources:
        raise StaleState(_("A trial that is %(state)s cannot be moved this way.", state=state_label(trial.status)))
    problem = _precondition_problem(trial, move)
    if problem:
        raise StaleState(problem)
    reason = _text(reason)
    if move.reason_required and not reason:
        raise DomainError(_("Give a reason for this decision."), field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(_("Use at most %(n)d characters.", n=REASON_MAX), field="reason")
    new_kpis = _check_kpis(trial, kpis, "kpis") if move.name == "approve" else []
    outcome_data = OutcomeData.coerce(report)
    if outcome is not None:
        outcome_data.outcome = outcome
    results = _check_outcome(trial, outcome_data) if move.name == "complete" else {}

    before = audit.snapshot(trial, TRIAL_FIELDS)
    after_extra: dict[str, Any] = {}
    added = [Kpi(name=kpi_name, target=target) for kpi_name, target in new_kpis]
    with db.no_autoflush:  # the row is checked as a whole when the move is complete
        from_state = trial.status
        now = clock.now()
        if move.name == "approve":
            trial.approved_at = now
            trial.kpis.extend(added)
        elif move.name == "confirm":
            trial.department_confirmed_at = now
        elif move.name == "accept":
            trial.startup_accepted_at = now
        elif move.name == "start":
            trial.started_at = now
        elif move.name == "complete":
            trial.outcome = outcome_data.outcome
            trial.completed_at = now
            for kpi in trial.kpis:
                if kpi.id in results:
                    before[f"kpis[{kpi.id}].result"] = kpi.result
                    kpi.result = results[kpi.id]
                    after_extra[f"kpis[{kpi.id}].result"] = kpi.result
            if trial.report is None:
                trial.report = OutcomeReport(summary="")
            trial.report.summary = outcome_data.summary
            trial.report.lessons = outcome_data.lessons
            trial.report.recommendation = outcome_data.recommendation
            trial.report.language = outcome_data.language
            after_extra.update(
                {f"report.{k}": getattr(trial.report, k) for k in ("summary", "lessons", "recommendation", "language")}
            )
            reason = reason or outcome_data.summary
        elif move.name in ("withdraw", "decline"):
            _withdraw_proposal(user, trial)
        if move.target is not None:
            trial.status = move.target
        if move.reason_required or reason:
            trial.decision_reason = reason
        trial.updated_at = now  # always bump the row, so the version check covers every move
    transition = TrialTransition(
        from_state=from_state, to_state=trial.status, actor_id=user.id, reason=reason or move.name
    )
    with db.no_autoflush:  # loading the history must not flush early, outside the stale check
        trial.transitions.append(transition)  # keeps the loaded history in step with the database
    _flush_or_stale()
    for kpi in added:
        after_extra[f"kpis[{kpi.id}].name"] = kpi.name
        after_extra[f"kpis[{kpi.id}].target"] = kpi.target
    signals.changed(user, f"trial.{move.name}", trial, before, {**audit.snapshot(trial, TRIAL_FIELDS), **after_extra})
    signals.trial_moved.send(trial, actor=user, transition=transition)
    return transition


def _withdraw_proposal(user: User, trial: Trial) -> None:
    """A startup withdrawing its trial withdraws the proposal behind it too."""
    proposal = trial.proposal
    if proposal is None or proposal.status == ProposalStatus.WITHDRAWN:
        return
    proposal.status = ProposalStatus.WITHDRAWN
    signals.changed(
        user, "proposal.withdraw", proposal,
        {"status": ProposalStatus.SUBMITTED}, {"status": ProposalStatus.WITHDRAWN},
    )


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
    if challenge.status != ChallengeStatus.OPEN:
        raise DomainError(_("Only open challenges can be matched."))
    trial = Trial(
        challenge_id=challenge.id, startup_id=capability.startup_id, capability_id=capability.id,
        status=TrialState.SHORTLISTED, decision_reason=reason,
    )
    db.add(trial)
    db.flush()
    db.add(TrialTransition(trial_id=trial.id, from_state=None, to_state=TrialState.SHORTLISTED, actor_id=user.id,
                           reason=reason or "shortlisted from recommendations"))
    signals.changed(user, "trial.create", trial, after=audit.snapshot(trial, TRIAL_FIELDS))
    db.flush()
    return trial


# -- tracking ------------------------------------------------------------------------------


def _require(user: User, trial: Trial, name: str) -> None:
    action = TRACKING[name]
    if not actor_kinds(user, trial).intersection(action.actors):
        _refuse(user, trial)
    if trial.status not in action.states:
        raise StaleState(_("This cannot be done while the trial is %(state)s.", state=state_label(trial.status)))


def _milestone_fields(data: Mapping[str, Any]) -> tuple[str, date]:
    title = _short(data.get("title"), "title", _("Name the milestone."))
    due_on = data.get("due_on")
    if not isinstance(due_on, date) or isinstance(due_on, datetime):
        raise DomainError(_("Enter the date the milestone is due."), field="due_on")
    if not date(2000, 1, 1) <= due_on <= date(2100, 12, 31):
        raise DomainError(_("Enter a date between 2000 and 2100."), field="due_on")
    return title, due_on


def add_milestone(user: User, trial: Trial, data: Mapping[str, Any]) -> Milestone:
    """Add a dated milestone to an approved or running trial (any party of the trial)."""
    _require(user, trial, "add_milestone")
    title, due_on = _milestone_fields(data)
    if due_on < clock.today():
        raise DomainError(_("Enter a due date that is today or later."), field="due_on")
    if len(trial.milestones) >= MILESTONES_MAX:
        raise DomainError(_("A trial has at most %(n)d milestones.", n=MILESTONES_MAX), field="title")
    milestone = Milestone(title=title, due_on=due_on)
    trial.milestones.append(milestone)
    db.flush()
    key = f"milestones[{milestone.id}]"
    signals.changed(user, "trial.milestone_add", trial, after={f"{key}.title": title, f"{key}.due_on": due_on.isoformat()})
    return milestone


def complete_milestone(user: User, trial: Trial, milestone: Milestone) -> Milestone:
    """Mark a milestone of an approved or running trial as done today (any party of the trial)."""
    _require(user, trial, "complete_milestone")
    if milestone.trial_id != trial.id:
        raise DomainError(_("This milestone belongs to another trial."))
    if milestone.done_on is not None:
        raise StaleState(_("This milestone is already marked as done."))
    if milestone.waived_on is not None:
        raise StaleState(_("This milestone was waived."))
    milestone.done_on = clock.today()
    db.flush()
    key = f"milestones[{milestone.id}].done_on"
    signals.changed(user, "trial.milestone_done", trial, {key: None}, {key: milestone.done_on.isoformat()})
    return milestone


def _own_milestone(trial: Trial, milestone: Milestone) -> None:
    if milestone.trial_id != trial.id:
        raise DomainError(_("This milestone belongs to another trial."))


def waive_milestone(user: User, trial: Trial, milestone: Milestone, reason: str) -> Milestone:
    """Waive a milestone that will not be reached, with the reason (coordinators and the department)."""
    _require(user, trial, "waive_milestone")
    _own_milestone(trial, milestone)
    if milestone.done_on is not None:
        raise StaleState(_("This milestone is already marked as done."))
    if milestone.waived_on is not None:
        raise StaleState(_("This milestone was waived."))
    reason = _text(reason)
    if not reason:
        raise DomainError(_("Say why the milestone is waived."), field="reason")
    if len(reason) > WAIVER_REASON_MAX:
        raise DomainError(_("Use at most %(n)d characters.", n=WAIVER_REASON_MAX), field="reason")
    if "\n" in reason or "\r" in reason:
        raise DomainError(_("Enter this on one line, without line breaks or control characters."), field="reason")
    milestone.waived_on = clock.today()
    milestone.waiver_reason = reason
    db.flush()
    key = f"milestones[{milestone.id}]"
    signals.changed(
        user, "trial.milestone_waive", trial,
        {f"{key}.waived_on": None, f"{key}.waiver_reason": ""},
        {f"{key}.waived_on": milestone.waived_on.isoformat(), f"{key}.waiver_reason": reason},
    )
    return milestone


def edit_milestone(user: User, trial: Trial, milestone: Milestone, data: Mapping[str, Any]) -> Milestone:
    """Rename or move a milestone of an approved or running trial (any party of the trial).

    A due date may stay in the past once set; a new one must be today or later.
    """
    _require(user, trial, "edit_milestone")
    _own_milestone(trial, milestone)
    title, due_on = _milestone_fields(data)
    if due_on != milestone.due_on and due_on < clock.today():
        raise DomainError(_("Enter a due date that is today or later."), field="due_on")
    key = f"milestones[{milestone.id}]"
    before = {f"{key}.title": milestone.title, f"{key}.due_on": milestone.due_on.isoformat()}
    milestone.title, milestone.due_on = title, due_on
    db.flush()
    signals.changed(user, "trial.milestone_edit", trial, before, {f"{key}.title": title, f"{key}.due_on": due_on.isoformat()})
    return milestone


def remove_milestone(user: User, trial: Trial, milestone: Milestone) -> None:
    """Remove a milestone from an approved or running trial (any party of the trial)."""
    _require(user, trial, "edit_milestone")
    _own_milestone(trial, milestone)
    key = f"milestones[{milestone.id}]"
    before = {f"{key}.title": milestone.title, f"{key}.due_on": milestone.due_on.isoformat(),
              f"{key}.done_on": milestone.done_on.isoformat() if milestone.done_on else None}
    trial.milestones.remove(milestone)
    db.flush()
    signals.changed(user, "trial.milestone_remove", trial, before, {})


def add_kpi(user: User, trial: Trial, data: Mapping[str, Any]) -> Kpi:
    """Add a KPI to an approved or running trial (coordinators and the department)."""
    _require(user, trial, "add_kpi")
    name = _short(data.get("name"), "name", _("Name the KPI."))
    target = _short(data.get("target"), "target", _("Give the KPI's target."))
    _check_kpis(trial, [(name, target)], "name")
    kpi = Kpi(name=name, target=target)
    trial.kpis.append(kpi)
    db.flush()
    signals.changed(user, "trial.kpi_add", trial, after={f"kpis[{kpi.id}].name": name, f"kpis[{kpi.id}].target": target})
    return kpi


def _own_kpi(trial: Trial, kpi: Kpi) -> None:
    if kpi.trial_id != trial.id:
        raise DomainError(_("This KPI belongs to another trial."))


def edit_kpi(user: User, trial: Trial, kpi: Kpi, data: Mapping[str, Any]) -> Kpi:
    """Rename a KPI or change its target, before the trial is completed (coordinators and the department)."""
    _require(user, trial, "edit_kpi")
    _own_kpi(trial, kpi)
    name = _short(data.get("name"), "name", _("Name the KPI."))
    target = _short(data.get("target"), "target", _("Give the KPI's target."))
    if any(k.id != kpi.id and k.name.casefold() == name.casefold() for k in trial.kpis):
        raise DomainError(_("There is already a KPI called “%(name)s”.", name=name), field="name")
    key = f"kpis[{kpi.id}]"
    before = {f"{key}.name": kpi.name, f"{key}.target": kpi.target}
    kpi.name, kpi.target = name, target
    db.flush()
    signals.changed(user, "trial.kpi_edit", trial, before, {f"{key}.name": name, f"{key}.target": target})
    return kpi


def remove_kpi(user: User, trial: Trial, kpi: Kpi) -> None:
    """Remove a KPI before the trial is completed (coordinators and the department)."""
    _require(user, trial, "edit_kpi")
    _own_kpi(trial, kpi)
    key = f"kpis[{kpi.id}]"
    before = {f"{key}.name": kpi.name, f"{key}.target": kpi.target, f"{key}.result": kpi.result}
    trial.kpis.remove(kpi)
    db.flush()
    signals.changed(user, "trial.kpi_remove", trial, before, {})


def locked_results_message() -> str:
    """Why a signed-off outcome's results cannot be changed, and how to correct one."""
    return _(
        "The department signed off the outcome, so the results stay as signed off. "
        "To correct one, unpublish the outcome report first (saying why); the department then signs it off again."
    )


def record_kpi_result(user: User, trial: Trial, kpi: Kpi, result: str) -> Kpi:
    """Record the measured result of a KPI of a running or completed trial (coordinators: scoring)."""
    _require(user, trial, "record_result")
    if kpi.trial_id != trial.id:
        raise DomainError(_("This KPI belongs to another trial."))
    if results_locked(trial):
        raise StaleState(locked_results_message())
    value = _short(result, "result", _("Enter the measured result."))
    key = f"kpis[{kpi.id}].result"
    before = {key: kpi.result}
    kpi.result = value
    db.flush()
    signals.changed(user, "trial.kpi_result", trial, before, {key: value})
    return kpi


def add_note(user: User, trial: Trial, data: Mapping[str, Any]) -> TrialNote:
    """Add a note on a trial's progress (coordinators, the department and the startup)."""
    _require(user, trial, "add_note")
    body = _text(data.get("body"))
    if not body:
        raise DomainError(_("Write the note."), field="body")
    if len(body) > TEXT_MAX:
        raise DomainError(_("Use at most %(n)d characters.", n=TEXT_MAX), field="body")
    language = _language(data.get("language"), "language") or matcher.detect_language(body)
    note = TrialNote(author_id=user.id, body=body, language=language)
    trial.notes.append(note)
    db.flush()
    signals.changed(user, "trial.note_add", trial, after={f"notes[{note.id}].body": body})
    return note


def _report_of(user: User, trial: Trial, name: str) -> OutcomeReport:
    _require(user, trial, name)
    if trial.report is None:
        raise StaleState(_("This trial has no outcome report."))
    return trial.report


def _publication(report: OutcomeReport) -> dict[str, Any]:
    return {
        "report.signed_off_at": report.signed_off_at.isoformat() if report.signed_off_at else None,
        "report.signed_off_by_id": report.signed_off_by_id,
        "report.startup_agreed_at": report.startup_agreed_at.isoformat() if report.startup_agreed_at else None,
        "report.startup_agreed_by_id": report.startup_agreed_by_id,
        "report.startup_agreement_note": report.startup_agreement_note,
        "report.unpublished_at": report.unpublished_at.isoformat() if report.unpublished_at else None,
        "report.unpublish_reason": report.unpublish_reason,
    }


def _seen_correction(seen: str | None) -> list[ColumnElement[bool]]:
    """The condition that the report's last correction is the one the user read (``seen``: its
    time as the page showed it, "" for none); no condition when ``seen`` is None."""
    if seen is None:
        return []
    if not seen:
        return [OutcomeReport.corrected_at.is_(None)]
    try:
        moment = datetime.fromisoformat(seen)
    except ValueError:
        raise StaleState(str(STALE_MESSAGE)) from None
    return [OutcomeReport.corrected_at == moment]


def sign_off_outcome(user: User, trial: Trial, seen_correction: str | None = None) -> OutcomeReport:
    """Sign off a completed trial's outcome report for the department.

    An officer of the challenge's department does it; the startup is then asked to agree to
    its publication (:func:`agree_outcome`), which publishes it. A report the lab unpublished
    can be signed off again once it is put right. Of two sign-offs at once, one is taken
    (compare-and-set), the other is told it is already signed off. With ``seen_correction``
    (the report's last correction as the officer's page showed it), a report the lab corrected
    since is not signed off unread.
    """
    report = _report_of(user, trial, "sign_off_outcome")
    before = _publication(report)
    now = clock.now()
    claimed = execute_update(
        update(OutcomeReport)
        .where(OutcomeReport.id == report.id, ~OutcomeReport.sign_off_stands, *_seen_correction(seen_correction))
        .values(
            signed_off_at=now, signed_off_by_id=user.id, unpublished_at=None, unpublish_reason="",
            # The record as signed: a later rename of the capability does not rewrite it.
            capability_name=trial.capability.name if trial.capability else "",
            capability_language=trial.capability.language if trial.capability else None,
        )
        .execution_options(synchronize_session=False)
    )
    db.refresh(report)
    if not claimed and not report.sign_off_stands:
        raise StaleState(_("The lab corrected the outcome report after you opened the page. "
                           "Read what it changed, then sign it off."))
    if not claimed:
        raise StaleState(_("The outcome report is already signed off."))
    signals.changed(user, "trial.outcome_sign_off", trial, before, _publication(report))
    # The startup is asked to agree (a job after the commit).
    signals.outcome_publication.send(trial, actor=user, report=report)
    return report


def agree_outcome(user: User, trial: Trial) -> OutcomeReport:
    """A member of the trial's startup agrees to the signed-off outcome report being published.

    The showcase, open data and the API name the startup beside the results, so the report is
    public only with its agreement as well as the department's sign-off. It is asked once the
    department has signed the report off (the results are locked from then on, so it agrees to
    the record as signed); after the lab unpublishes a report the startup is asked again, for
    the report as put right. Of two agreements at once, one is taken (compare-and-set).
    """
    return _agree(user, trial, "agree_outcome", "")


def record_outcome_agreement(user: User, trial: Trial, note: str) -> OutcomeReport:
    """A coordinator records the startup's agreement to publish the signed-off outcome report,
    given outside the service (in writing, or by a startup with no member left to agree on the
    trial's page), saying how it was given. It counts as :func:`agree_outcome`."""
    note = _text(note)
    if not note:
        raise DomainError(_("Say how the startup agreed."), field="note")
    if len(note) > REASON_MAX:
        raise DomainError(_("Use at most %(n)d characters.", n=REASON_MAX), field="note")
    return _agree(user, trial, "record_outcome_agreement", note)


def _agree(user: User, trial: Trial, name: str, note: str) -> OutcomeReport:
    report = _report_of(user, trial, name)
    if not report.sign_off_stands:
        raise StaleState(_("The department has not signed off the outcome report yet."))
    before = _publication(report)
    claimed = execute_update(
        update(OutcomeReport)
        .where(OutcomeReport.id == report.id, OutcomeReport.startup_agreed_at.is_(None),
               OutcomeReport.sign_off_stands)
        .values(startup_agreed_at=clock.now(), startup_agreed_by_id=user.id, startup_agreement_note=note)
        .execution_options(synchronize_session=False)
    )
    db.refresh(report)
    if not claimed:
        raise StaleState(_("The startup has already agreed to publish the outcome report.") if note
                         else _("Your startup has already agreed to publish the outcome report."))
    action = "trial.outcome_agree_record" if note else "trial.outcome_agree"
    signals.changed(user, action, trial, before, _publication(report))
    signals.outcome_publication.send(trial, actor=user, report=report)
    return report


def unpublish_outcome(user: User, trial: Trial, reason: str) -> OutcomeReport:
    """Take a signed-off outcome report off the public showcase (or out of the wait for the
    startup's agreement), with the reason (coordinators)."""
    report = _report_of(user, trial, "unpublish_outcome")
    if not report.sign_off_stands:
        raise StaleState(_("The outcome report is not signed off."))
    reason = _text(reason)
    if not reason:
        raise DomainError(_("Say why the outcome report is unpublished."), field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(_("Use at most %(n)d characters.", n=REASON_MAX), field="reason")
    before = _publication(report)
    report.unpublished_at = clock.now()
    report.unpublish_reason = reason
    # The startup agreed to the report as it was: it is asked again once it is put right.
    report.startup_agreed_at = None
    report.startup_agreed_by_id = None
    report.startup_agreement_note = ""
    db.flush()
    signals.changed(user, "trial.outcome_unpublish", trial, before, _publication(report))
    # The startup and the department are told (a job after the commit).
    signals.outcome_publication.send(trial, actor=user, report=report)
    return report


#: The outcome report's written parts, in the order the report reads.
REPORT_PARTS = ("summary", "lessons", "recommendation")
#: The outcome report's text, as a correction changes it (and the audit log records it).
REPORT_TEXT = (*REPORT_PARTS, "language")


def correct_outcome_report(
    user: User, trial: Trial, text: OutcomeData | Mapping[str, Any], seen_correction: str | None = None
) -> OutcomeReport:
    """Put the outcome report's summary, lessons and recommendation right (coordinators).

    Only while no sign-off stands: before the department signs the report off, or after the lab
    unpublished it; the department then signs it off (again) and the startup agrees to the report
    as corrected. Of a correction and a sign-off at once, the one taken first stands
    (compare-and-set): a correction after the sign-off is refused; with ``seen_correction`` (the
    last correction as the coordinator's page showed it) so is one over another coordinator's
    correction made meanwhile, instead of overwriting it unread.
    """
    report = _report_of(user, trial, "correct_outcome_report")
    data = OutcomeData.coerce(text)
    chosen_language = data.language or None
    DomainErrors.raise_for(_report_text_problems(data))
    before = {f"report.{k}": getattr(report, k) for k in REPORT_TEXT}
    after = {f"report.{k}": getattr(data, k) for k in REPORT_TEXT}
    changed = {k for k in after if after[k] != before[k]}
    # The language read from the same text is not a change the coordinator made.
    if not changed or (changed == {"report.language"} and not chosen_language):
        raise DomainError(_("Change the report before saving it: it is as it was."), field="summary")
    now = clock.now()
    claimed = execute_update(
        update(OutcomeReport)
        .where(OutcomeReport.id == report.id, ~OutcomeReport.sign_off_stands, *_seen_correction(seen_correction))
        .values(summary=data.summary, lessons=data.lessons, recommendation=data.recommendation,
                language=data.language, corrected_at=now)
        .execution_options(synchronize_session=False)
    )
    if not claimed:
        db.refresh(report)
        if report.sign_off_stands:
            raise StaleState(_("The department has signed off the outcome report meanwhile; "
                               "unpublish it first to correct it."))
        raise StaleState(_("Another coordinator corrected the outcome report a moment ago. "
                           "Read their correction, then make yours."))
    if trial.decision_reason == before["report.summary"]:  # the summary was the "complete" move's reason
        trial.decision_reason = data.summary
        trial.updated_at = now
        _flush_or_stale()
    db.refresh(report)
    signals.changed(user, "trial.outcome_correct", trial, before, {**after, "report.corrected_at": now.isoformat()})
    # The department is told it can sign the report off (a job after the commit).
    signals.outcome_publication.send(trial, actor=user, report=report)
    return report


def corrections(trial: Trial) -> list[tuple[str, str, str]]:
    """What the lab changed in the outcome report's text in this round (since the trial was
    completed, or since the lab last unpublished the report), for the department to read before
    it signs off: (part, as it was, as it is) for each part that differs, in the report's order.

    The audit log keeps only the parts each correction changed, so a part's first recorded
    value in the round is its value before the round; a part no correction touched is unchanged."""
    report = trial.report
    if report is None or not report.corrected_this_round or report.sign_off_stands:
        return []
    since = report.unpublished_at or trial.completed_at
    events = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "trial", AuditEvent.entity_id == trial.id,
               AuditEvent.action == "trial.outcome_correct",
               *([AuditEvent.created_at >= since] if since is not None else []))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    )
    was: dict[str, str] = {}
    for event in events:
        recorded = event.before or {}
        for part in REPORT_PARTS:
            if part not in was and f"report.{part}" in recorded:
                was[part] = str(recorded[f"report.{part}"] or "")
    return [
        (part, was[part], getattr(report, part) or "")
        for part in REPORT_PARTS
        if part in was and was[part] != (getattr(report, part) or "")
    ]


def capability_name(trial: Trial) -> str | None:
    """The trial's capability by name as the record shows it: as it was when the department
    signed the outcome off (a later rename does not rewrite a signed record), else as it is."""
    report = trial.report
    if report is not None and report.signed_off_at is not None and report.capability_name:
        return report.capability_name
    return trial.capability.name if trial.capability is not None else None


def content_language(text: str | None, stored: str | None = None) -> str:
    """The language of user content for ``lang=""``: the stored one, else guessed from the script."""
    return stored or matcher.detect_language(text or "")


# -- queries -------------------------------------------------------------------------------


#: The outcome report's publication steps, as audited, that a trial's history shows beside its moves.
PUBLICATION_STEPS = (
    "trial.outcome_sign_off", "trial.outcome_agree", "trial.outcome_agree_record", "trial.outcome_unpublish",
    "trial.outcome_correct",
)
#: The audited value a publication step shows as its reason.
_STEP_REASONS = {
    "trial.outcome_unpublish": "report.unpublish_reason",
    "trial.outcome_agree_record": "report.startup_agreement_note",
}


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a trial's history: a move (``transition``), or a step of its outcome
    report's publication (``step``, one of :data:`PUBLICATION_STEPS`, with the reason given)."""

    at: datetime
    actor: User | None
    transition: TrialTransition | None = None
    step: str = ""
    reason: str = ""


def history(trial: Trial) -> list[HistoryEntry]:
    """The trial's moves and its outcome report's publication steps, oldest first.

    The report keeps only its latest sign-off, agreement and unpublishing; every one of them
    is in the audit log (the one record of who did what), which this reads for the trial.
    """
    events = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "trial", AuditEvent.entity_id == trial.id,
               AuditEvent.action.in_(PUBLICATION_STEPS))
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    )
    entries = [HistoryEntry(t.created_at, t.actor, transition=t) for t in trial.transitions]
    for event in events:
        reason = (event.after or {}).get(_STEP_REASONS.get(event.action, ""))
        entries.append(HistoryEntry(event.created_at, event.actor, step=event.action, reason=str(reason or "")))
    # sorted() is stable: at one instant, the moves (recorded first) stay before the steps.
    return sorted(entries, key=lambda entry: entry.at)


def department_trials_page(officer: User, page: int, size: int) -> Page[Trial]:
    """One page of the trials of the officer's department's challenges that the lab approved
    (proposals still before the lab are on each challenge's proposals page): first those
    waiting for the department (:attr:`Trial.waits_for_department`), then those in progress, then
    the rest; the last changed first within each."""
    if not getattr(officer, "is_officer", False) or officer.department_id is None:
        raise NotAllowed(_("Only department officers have a department's trials."))
    rank = case((Trial.waits_for_department, 0), (Trial.status.in_(TrialState.IN_PROGRESS), 1), else_=2)
    approved = or_(Trial.status.in_(TrialState.WENT_AHEAD), Trial.approved_at.is_not(None))
    return paginate(
        select(Trial)
        .join(Challenge, Challenge.id == Trial.challenge_id)
        .where(Challenge.department_id == officer.department_id, approved)
        .order_by(rank, Trial.updated_at.desc(), Trial.id.desc()),
        page, size,
        options=(
            selectinload(Trial.challenge), selectinload(Trial.startup), selectinload(Trial.capability),
            selectinload(Trial.report),
        ),
    )


def match_scores(pending: Iterable[Trial]) -> dict[int, float]:
    """The recommender's score of each trial's challenge and capability, by trial id (best effort)."""
    by_challenge: dict[int, list[Trial]] = {}
    for trial in pending:
        if trial.capability_id is not None:
            by_challenge.setdefault(trial.challenge_id, []).append(trial)
    if not by_challenge:
        return {}
    groups = list(by_challenge.values())
    try:
        found = recommendations.pair_scores_each([(g[0].challenge, [t.capability_id for t in g if t.capability_id is not None]) for g in groups])
    except Exception:
        log.exception("match scores failed for %d challenges", len(groups))
        return {}
    return {
        t.id: by_capability[t.capability_id]
        for group, by_capability in zip(groups, found, strict=True)
        for t in group
        if t.capability_id in by_capability
    }


