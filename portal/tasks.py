"""The jobs: what runs off the request, on the RQ worker or in-process (``portal.jobs``).

Each task is named by its dotted path (``jobs.enqueue("portal.tasks.deliver_mails", [3])``),
takes plain arguments (ids, not ORM objects), runs in its own app context and session, and
commits once at its end like a CLI command. Each is idempotent: run twice (an RQ retry, a
sweeper re-enqueueing a mail), it does its work once, and a row that is gone is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from flask import current_app

from models import (
    Capability,
    Challenge,
    ChallengeQuestion,
    Proposal,
    Startup,
    Trial,
    TrialTransition,
    User,
)
from models.vocabulary import ChallengeStatus

from . import jobs
from .database import db
from .services import mail, notifications, privacy, recommendations

log = logging.getLogger("innomatch.tasks")

#: How many mails one delivery job sends over one SMTP connection.
DELIVERY_BATCH = 50


def deliver_mails(ids: list[int]) -> dict[str, int]:
    """Deliver the outbox mails ``ids`` that are still due: claim (commit), send, record (commit)."""
    outcome = {"sent": 0, "retry": 0, "failed": 0}
    for start in range(0, len(ids), DELIVERY_BATCH):
        rows = mail.claim(ids[start:start + DELIVERY_BATCH])
        db.commit()  # the claim is stored before anything is sent: a crash now leaves a lease to sweep
        for key, value in mail.transmit(rows).items():
            outcome[key] += value
        db.commit()
    return outcome


def sweep_outbox() -> int:
    """Take back mails left sending by a dead worker; enqueue delivery of the due ones. Returns how many."""
    due = mail.sweep()
    for start in range(0, len(due), DELIVERY_BATCH):
        jobs.enqueue("portal.tasks.deliver_mails", due[start:start + DELIVERY_BATCH])
    db.commit()  # dispatches the delivery jobs
    if due:
        log.info("outbox sweep: %d mail(s) due, delivery enqueued", len(due))
    return len(due)


def housekeeping() -> dict[str, int]:
    """The daily retention jobs (the scheduler, with the digest): remove registrations nobody
    confirmed within ``UNCONFIRMED_REGISTRATION_DAYS``, and pseudonymise accounts idle beyond
    ``ACCOUNT_RETENTION_DAYS``; each is off at 0."""
    done = {"registrations_removed": 0, "name_holds_released": 0, "accounts_pseudonymised": 0}
    days = int(current_app.config.get("UNCONFIRMED_REGISTRATION_DAYS") or 0)
    if days > 0:
        done["registrations_removed"], done["name_holds_released"] = privacy.expire_unconfirmed(days)
        db.commit()
    retention = int(current_app.config.get("ACCOUNT_RETENTION_DAYS") or 0)
    if retention > 0:
        done["accounts_pseudonymised"] = len(privacy.purge_inactive(retention))
        db.commit()
    log.info("housekeeping %s", done)
    return done


def notify_challenge_opened(challenge_id: int, actor_id: int | None = None) -> int:
    """Rank the startups for a newly opened challenge and tell the best matches and the followers."""
    challenge = db.get(Challenge, challenge_id)
    if challenge is None or challenge.status != ChallengeStatus.OPEN:
        return 0  # deleted or closed again before the job ran
    actor = db.get(User, actor_id) if actor_id is not None else None
    created = notifications.notify_challenge_opened(challenge, actor)
    db.commit()  # the notifications and their emails (the outbox) together
    return len(created)


def _notified(notify: Callable[..., Sequence[object]], rows: Sequence[object | None], *more: object) -> int:
    """Run a notification trigger for ``rows`` (then ``more``) and commit its notifications and
    their outbox mails together; nothing when a row was deleted before the job ran. How many."""
    if any(row is None for row in rows):
        return 0
    created = notify(*rows, *more)
    db.commit()
    return len(created)


def _user(user_id: int | None) -> User | None:
    return db.get(User, user_id) if user_id is not None else None


def notify_challenge_changed(challenge_id: int, change: str, actor_id: int | None = None) -> int:
    """Tell a challenge's followers that it was updated or closed: the fan-out, off the request."""
    return _notified(notifications.notify_challenge_changed, [db.get(Challenge, challenge_id)], change, _user(actor_id))


def notify_answer_published(question_id: int, actor_id: int | None = None) -> int:
    """Tell a challenge's followers that an answer was published (not if it was hidden since)."""
    question = db.get(ChallengeQuestion, question_id)
    published = question if question is not None and question.published else None
    return _notified(notifications.notify_answer_published, [published], _user(actor_id))


def notify_proposal_received(proposal_id: int) -> int:
    """Tell the challenge's department officers and the coordinators about a new proposal."""
    return _notified(notifications.notify_proposal_received, [db.get(Proposal, proposal_id)])


def notify_shortlist_requested(proposal_id: int, trial_id: int, officer_id: int) -> int:
    """Tell the coordinators that a department asks them to shortlist a proposal."""
    rows = [db.get(Proposal, proposal_id), db.get(Trial, trial_id), _user(officer_id)]
    return _notified(notifications.notify_shortlist_requested, rows)


def notify_trial_moved(transition_id: int) -> int:
    """Tell a trial's startup, department and the coordinators about one of its moves."""
    transition = db.get(TrialTransition, transition_id)
    trial = db.get(Trial, transition.trial_id) if transition is not None else None
    return _notified(notifications.notify_trial_moved, [trial, transition])


def notify_outcome_publication(trial_id: int, actor_id: int) -> int:
    """Tell of a step of a trial's outcome publication (:func:`notifications.notify_outcome_publication`)."""
    return _notified(notifications.notify_outcome_publication, [db.get(Trial, trial_id), _user(actor_id)])


#: The job's name before 7 Dec 2026: jobs queued under it during a deploy still run. Remove
#: once no queue holds one (a release later).
notify_outcome_signed_off = notify_outcome_publication


def notify_question_asked(question_id: int, actor_id: int | None = None) -> int:
    """Tell the challenge's department officers that a startup asked a question."""
    return _notified(notifications.notify_question_asked, [db.get(ChallengeQuestion, question_id)], _user(actor_id))


def notify_question_answered(question_id: int, actor_id: int | None = None) -> int:
    """Tell the member who asked that the department answered."""
    return _notified(notifications.notify_question_answered, [db.get(ChallengeQuestion, question_id)], _user(actor_id))


def send_digests() -> int:
    """Email each digest user their notifications since the last digest (the scheduler, daily)."""
    if not mail.enabled():
        log.info("digest skipped: email is not configured (SMTP_HOST)")
        return 0
    sent = notifications.send_digests()
    db.commit()
    return sent


def store_evidence(
    challenge_ids: list[int] | None = None, capability_ids: list[int] | None = None, startup_ids: list[int] | None = None
) -> int:
    """Encode the sentences that explanations may quote from these saved challenges,
    capabilities and startup profiles (a capability's startup's profile too), so that no
    page view encodes them. Rows that are gone are skipped; sentences already stored are not
    encoded again."""
    challenges = [c for c in (db.get(Challenge, i) for i in challenge_ids or ()) if c is not None]
    capabilities = [c for c in (db.get(Capability, i) for i in capability_ids or ()) if c is not None]
    wanted = dict.fromkeys([*(c.startup_id for c in capabilities), *(startup_ids or ())])
    startups = [s for s in (db.get(Startup, i) for i in wanted) if s is not None]
    done = recommendations.store_evidence(challenges=challenges, capabilities=capabilities, startups=startups)
    db.commit()
    return done


def reindex_vectors(model: str | None = None) -> int:
    """Encode every challenge and capability that has no vector for ``model`` (the name
    given to ``flask jobs reindex``; default the worker's own ``MATCHER_MODEL``)."""
    done = recommendations.reindex(model=model, checkpoint=db.commit)
    db.commit()
    recommendations.clear_caches()
    log.info("re-encoded %d texts and evidence sentences with %s", done, recommendations.encoder(model).model_id)
    return done
