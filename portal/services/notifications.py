"""Notifications: in-app messages, immediate emails, the daily digest, and challenge follows.

A notification stores its kind and parameters, not text: it is worded when shown, in the
reader's language (the page's locale, or the recipient's own locale for an email). Users
choose ``immediate`` emails, a daily ``digest`` or ``none`` (in-app only). Emails are written
to the outbox in the same transaction and delivered by a job after the commit (see
``services.mail``). The digest is sent daily by the scheduler (``flask jobs scheduler``).

Triggers, called by ``portal.subscribers`` when a service announces the change
(``portal.signals``), or directly:

* ``notify_challenge_opened(challenge, actor)``: startups the recommender ranks highly
  (score >= ``NOTIFY_MATCH_THRESHOLD``) and the challenge's followers; run as a job after the
  opening commits (``portal.tasks.notify_challenge_opened``), so the officer waits for no ranking;
* ``notify_challenge_changed(challenge, change, actor)``: followers, on "updated"/"closed";
* ``notify_proposal_received(proposal)``: the department's officers and the coordinators;
* ``notify_shortlist_requested(proposal, trial, officer)``: the coordinators;
* ``notify_trial_moved(trial, transition)``: the startup, the department, the coordinators;
* ``notify_outcome_publication(trial, actor)``: the startup's members, asked to agree to a signed-off
  outcome's publication; the coordinators and the department once it is public; the startup and the
  department when the lab unpublishes it; the department when the lab corrects it;
* ``notify_solution_interest(officer, trial)``: coordinators, from the public showcase;
* ``notify_question_asked(question, actor)``: the challenge's department officers;
* ``notify_question_answered(question, actor)``: the member who asked (published or not);
* ``notify_answer_published(question, actor)``: the challenge's followers (never named the asker).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from models import (
    Challenge,
    ChallengeFollow,
    ChallengeQuestion,
    Notification,
    Proposal,
    Trial,
    TrialTransition,
    User,
)
from models.vocabulary import (
    NOTIFICATION_PREFS,
    ROLE_COORDINATOR,
    ROLE_OFFICER,
    ROLE_STARTUP,
    ChallengeStatus,
    NotificationPref,
    TrialOutcome,
    TrialState,
)

from .. import clock, signals
from ..access import can_view_challenge
from ..database import db, execute_update
from ..errors import DomainError, NotAllowed
from ..extensions import formatting_locale
from . import audit, mail, recommendations
from . import trials as trial_service
from .paging import Page, paginate

log = logging.getLogger("innomatch.notifications")

KIND_CHALLENGE_MATCH = "challenge_match"
KIND_CHALLENGE_CHANGED = "challenge_changed"
KIND_PROPOSAL_RECEIVED = "proposal_received"
KIND_TRIAL_MOVED = "trial_moved"
KIND_SOLUTION_INTEREST = "solution_interest"
KIND_SHORTLIST_REQUESTED = "shortlist_requested"
KIND_OUTCOME_SIGNED_OFF = "outcome_signed_off"
KIND_OUTCOME_AGREEMENT = "outcome_agreement"
KIND_OUTCOME_UNPUBLISHED = "outcome_unpublished"
KIND_OUTCOME_AGREEMENT_RECORDED = "outcome_agreement_recorded"
KIND_OUTCOME_CORRECTED = "outcome_corrected"
KIND_QUESTION_ASKED = "question_asked"
KIND_QUESTION_ANSWERED = "question_answered"
KIND_ANSWER_PUBLISHED = "answer_published"
CHALLENGE_CHANGES = ("opened", "updated", "closed")

#: Default lowest recommender score that tells a startup about a newly opened challenge.
#: 0.70 on the z-score fusion of the default preset: on the real cases' tune split as many
#: challenge-startup pairs reach it (706 of 17072) as reached 0.35 under the min-max fusion
#: it replaced.  Scores are relative to the ranked pool (0.5 is its average candidate), so
#: a corpus of only a handful of startups reaches it more rarely.
DEFAULT_MATCH_THRESHOLD = 0.70
#: How many ranked startups ``notify_challenge_opened`` considers.
MATCH_LIMIT = 10
SUBJECT_MAX = 120


# -- wording ----------------------------------------------------------------------------


def _zh() -> bool:
    return str(get_locale() or "en").startswith("zh")


def _moved(p: dict[str, Any]) -> str:
    """What a trial's move means, in words: before approval it is a proposal the lab decides on,
    after it a trial. Notifications stored before the move was recorded read the generic line."""
    before, after, move = p.get("from_state"), p.get("to_state"), p.get("move")
    if move == "accept":
        return _("%(startup)s accepted the trial for %(challenge)s.")
    if move == "confirm":
        return _("The department confirmed it takes part in the trial of %(startup)s for %(challenge)s.")
    if not before or before == after:
        return _("The trial of %(startup)s for %(challenge)s was updated (%(state)s).")
    proposal_stage = before in TrialState.OPEN
    if after == TrialState.SHORTLISTED:
        return _("The lab shortlisted the proposal of %(startup)s for %(challenge)s.")
    if after == TrialState.REJECTED:
        return _("The lab did not take forward the proposal of %(startup)s for %(challenge)s.")
    if after == TrialState.WITHDRAWN and proposal_stage:
        return _("%(startup)s withdrew its proposal for %(challenge)s.")
    if after == TrialState.WITHDRAWN:
        return _("%(startup)s declined the trial for %(challenge)s.")
    if after == TrialState.APPROVED:
        return _("The lab approved a trial of %(startup)s for %(challenge)s.")
    if after == TrialState.RUNNING:
        return _("The trial of %(startup)s for %(challenge)s has started.")
    if after == TrialState.COMPLETED:
        return _("The trial of %(startup)s for %(challenge)s is complete: %(state)s.")
    return _("The trial of %(startup)s for %(challenge)s is now %(state)s.")


def _parts(kind: str, p: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, str]]:
    """(translated template, parameters, language of each parameter that is user content)."""
    challenge = {"challenge": p.get("challenge_title", "")}
    challenge_lang = {"challenge": p.get("challenge_lang") or "en"}
    startup = {"startup": p.get("startup_name", "")}
    startup_lang = {"startup": p.get("startup_lang") or "en"}
    if kind == KIND_CHALLENGE_MATCH:
        return _("A new challenge matches your startup: %(challenge)s"), challenge, challenge_lang
    if kind == KIND_CHALLENGE_CHANGED:
        change = p.get("change")
        if change == "opened":
            template = _("A challenge you follow is open for proposals: %(challenge)s")
        elif change == "closed":
            template = _("A challenge you follow has closed to proposals: %(challenge)s")
        else:
            template = _("A challenge you follow was updated: %(challenge)s")
        return template, challenge, challenge_lang
    if kind == KIND_PROPOSAL_RECEIVED:
        return (
            _("%(startup)s sent a proposal for %(challenge)s"),
            {**startup, **challenge},
            {**startup_lang, **challenge_lang},
        )
    if kind == KIND_TRIAL_MOVED:
        state = trial_service.state_label(p.get("to_state", ""))
        outcome = p.get("outcome")
        if p.get("to_state") == TrialState.COMPLETED and outcome in trial_service.OUTCOME_LABELS:
            state = str(trial_service.OUTCOME_LABELS[outcome])
        return _moved(p), {**startup, **challenge, "state": state}, {**startup_lang, **challenge_lang}
    if kind == KIND_SHORTLIST_REQUESTED:
        return (
            _("The department asks the lab to shortlist %(startup)s for %(challenge)s."),
            {**startup, **challenge},
            {**startup_lang, **challenge_lang},
        )
    if kind == KIND_OUTCOME_SIGNED_OFF:
        return (
            _("The department signed off the outcome of %(startup)s for %(challenge)s: it is on the showcase."),
            {**startup, **challenge},
            {**startup_lang, **challenge_lang},
        )
    if kind == KIND_OUTCOME_AGREEMENT:
        return (
            _("The department signed off the outcome of your trial for %(challenge)s. "
              "It is published on the showcase once your startup agrees: see the trial's page."),
            challenge, challenge_lang,
        )
    if kind == KIND_OUTCOME_AGREEMENT_RECORDED:
        return (
            _("The lab recorded your startup's agreement, and the outcome of your trial for %(challenge)s "
              "is published on the showcase: see the trial's page."),
            challenge, challenge_lang,
        )
    if kind == KIND_OUTCOME_UNPUBLISHED:
        return (
            _("The lab unpublished the outcome report of the trial of %(startup)s for %(challenge)s "
              "to put it right: see the trial's page."),
            {**startup, **challenge},
            {**startup_lang, **challenge_lang},
        )
    if kind == KIND_OUTCOME_CORRECTED:
        return (
            _("The lab corrected the outcome report of the trial of %(startup)s for %(challenge)s: "
              "read it and sign it off on the trial's page."),
            {**startup, **challenge},
            {**startup_lang, **challenge_lang},
        )
    if kind == KIND_QUESTION_ASKED:
        return _("A startup asked a question on your challenge %(challenge)s"), challenge, challenge_lang
    if kind == KIND_QUESTION_ANSWERED:
        return _("The department answered your question on %(challenge)s"), challenge, challenge_lang
    if kind == KIND_ANSWER_PUBLISHED:
        return (
            _("A new answer was published on a challenge you follow: %(challenge)s"),
            challenge, challenge_lang,
        )
    if kind == KIND_SOLUTION_INTEREST:
        department = p.get("department_zh") if _zh() and p.get("department_zh") else p.get("department_en", "")
        return (
            _("%(department)s would like to reuse the solution of %(startup)s from %(challenge)s."),
            {"department": department, **startup, **challenge},
            {**startup_lang, **challenge_lang},
        )
    return _("You have a new notification."), {}, {}


def message_text(notification: Notification) -> str:
    """The notification worded in the current locale, as plain text."""
    template, params, _langs = _parts(notification.kind, notification.payload or {})
    return template % params if params else template


def message_html(notification: Notification) -> Markup:
    """The notification worded in the current locale, user content wrapped in ``lang`` spans."""
    template, params, langs = _parts(notification.kind, notification.payload or {})
    values: dict[str, Any] = {}
    for name, value in params.items():
        if name in langs:
            values[name] = Markup('<span lang="{}">{}</span>').format(langs[name], value)
        else:
            values[name] = value
    safe_template = escape(template)  # the translation is trusted text, but escape it anyway
    return safe_template % values if values else safe_template


# -- links --------------------------------------------------------------------------------


def path_for(endpoint: str, **values: Any) -> str:
    """The site-relative URL of ``endpoint``, inside or outside a request."""
    if has_request_context():
        return url_for(endpoint, **values)
    root = current_app.config.get("APPLICATION_ROOT") or "/"
    return current_app.url_map.bind("localhost", script_name=root).build(endpoint, values)


def _trial_path(trial: Trial) -> str:
    return path_for("trials.detail", trial_id=trial.id)


def _challenge_path(challenge: Challenge) -> str:
    return path_for("challenges.detail", challenge_id=challenge.id)


def _challenge_payload(challenge: Challenge) -> dict[str, Any]:
    return {"challenge_id": challenge.id, "challenge_title": challenge.title, "challenge_lang": challenge.language}


def _startup_payload(trial_or_proposal: Trial | Proposal) -> dict[str, Any]:
    startup = trial_or_proposal.startup
    return {"startup_id": startup.id, "startup_name": startup.name, "startup_lang": startup.language}


# -- recipients -----------------------------------------------------------------------------


def _active(*conditions: Any) -> list[User]:
    return list(db.scalars(select(User).where(User.is_active.is_(True), *conditions).order_by(User.id)))


def coordinators() -> list[User]:
    """The lab's active coordinators."""
    return _active(User.role == ROLE_COORDINATOR)


def department_officers(department_id: int) -> list[User]:
    """The active officers of one department."""
    return _active(User.role == ROLE_OFFICER, User.department_id == department_id)


def startup_members(startup_ids: Iterable[int]) -> list[User]:
    """The active members of the given startups."""
    ids = list(set(startup_ids))
    return _active(User.role == ROLE_STARTUP, User.startup_id.in_(ids)) if ids else []


def followers(challenge: Challenge) -> list[User]:
    """The active users following ``challenge`` who may still see it."""
    users = _active(User.id.in_(select(ChallengeFollow.user_id).where(ChallengeFollow.challenge_id == challenge.id)))
    return [u for u in users if can_view_challenge(u, challenge)]


# -- delivery ---------------------------------------------------------------------------------


def _email_language(locale: str) -> str:
    return mail.email_language(locale)


def _subject(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 1].rstrip() + "…"


@contextmanager
def _one_recipient(user: User, what: str) -> Iterator[None]:
    """Log and skip an email that cannot be built or queued for ``user``.

    One recipient's bad data (say, a name stored before forms refused line breaks) must
    not fail the change that caused the mail, nor the emails to everyone else. Database
    errors still propagate: they leave the transaction unusable.
    """
    try:
        yield
    except SQLAlchemyError:
        raise
    except Exception:  # any failure of one message: logged with its traceback
        log.exception("%s email to user=%s not queued", what, user.id)


def _queue_immediate(user: User, notification: Notification) -> None:
    """Word the notification in the recipient's language and queue the email (or log why not)."""
    with _one_recipient(user, "notification"), force_locale(formatting_locale(user.locale or "en")):
        text = message_text(notification)
        subject = _("InnoMatch: %(message)s", message=_subject(text))
        body = render_template(
            "email/notification.txt",
            user=user,
            text=text,
            url=mail.absolute(notification.link or "/"),
            settings_url=mail.absolute(path_for("notifications.preferences")),
        )
        message = mail.build_message(
            user.display_name, user.email, subject, body, _email_language(user.locale or "en")
        )
        if mail.queue(message, about=notification):
            notification.emailed_at = clock.now()


def deliver(
    users: Iterable[User], kind: str, payload: dict[str, Any], link: str, *, exclude: Iterable[int | None] = ()
) -> list[Notification]:
    """Create one notification per user (once each, never for ``exclude``); email the immediate ones."""
    seen = {uid for uid in exclude if uid is not None}
    created: list[tuple[User, Notification]] = []
    for user in users:
        if user.id in seen or not user.is_active:
            continue
        seen.add(user.id)
        notification = Notification(user_id=user.id, kind=kind, payload=dict(payload), link=link)
        db.add(notification)
        created.append((user, notification))
    if not created:
        return []
    db.flush()
    if mail.enabled():
        for user, notification in created:
            if user.notify == NotificationPref.IMMEDIATE and user.email:
                _queue_immediate(user, notification)
        db.flush()
    return [n for _user, n in created]


# -- triggers ---------------------------------------------------------------------------------


def match_threshold() -> float:
    """The lowest recommender score that tells a startup about a new challenge."""
    return float(current_app.config.get("NOTIFY_MATCH_THRESHOLD", DEFAULT_MATCH_THRESHOLD))


def notify_challenge_opened(challenge: Challenge, actor: User | None = None) -> list[Notification]:
    """Tell highly ranked startups and the followers that ``challenge`` is open for proposals."""
    if challenge.status != ChallengeStatus.OPEN:
        return []
    link = _challenge_path(challenge)
    payload = _challenge_payload(challenge)
    try:
        with db.begin_nested():  # a failure leaves no half-written embedding rows behind
            # Only the scores are sent: no key terms or sentence pairs to explain them.
            ranked = recommendations.recommend_startups(challenge, None, limit=MATCH_LIMIT, explain=False)
    except Exception:
        log.exception("ranking startups for challenge %s failed; no match notifications", challenge.id)
        ranked = []
    threshold = match_threshold()
    scores = {r.startup.id: r.score for r in ranked if r.startup is not None and r.score >= threshold}
    already = set(
        db.scalars(
            select(Notification.user_id).where(
                Notification.kind == KIND_CHALLENGE_MATCH, Notification.link == link
            )
        )
    )
    members = [u for u in startup_members(scores) if u.id not in already]
    created = []
    for member in members:
        if member.startup_id is None:  # startup_members returns members of the scored startups
            continue
        score = round(float(scores[member.startup_id]), 3)
        created += deliver([member], KIND_CHALLENGE_MATCH, {**payload, "score": score}, link,
                           exclude=[getattr(actor, "id", None)])
    told = {n.user_id for n in created} | {getattr(actor, "id", None)}
    created += deliver(followers(challenge), KIND_CHALLENGE_CHANGED, {**payload, "change": "opened"}, link,
                       exclude=told)
    return created


def notify_challenge_changed(challenge: Challenge, change: str, actor: User | None = None) -> list[Notification]:
    """Tell the followers of ``challenge`` that it was updated, closed or reopened."""
    if change not in CHALLENGE_CHANGES:
        raise ValueError(f"unknown challenge change {change!r}")
    payload = {**_challenge_payload(challenge), "change": change}
    return deliver(followers(challenge), KIND_CHALLENGE_CHANGED, payload, _challenge_path(challenge),
                   exclude=[getattr(actor, "id", None)])


def notify_proposal_received(proposal: Proposal) -> list[Notification]:
    """Tell the challenge's department officers and the coordinators about a new proposal."""
    challenge = proposal.challenge
    trial = db.scalar(
        select(Trial).where(Trial.challenge_id == proposal.challenge_id, Trial.startup_id == proposal.startup_id)
    )
    link = _trial_path(trial) if trial is not None else _challenge_path(challenge)
    payload = {**_challenge_payload(challenge), **_startup_payload(proposal), "proposal_id": proposal.id,
               "trial_id": trial.id if trial is not None else None}
    recipients = department_officers(challenge.department_id) + coordinators()
    return deliver(recipients, KIND_PROPOSAL_RECEIVED, payload, link, exclude=[proposal.submitted_by_id])


def notify_shortlist_requested(proposal: Proposal, trial: Trial, officer: User) -> list[Notification]:
    """Tell the coordinators that the challenge's department asks them to shortlist a proposal."""
    payload = {
        **_challenge_payload(proposal.challenge),
        **_startup_payload(proposal),
        "proposal_id": proposal.id,
        "trial_id": trial.id,
        "officer_id": officer.id,
    }
    return deliver(coordinators(), KIND_SHORTLIST_REQUESTED, payload, _trial_path(trial), exclude=[officer.id])


def notify_outcome_publication(trial: Trial, actor: User) -> list[Notification]:
    """After a step of the outcome report's publication: while it waits for the startup's
    agreement, ask the startup's members for it; once it is public, tell the coordinators and
    the department; once the lab has unpublished it, tell the startup and the department (and
    mark read the requests to agree that no longer stand); once the lab has corrected it, ask
    the department to sign it off."""
    payload = {
        **_challenge_payload(trial.challenge),
        **_startup_payload(trial),
        "trial_id": trial.id,
        "actor_id": actor.id,
    }
    # The job runs after the commit and reads the report as it is then: it may have been
    # published, or unpublished, since; each state is told once (two jobs may see the same one).
    report, link = trial.report, _trial_path(trial)
    if report is None:
        return []
    if report.sign_off_stands and report.signed_off_at is not None:
        _mark_read(KIND_OUTCOME_CORRECTED, link, report.signed_off_at)  # signed off: nothing left to do
    if report.published and report.startup_agreed_at is not None:
        if _sent_since(KIND_OUTCOME_SIGNED_OFF, link, report.startup_agreed_at):
            return []
        # The lab, and the department whose sign-off it was (its part is done); the startup too,
        # in words of its own, when the lab recorded an agreement it gave outside the service.
        told = {u.id: u for u in [*coordinators(), *department_officers(trial.challenge.department_id)]}
        told_of = deliver(list(told.values()), KIND_OUTCOME_SIGNED_OFF, payload, link, exclude=[actor.id])
        if report.startup_agreement_note:
            told_of += deliver(startup_members([trial.startup_id]), KIND_OUTCOME_AGREEMENT_RECORDED, payload, link,
                               exclude=[actor.id])
        return told_of
    if report.awaiting_startup and report.signed_off_at is not None:
        if _sent_since(KIND_OUTCOME_AGREEMENT, link, report.signed_off_at):
            return []
        return deliver(startup_members([trial.startup_id]), KIND_OUTCOME_AGREEMENT, payload, link,
                       exclude=[actor.id])
    sent: list[Notification] = []
    if report.unpublished_at is not None:
        _mark_read(KIND_OUTCOME_AGREEMENT, link, report.unpublished_at)
        if not _sent_since(KIND_OUTCOME_UNPUBLISHED, link, report.unpublished_at):
            recipients = startup_members([trial.startup_id]) + department_officers(trial.challenge.department_id)
            sent += deliver(recipients, KIND_OUTCOME_UNPUBLISHED, payload, link, exclude=[actor.id])
    # Corrected by the lab since it was completed or unpublished: the department is told once
    # in each round that its sign-off is wanted on the report as corrected.
    since = report.unpublished_at or trial.completed_at
    if report.corrected_this_round and since is not None and not _sent_since(KIND_OUTCOME_CORRECTED, link, since):
        sent += deliver(department_officers(trial.challenge.department_id), KIND_OUTCOME_CORRECTED, payload, link,
                        exclude=[actor.id])
    return sent


def _mark_read(kind: str, link: str, until: datetime) -> None:
    """Mark read the notifications of ``kind`` about ``link`` made up to ``until``: what they
    asked for no longer stands."""
    db.execute(
        update(Notification)
        .where(Notification.kind == kind, Notification.link == link,
               Notification.read_at.is_(None), Notification.created_at <= until)
        .values(read_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def _sent_since(kind: str, link: str, moment: datetime) -> bool:
    """Whether a notification of ``kind`` about ``link`` was made at or after ``moment``."""
    return db.scalar(
        select(Notification.id).where(Notification.kind == kind, Notification.link == link,
                                      Notification.created_at >= moment).limit(1)
    ) is not None


def notify_trial_moved(trial: Trial, transition: TrialTransition) -> list[Notification]:
    """Tell the startup's members, the department's officers and the coordinators (not the actor)."""
    payload = {
        **_challenge_payload(trial.challenge),
        **_startup_payload(trial),
        "trial_id": trial.id,
        "from_state": transition.from_state,
        "to_state": transition.to_state,
        "outcome": trial.outcome,
    }
    actor = transition.actor
    if transition.from_state == transition.to_state == TrialState.APPROVED and actor is not None:
        # The two answers to an approved trial leave its state as it was: say which was given.
        payload["move"] = "accept" if actor.is_startup else "confirm" if actor.is_officer else None
    recipients = (
        startup_members([trial.startup_id]) + department_officers(trial.challenge.department_id) + coordinators()
    )
    return deliver(recipients, KIND_TRIAL_MOVED, payload, _trial_path(trial), exclude=[transition.actor_id])


def notify_question_asked(question: ChallengeQuestion, actor: User | None = None) -> list[Notification]:
    """Tell the challenge's department officers that a startup asked a question (not who)."""
    challenge = question.challenge
    payload = {**_challenge_payload(challenge), "question_id": question.id}
    link = path_for("challenges.questions_received", challenge_id=challenge.id, _anchor=f"question-{question.id}")
    return deliver(department_officers(challenge.department_id), KIND_QUESTION_ASKED, payload, link,
                   exclude=[getattr(actor, "id", None)])


def notify_question_answered(question: ChallengeQuestion, actor: User | None = None) -> list[Notification]:
    """Tell the member who asked (or, if that account is gone, the startup's members) that the
    department answered, whether or not the answer is published."""
    challenge = question.challenge
    asker = db.get(User, question.asked_by_id) if question.asked_by_id is not None else None
    if asker is not None and asker.is_active and asker.startup_id == question.startup_id:
        recipients = [asker]
    else:
        recipients = startup_members([question.startup_id]) if question.startup_id is not None else []
    payload = {**_challenge_payload(challenge), "question_id": question.id}
    link = path_for("challenges.detail", challenge_id=challenge.id, _anchor="your-questions")
    return deliver(recipients, KIND_QUESTION_ANSWERED, payload, link, exclude=[getattr(actor, "id", None)])


def notify_answer_published(question: ChallengeQuestion, actor: User | None = None) -> list[Notification]:
    """Tell the challenge's followers that an answer was published (the asker heard already)."""
    challenge = question.challenge
    payload = {**_challenge_payload(challenge), "question_id": question.id}
    link = path_for("challenges.detail", challenge_id=challenge.id, _anchor=f"answer-{question.id}")
    return deliver(followers(challenge), KIND_ANSWER_PUBLISHED, payload, link,
                   exclude=[getattr(actor, "id", None), question.asked_by_id])


def interested_trial_ids(officer: Any) -> set[int]:
    """Trials whose reuse the officer's department has already asked the lab about."""
    if not getattr(officer, "is_authenticated", False) or not getattr(officer, "is_officer", False):
        return set()
    payloads = db.scalars(select(Notification.payload).where(Notification.kind == KIND_SOLUTION_INTEREST))
    return {
        int(p["trial_id"]) for p in payloads
        if p and p.get("department_id") == officer.department_id and p.get("trial_id") is not None
    }


def notify_solution_interest(officer: User, trial: Trial) -> list[Notification]:
    """Tell the coordinators that the officer's department would like to reuse an adopted solution."""
    if not getattr(officer, "is_officer", False) or officer.department is None:
        raise NotAllowed(_("Only department officers can ask to reuse a solution."))
    if trial.status != TrialState.COMPLETED or trial.outcome != TrialOutcome.ADOPTED:
        raise DomainError(_("Only adopted solutions can be reused."))
    if officer.department_id == trial.challenge.department_id:
        raise DomainError(_("Your department ran this trial."))
    if trial.id in interested_trial_ids(officer):
        raise DomainError(_("Your department has already told the lab it is interested in this solution."))
    department = officer.department
    payload = {
        **_challenge_payload(trial.challenge),
        **_startup_payload(trial),
        "trial_id": trial.id,
        "department_id": department.id,
        "department_en": department.name_en,
        "department_zh": department.name_zh,
        "officer_id": officer.id,
        "officer_name": officer.display_name,
    }
    created = deliver(coordinators(), KIND_SOLUTION_INTEREST, payload, _trial_path(trial), exclude=[officer.id])
    signals.changed(officer, "trial.reuse_interest", trial, after={"department_id": department.id})
    return created


# -- following ------------------------------------------------------------------------------


def is_following(user: Any, challenge: Challenge) -> bool:
    """Whether ``user`` follows ``challenge``."""
    if not getattr(user, "is_authenticated", False):
        return False
    return db.get(ChallengeFollow, (user.id, challenge.id)) is not None


def follow_challenge(user: User, challenge: Challenge) -> ChallengeFollow:
    """Follow a challenge the user may see, to hear about its changes (idempotent)."""
    if not getattr(user, "is_authenticated", False) or not can_view_challenge(user, challenge):
        raise NotAllowed(_("You cannot follow this challenge."))
    existing = db.get(ChallengeFollow, (user.id, challenge.id))
    if existing is not None:
        return existing
    follow = ChallengeFollow(user_id=user.id, challenge_id=challenge.id)
    try:
        with db.begin_nested():  # a double click racing itself only keeps one row
            db.add(follow)
    except IntegrityError:
        follow = db.get(ChallengeFollow, (user.id, challenge.id))  # type: ignore[assignment]  # the row that won the race exists
    return follow


def unfollow_challenge(user: User, challenge: Challenge) -> None:
    """Stop following a challenge (idempotent)."""
    existing = db.get(ChallengeFollow, (user.id, challenge.id))
    if existing is not None:
        db.delete(existing)
        db.flush()


# -- reading -----------------------------------------------------------------------------------


#: One page of a user's notifications, newest first.
NotificationPage = Page


def list_notifications(user: User, page: int = 1, per_page: int | None = None) -> NotificationPage:
    """Return a page of the user's notifications, newest first (the page is clamped)."""
    per_page = max(1, int(per_page or current_app.config.get("PAGE_SIZE", 20)))
    return paginate(
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()),
        page, per_page,
    )


def unread_count(user: Any) -> int:
    """How many of the user's notifications are unread (0 for anonymous users)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return db.scalar(
        select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def mark_read(user: User, notification: Notification) -> Notification:
    """Mark one of the user's own notifications read."""
    if notification.user_id != user.id:
        raise NotAllowed(_("This notification is not yours."))
    if notification.read_at is None:
        notification.read_at = clock.now()
        db.flush()
    return notification


def mark_all_read(user: User) -> int:
    """Mark all the user's notifications read; return how many were unread."""
    changed = execute_update(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=clock.now())
        .execution_options(synchronize_session="fetch")
    )
    db.flush()
    return changed


def set_preference(user: User, preference: str) -> User:
    """Choose how the user hears about notifications: immediate emails, a daily digest or none."""
    if preference not in NOTIFICATION_PREFS:
        raise DomainError(_("Choose how you want to receive notifications."), field="notify")
    if user.notify != preference:
        before = audit.snapshot(user, ("notify",))
        user.notify = preference
        db.flush()
        signals.changed(user, "user.notify", user, before, audit.snapshot(user, ("notify",)))
    return user


# -- the daily digest ---------------------------------------------------------------------------


def send_digests(now: datetime | None = None) -> int:
    """Queue one digest email per digest user with their unsent notifications; mark them emailed.

    Returns how many emails were queued. Raises DomainError when email is not configured.
    """
    if not mail.enabled():
        raise DomainError(_("Email is not configured: set SMTP_HOST to send the digest."))
    now = now or clock.now()
    rows = db.execute(
        select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(User.notify == NotificationPref.DIGEST, User.is_active.is_(True), Notification.emailed_at.is_(None))
        .order_by(User.id, Notification.created_at, Notification.id)
    ).all()
    by_user: dict[int, tuple[User, list[Notification]]] = {}
    for notification, user in rows:
        by_user.setdefault(user.id, (user, []))[1].append(notification)
    sent = 0
    for user, items in by_user.values():
        with _one_recipient(user, "digest"):
            if _queue_digest(user, items):
                for n in items:
                    n.emailed_at = now
                sent += 1
    db.flush()
    return sent


def _queue_digest(user: User, items: list[Notification]) -> bool:
    """Word ``user``'s digest of ``items`` in their language and queue it."""
    locale = user.locale or "en"
    with force_locale(formatting_locale(locale)):
        entries = [(n, message_text(n), mail.absolute(n.link or "/")) for n in items]
        subject = ngettext(
            "InnoMatch daily digest: %(num)d notification", "InnoMatch daily digest: %(num)d notifications",
            len(items),
        )
        body = render_template(
            "email/digest.txt", user=user, entries=entries,
            url=mail.absolute(path_for("notifications.index")),
            settings_url=mail.absolute(path_for("notifications.preferences")),
        )
    message = mail.build_message(user.display_name, user.email, subject, body, _email_language(locale))
    return mail.queue(message)
