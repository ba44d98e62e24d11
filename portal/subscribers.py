"""Who reacts to what happened (``portal.signals``): notifications, the recommender, the audit log.

Every notification is written by a job after the commit (``portal.tasks``), never in the
request: the request that caused it renders no email and waits for no one. Without Redis the
job runs in the same process right after the commit (``portal.jobs``).

:func:`connect` runs from ``create_app``; it connects each receiver once per process, however
many apps are created (the tests create several). Receivers call the reacting service through
its module (``recommendations.capability_changed``) or a job (``portal.tasks``), looked up when the signal is sent.

=====================  ==========================================================
signal                 receivers
=====================  ==========================================================
challenge_saved        recommender: encode the challenge now (best effort, logged); its evidence
                       sentences by a job after the commit
challenge_opened       a job after the commit: rank startups, tell the matches and the followers;
                       panel: fix the evaluation criteria
challenge_updated      a job after the commit: notifications to the followers ("updated")
challenge_closed       a job after the commit: notifications to the followers ("closed")
capability_saved       recommender: encode the capability and its startup's profile; their evidence
                       sentences by a job after the commit
proposal_submitted     a job after the commit: notifications to the department's officers and coordinators
shortlist_requested    a job after the commit: notifications to the coordinators
trial_moved            a job after the commit: notifications to the startup, the department, the coordinators
outcome_publication    a job after the commit: the startup asked to agree; the lab and department told
                       once it is public; the startup and department told when it is unpublished
question_asked         a job after the commit: notifications to the challenge's department officers
question_answered      a job after the commit: notifications to the member who asked
answer_published       a job after the commit: notifications to the challenge's followers
entity_changed         audit log: one event with the change's before and after values
=====================  ==========================================================
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from models import Capability, Challenge, ChallengeQuestion, Proposal, Trial, TrialTransition, User

from . import jobs, signals
from .database import db
from .services import audit, panel, recommendations

log = logging.getLogger("innomatch.subscribers")

_lock = threading.Lock()
_connected = False


# -- the recommender ------------------------------------------------------------------------


def encode_challenge(challenge: Challenge, **_kwargs: Any) -> None:
    """Let the recommender precompute what it needs for a saved challenge.

    Best effort: a failure must not lose the officer's change, so it runs in a savepoint
    and is logged.
    """
    try:
        with db.begin_nested():
            recommendations.challenge_changed(challenge)
    except Exception:  # precomputing is an optimisation: log it, keep the officer's change
        log.exception("challenge_changed hook failed for challenge %s", challenge.id)
    jobs.enqueue("portal.tasks.store_evidence", [challenge.id], [])


def encode_capability(capability: Capability, **_kwargs: Any) -> None:
    """Tell the recommender a capability changed, so rankings include it at once."""
    recommendations.capability_changed(capability)
    jobs.enqueue("portal.tasks.store_evidence", [], [capability.id])


# -- notifications --------------------------------------------------------------------------


def notify_challenge_opened(challenge: Challenge, *, actor: User, **_kwargs: Any) -> None:
    """Rank every startup for the challenge off the request: a job once the opening commits."""
    jobs.enqueue("portal.tasks.notify_challenge_opened", challenge.id, getattr(actor, "id", None))


def notify_challenge_updated(challenge: Challenge, *, actor: User, **_kwargs: Any) -> None:
    """Tell the followers, however many, off the request: a job once the change commits."""
    jobs.enqueue("portal.tasks.notify_challenge_changed", challenge.id, "updated", getattr(actor, "id", None))


def notify_challenge_closed(challenge: Challenge, *, actor: User, **_kwargs: Any) -> None:
    jobs.enqueue("portal.tasks.notify_challenge_changed", challenge.id, "closed", getattr(actor, "id", None))


def notify_proposal_submitted(proposal: Proposal, **_kwargs: Any) -> None:
    jobs.enqueue("portal.tasks.notify_proposal_received", proposal.id)


def notify_shortlist_requested(proposal: Proposal, *, actor: User, trial: Trial, **_kwargs: Any) -> None:
    jobs.enqueue("portal.tasks.notify_shortlist_requested", proposal.id, trial.id, actor.id)


def notify_trial_moved(trial: Trial, *, transition: TrialTransition, **_kwargs: Any) -> None:
    jobs.enqueue("portal.tasks.notify_trial_moved", transition.id)


def notify_outcome_publication(trial: Trial, *, actor: User, **_kwargs: Any) -> None:
    jobs.enqueue("portal.tasks.notify_outcome_publication", trial.id, actor.id)


# -- panel scoring -------------------------------------------------------------------------


def fix_panel_criteria(challenge: Challenge, **_kwargs: Any) -> None:
    """An opened challenge publishes its evaluation criteria: the template if its officers kept it."""
    panel.fix_criteria(challenge)
def notify_question_asked(question: ChallengeQuestion, *, actor: User, **_kwargs: Any) -> None:
    jobs.enqueue("portal.tasks.notify_question_asked", question.id, getattr(actor, "id", None))


def notify_question_answered(question: ChallengeQuestion, *, actor: User, **_kwargs: Any) -> None:
    jobs.enqueue("portal.tasks.notify_question_answered", question.id, getattr(actor, "id", None))


def notify_answer_published(question: ChallengeQuestion, *, actor: User, **_kwargs: Any) -> None:
    """Tell the challenge's followers off the request: a job once the publication commits."""
    jobs.enqueue("portal.tasks.notify_answer_published", question.id, getattr(actor, "id", None))


# -- the audit log --------------------------------------------------------------------------


def write_audit_event(
    entity: Any, *, actor: User | None, action: str,
    before: dict[str, Any] | None, after: dict[str, Any] | None, **_kwargs: Any,
) -> None:
    """Record a change in the audit log, in the same transaction as the change."""
    audit.record(actor, action, entity, before, after)


#: signal -> its receivers (each signal's receivers are independent of one another).
RECEIVERS = (
    (signals.challenge_saved, encode_challenge),
    (signals.challenge_opened, notify_challenge_opened),
    (signals.challenge_opened, fix_panel_criteria),
    (signals.challenge_updated, notify_challenge_updated),
    (signals.challenge_closed, notify_challenge_closed),
    (signals.capability_saved, encode_capability),
    (signals.proposal_submitted, notify_proposal_submitted),
    (signals.shortlist_requested, notify_shortlist_requested),
    (signals.trial_moved, notify_trial_moved),
    (signals.outcome_publication, notify_outcome_publication),
    (signals.question_asked, notify_question_asked),
    (signals.question_answered, notify_question_answered),
    (signals.answer_published, notify_answer_published),
    (signals.entity_changed, write_audit_event),
)


def connect() -> None:
    """Connect every receiver to its signal, once per process (later calls do nothing)."""
    global _connected
    with _lock:
        if _connected:
            return
        for signal, receiver in RECEIVERS:
            # Module-level functions: a strong reference costs nothing and never lapses.
            signal.connect(receiver, weak=False)
        # The recommender's corpus versions: bumped by session events in each edit's transaction.
        recommendations.track_corpus_changes()
        _connected = True
