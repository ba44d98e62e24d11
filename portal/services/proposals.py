"""Proposals: a startup offers one capability for an open challenge; each opens a trial."""

from __future__ import annotations

from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import case, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from models import Capability, Challenge, Proposal, Trial, TrialTransition
from models.names import weighted_length
from models.vocabulary import ChallengeStatus, ProposalStatus, TrialState

from .. import clock, signals
from ..access import can_request_shortlist, is_member
from ..database import db
from ..errors import DomainError, NotAllowed, StaleState, require_confirmed_email
from . import audit, trials

PROPOSAL_FIELDS = ("challenge_id", "startup_id", "capability_id", "status", "pitch")
TRIAL_FIELDS = ("challenge_id", "startup_id", "capability_id", "proposal_id", "status")
PITCH_MIN = 20
PITCH_MAX = 3000
NOTE_MAX = 3000
SHORTLIST_FIELDS = ("shortlist_requested_at", "shortlist_requested_by_id", "shortlist_request_note")
# A withdrawn proposal ends its trial only while the lab has not yet decided on it.
WITHDRAWABLE_TRIAL_STATES = TrialState.OPEN
# A proposal can be changed only until the lab has looked at it (shortlisted or decided).
EDITABLE_TRIAL_STATES = (TrialState.PROPOSED,)


def closed_reason(challenge: Challenge) -> str | None:
    """Return why ``challenge`` takes no proposals now, or None if it does."""
    if challenge.status != ChallengeStatus.OPEN:
        return _("This challenge is not open for proposals.")
    if challenge.closing_on is not None and challenge.closing_on < clock.today():
        return _("This challenge closed for proposals on %(day)s.", day=format_date(challenge.closing_on))
    return None


def existing_proposal(startup_id: int, challenge_id: int) -> Proposal | None:
    """Return the startup's proposal for the challenge, if it made one."""
    return db.scalar(
        select(Proposal).where(Proposal.startup_id == startup_id, Proposal.challenge_id == challenge_id)
    )


def trial_for(challenge_id: int, startup_id: int) -> Trial | None:
    """Return the trial pairing the challenge with the startup, if there is one."""
    return db.scalar(select(Trial).where(Trial.challenge_id == challenge_id, Trial.startup_id == startup_id))


def own_capabilities(startup_id: int) -> list[Capability]:
    """Return the startup's capabilities, oldest first."""
    return list(db.scalars(select(Capability).where(Capability.startup_id == startup_id).order_by(Capability.id)))


def _already_proposed() -> DomainError:
    """Return the error for a second proposal by one startup for one challenge."""
    return DomainError(_("Your startup has already proposed for this challenge"))


def _checked_offer(startup_id: int, data: dict[str, Any]) -> tuple[Capability, str]:
    """The startup's own capability and a pitch of the right length from ``data``, or a DomainError."""
    capability_id = data.get("capability_id")
    capability = db.get(Capability, capability_id) if isinstance(capability_id, int) else None
    if capability is None or capability.startup_id != startup_id:
        raise DomainError(_("Choose one of your startup's capabilities."), field="capability_id")
    raw = data.get("pitch")
    pitch = raw.strip() if isinstance(raw, str) else ""
    if weighted_length(pitch) < PITCH_MIN or len(pitch) > PITCH_MAX:
        raise DomainError(
            _("Write a pitch of at least %(low)d characters, a Chinese character counting as three, "
              "and at most %(high)d.", low=PITCH_MIN, high=PITCH_MAX), field="pitch"
        )
    return capability, pitch


def submit_proposal(actor: Any, challenge: Challenge, data: dict[str, Any]) -> Proposal:
    """Propose one of the startup's capabilities for an open challenge and put it in the lab's queue."""
    if not getattr(actor, "is_startup", False) or actor.startup_id is None:
        raise NotAllowed(_("Only startup members can propose."))
    require_confirmed_email(
        actor, _("Confirm your email address before you propose: follow the link we emailed you, or ask for a new one.")
    )
    startup_id = actor.startup_id
    reason = closed_reason(challenge)
    if reason:
        raise DomainError(reason)
    if existing_proposal(startup_id, challenge.id) is not None:
        raise _already_proposed()
    capability, pitch = _checked_offer(startup_id, data)

    proposal = Proposal(
        challenge_id=challenge.id,
        startup_id=startup_id,
        capability_id=capability.id,
        submitted_by_id=actor.id,
        pitch=pitch,
        status=ProposalStatus.SUBMITTED,
    )
    db.add(proposal)
    try:
        db.flush()  # the unique constraint settles a race between two members of one startup
    except IntegrityError as exc:
        raise _already_proposed() from exc
    signals.changed(actor, "proposal.create", proposal, after=audit.snapshot(proposal, PROPOSAL_FIELDS))

    trial = trial_for(challenge.id, startup_id)
    if trial is None:
        trial = Trial(
            challenge_id=challenge.id,
            startup_id=startup_id,
            capability_id=capability.id,
            proposal_id=proposal.id,
            status=TrialState.PROPOSED,
        )
        trial.transitions.append(
            TrialTransition(from_state=None, to_state=TrialState.PROPOSED, actor_id=actor.id, reason="proposal submitted")
        )
        db.add(trial)
        try:
            db.flush()
        except IntegrityError as exc:  # the lab opened a trial for this pair at the same moment
            raise _already_proposed() from exc
        signals.changed(actor, "trial.create", trial, after=audit.snapshot(trial, TRIAL_FIELDS))
    else:
        # The lab already paired them (e.g. from a match): attach the proposal to that trial.
        before = audit.snapshot(trial, TRIAL_FIELDS)
        trial.proposal_id = proposal.id
        if trial.capability_id is None:
            trial.capability_id = capability.id
        try:
            db.flush()
        except StaleDataError as exc:
            raise StaleState(_("The trial changed while you were proposing. Please try again.")) from exc
        signals.changed(actor, "trial.update", trial, before, audit.snapshot(trial, TRIAL_FIELDS))

    signals.proposal_submitted.send(proposal, actor=actor, trial=trial)
    return proposal


def withdraw_proposal(actor: Any, proposal: Proposal) -> Proposal:
    """Withdraw a startup's proposal; its undecided trial ends too; refused once the trial went ahead."""
    if not is_member(actor, proposal.startup_id):
        raise NotAllowed(_("Only members of this startup can withdraw its proposals."))
    trial = trial_for(proposal.challenge_id, proposal.startup_id)
    reason = withdraw_refusal(proposal, trial)
    if reason is not None:
        raise DomainError(reason)
    if trial is not None and trial.status in WITHDRAWABLE_TRIAL_STATES:
        # Through the state machine, so the move is checked, versioned, audited and notified;
        # withdrawing the trial withdraws this proposal with it.
        trial.proposal_id = trial.proposal_id or proposal.id
        trials.move_trial(actor, trial, "withdraw", "proposal withdrawn")
        if proposal.status == ProposalStatus.WITHDRAWN:
            return proposal
    before = audit.snapshot(proposal, PROPOSAL_FIELDS)
    proposal.status = ProposalStatus.WITHDRAWN
    db.flush()
    signals.changed(actor, "proposal.withdraw", proposal, before, audit.snapshot(proposal, PROPOSAL_FIELDS))
    return proposal


def withdraw_refusal(proposal: Proposal, trial: Trial | None) -> str | None:
    """Why the startup may no longer withdraw ``proposal`` (its ``trial``, if any), or None."""
    if proposal.status == ProposalStatus.WITHDRAWN:
        return _("This proposal has already been withdrawn.")
    if trial is not None and trial.status in TrialState.WENT_AHEAD:
        # The proposal is the trial's record (and the showcase's): it stays as it was approved.
        return _("This proposal led to a trial that went ahead, so it can no longer be withdrawn. "
                 "To stop the trial, contact the lab coordinator.")
    if trial is not None and trial.status == TrialState.REJECTED:
        # The lab's decision is the record: a withdrawal after it would hide it.
        return _("The lab has already decided on this proposal, so it can no longer be withdrawn.")
    return None


def withdrawable(proposal: Proposal, trial: Trial | None) -> bool:
    """Whether the startup may still withdraw ``proposal``: sent, and the lab has not decided
    on its trial (if any) either way (:func:`withdraw_proposal` refuses otherwise)."""
    return withdraw_refusal(proposal, trial) is None


def editable(proposal: Proposal, trial: Trial | None) -> bool:
    """Whether the startup may still change ``proposal``: the lab has not started reviewing it."""
    return proposal.status == ProposalStatus.SUBMITTED and (trial is None or trial.status in EDITABLE_TRIAL_STATES)


def update_proposal(actor: Any, proposal: Proposal, data: dict[str, Any]) -> Proposal:
    """Change a proposal's pitch and capability until the lab reviews it (its trial is still proposed)."""
    if not is_member(actor, proposal.startup_id):
        raise NotAllowed(_("Only members of this startup can change its proposals."))
    trial = trial_for(proposal.challenge_id, proposal.startup_id)
    if proposal.status == ProposalStatus.WITHDRAWN:
        raise StaleState(_("You withdrew this proposal, so it can no longer be changed."))
    if not editable(proposal, trial):
        raise StaleState(_("The lab has started reviewing this proposal, so it can no longer be changed."))
    capability, pitch = _checked_offer(proposal.startup_id, data)
    before = audit.snapshot(proposal, PROPOSAL_FIELDS)
    proposal.capability_id = capability.id
    proposal.pitch = pitch
    if trial is not None and trial.proposal_id == proposal.id:
        trial_before = audit.snapshot(trial, TRIAL_FIELDS)
        trial.capability_id = capability.id
        try:
            db.flush()
        except StaleDataError as exc:
            raise StaleState(_("The trial changed while you were editing. Please try again.")) from exc
        signals.changed(actor, "trial.update", trial, trial_before, audit.snapshot(trial, TRIAL_FIELDS))
    db.flush()
    signals.changed(actor, "proposal.update", proposal, before, audit.snapshot(proposal, PROPOSAL_FIELDS))
    return proposal


def request_shortlist(actor: Any, proposal: Proposal, note: str) -> Proposal:
    """Ask the lab's coordinators to shortlist a proposal for one of the officer's challenges, with a note."""
    if not can_request_shortlist(actor, proposal.challenge):
        raise NotAllowed(_("Only officers of the challenge's department can ask the lab to shortlist a proposal."))
    note = note.strip() if isinstance(note, str) else ""
    if not note:
        raise DomainError(_("Tell the lab why this proposal should be shortlisted."), field="note")
    if len(note) > NOTE_MAX:
        raise DomainError(_("Use at most %(n)d characters.", n=NOTE_MAX), field="note")
    trial = trial_for(proposal.challenge_id, proposal.startup_id)
    if proposal.status != ProposalStatus.SUBMITTED or trial is None:
        raise StaleState(_("This proposal has been withdrawn."))
    if trial.status != TrialState.PROPOSED:
        raise StaleState(_("The lab has already decided on this proposal (it is %(state)s).",
                           state=trials.state_label(trial.status)))
    if proposal.shortlist_requested_at is not None:
        raise StaleState(_("Your department has already asked the lab to shortlist this proposal."))
    before = audit.snapshot(proposal, SHORTLIST_FIELDS)
    proposal.shortlist_requested_at = clock.now()
    proposal.shortlist_requested_by_id = actor.id
    proposal.shortlist_request_note = note
    db.flush()
    signals.changed(actor, "proposal.shortlist_request", proposal, before, audit.snapshot(proposal, SHORTLIST_FIELDS))
    signals.shortlist_requested.send(proposal, actor=actor, trial=trial)
    return proposal


def trials_for_startup(startup_id: int) -> list[Trial]:
    """Return the startup's trials, in progress first, then newest first, with their challenges:
    those the lab approved (a proposal still waiting for, or refused by, the lab is on "Our
    proposals"; an approved trial the startup declined stays here)."""
    from_progress = case((Trial.status.in_(TrialState.IN_PROGRESS), 0), else_=1)
    approved = or_(Trial.status.in_(TrialState.WENT_AHEAD), Trial.approved_at.is_not(None))
    return list(db.scalars(
        select(Trial).where(Trial.startup_id == startup_id, approved)
        .options(selectinload(Trial.challenge), selectinload(Trial.capability), selectinload(Trial.report))
        .order_by(from_progress, Trial.updated_at.desc(), Trial.id.desc())
    ))


def proposals_for_startup(startup_id: int) -> list[tuple[Proposal, Trial | None]]:
    """Return the startup's proposals, newest first, each with its trial."""
    rows = db.execute(
        select(Proposal, Trial)
        .outerjoin(Trial, (Trial.challenge_id == Proposal.challenge_id) & (Trial.startup_id == Proposal.startup_id))
        .where(Proposal.startup_id == startup_id)
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
    ).all()
    return [(proposal, trial) for proposal, trial in rows]
