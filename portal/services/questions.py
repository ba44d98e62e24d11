"""Questions and answers on a challenge: a startup asks, the department answers and may
publish the answer on the challenge page (without the asker's name), the lab may hide.

Who sees what:

* a question is read by the challenge's department officers and the lab coordinators
  (:func:`portal.access.can_read_questions`), and by the asking startup's members;
* a published answer, with its question, is shown to everyone who may see the challenge,
  never with the asker's name; hiding takes it off the public list.

Each change is audited (``signals.changed``) and announced: ``question_asked`` (the
department's officers are told), ``question_answered`` (the asker is told, published or
not) and ``answer_published`` (the challenge's followers are told).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

import matcher
from models import Challenge, ChallengeQuestion, User
from models.names import weighted_length
from models.vocabulary import CONTENT_LANGUAGES

from .. import clock, signals
from ..access import can_answer_question, can_ask_question, can_hide_question
from ..database import db
from ..errors import DomainError, NotAllowed, StaleState, require_confirmed_email
from . import audit
from .paging import Page, paginate

#: Length limits (characters) of a question, an answer and the reason for hiding.
QUESTION_MIN, QUESTION_MAX = 10, 2000
ANSWER_MAX = 5000
REASON_MAX = 1000

#: What the audit trail records of a question, before and after each change.
QUESTION_FIELDS = (
    "challenge_id",
    "startup_id",
    "question",
    "question_language",
    "answer",
    "answer_language",
    "answered_by_id",
    "answered_at",
    "published_at",
    "hidden_at",
    "hidden_by_id",
    "hidden_reason",
)


def _language(text: str, given: str | None) -> str:
    """The language of ``text``: the one chosen if it is known, else detected."""
    return given if given in CONTENT_LANGUAGES else matcher.detect_language(text)


# -- use cases ---------------------------------------------------------------------------


def ask_question(member: User, challenge: Challenge, text: str, language: str | None = None) -> ChallengeQuestion:
    """Ask a question on an open challenge, as a member of a startup."""
    if not can_ask_question(member, challenge):
        if getattr(member, "is_startup", False):
            raise StaleState(_("Questions can only be asked while the challenge is open."))
        raise NotAllowed(_("Only startups can ask questions on a challenge."))
    require_confirmed_email(member, _(
        "Confirm your email address before you ask a question: "
        "follow the link we emailed you, or ask for a new one."))
    text = (text or "").strip()
    if weighted_length(text) < QUESTION_MIN or len(text) > QUESTION_MAX:
        raise DomainError(
            _("Write your question in %(min)d to %(max)d characters.", min=QUESTION_MIN, max=QUESTION_MAX),
            field="question",
        )
    question = ChallengeQuestion(
        challenge_id=challenge.id,
        startup_id=member.startup_id,
        asked_by_id=member.id,
        question=text,
        question_language=_language(text, language),
        hidden_reason="",
    )
    db.add(question)
    db.flush()
    signals.changed(member, "question.ask", question, after=audit.snapshot(question, QUESTION_FIELDS))
    signals.question_asked.send(question, actor=member)
    return question


def answer_question(
    officer: User, question: ChallengeQuestion, text: str, *, publish: bool = False, language: str | None = None
) -> ChallengeQuestion:
    """Answer (or change the answer to) a question on the officer's challenge; publish it if asked."""
    if not can_answer_question(officer, question):
        raise NotAllowed(_("Only officers of the challenge's department may answer its questions."))
    if question.hidden:
        raise StaleState(_("The lab has hidden this question."))
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write the answer."), field="answer")
    if len(text) > ANSWER_MAX:
        raise DomainError(_("Write an answer of at most %(n)d characters.", n=ANSWER_MAX), field="answer")
    before = audit.snapshot(question, QUESTION_FIELDS)
    question.answer = text
    question.answer_language = _language(text, language)
    question.answered_by_id = officer.id
    question.answered_at = clock.now()
    newly_published = publish and question.published_at is None
    if newly_published:
        question.published_at = question.answered_at
    db.flush()
    signals.changed(officer, "question.answer", question, before, audit.snapshot(question, QUESTION_FIELDS))
    signals.question_answered.send(question, actor=officer)
    if newly_published:
        signals.answer_published.send(question, actor=officer)
    return question


def publish_answer(officer: User, question: ChallengeQuestion) -> ChallengeQuestion:
    """Publish an answered question on the challenge page, without the asker's name."""
    if not can_answer_question(officer, question):
        raise NotAllowed(_("Only officers of the challenge's department may publish its answers."))
    if question.hidden:
        raise StaleState(_("The lab has hidden this question."))
    if not question.answered:
        raise StaleState(_("Answer the question before publishing it."))
    if question.published_at is not None:
        raise StaleState(_("This answer is already published."))
    before = audit.snapshot(question, QUESTION_FIELDS)
    question.published_at = clock.now()
    db.flush()
    signals.changed(officer, "question.publish", question, before, audit.snapshot(question, QUESTION_FIELDS))
    signals.answer_published.send(question, actor=officer)
    return question


def hide_question(coordinator: User, question: ChallengeQuestion, reason: str) -> ChallengeQuestion:
    """Hide a question (and its answer) from the public list and the asker, with the reason."""
    if not can_hide_question(coordinator):
        raise NotAllowed(_("Only the lab's coordinators may hide questions."))
    if question.hidden:
        raise StaleState(_("This question is already hidden."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for hiding the question."), field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(
            _("Give the reason for hiding in at most %(n)d characters.", n=REASON_MAX), field="reason"
        )
    before = audit.snapshot(question, QUESTION_FIELDS)
    question.hidden_at = clock.now()
    question.hidden_by_id = coordinator.id
    question.hidden_reason = reason
    db.flush()
    signals.changed(coordinator, "question.hide", question, before, audit.snapshot(question, QUESTION_FIELDS))
    return question


# -- queries -----------------------------------------------------------------------------


def published_questions(challenge: Challenge) -> list[ChallengeQuestion]:
    """The challenge's published, not hidden questions with their answers, oldest first."""
    return list(
        db.scalars(
            select(ChallengeQuestion)
            .where(
                ChallengeQuestion.challenge_id == challenge.id,
                ChallengeQuestion.published_at.is_not(None),
                ChallengeQuestion.hidden_at.is_(None),
            )
            .order_by(ChallengeQuestion.published_at, ChallengeQuestion.id)
        )
    )


def startup_questions(challenge: Challenge, startup_id: int | None) -> list[ChallengeQuestion]:
    """The questions one startup asked on the challenge, newest first (for its members)."""
    if startup_id is None:
        return []
    return list(
        db.scalars(
            select(ChallengeQuestion)
            .where(ChallengeQuestion.challenge_id == challenge.id, ChallengeQuestion.startup_id == startup_id)
            .order_by(ChallengeQuestion.created_at.desc(), ChallengeQuestion.id.desc())
        )
    )


def _unanswered() -> Any:
    return (ChallengeQuestion.answered_at.is_(None), ChallengeQuestion.hidden_at.is_(None))


def unanswered_count(challenge: Challenge) -> int:
    """How many of the challenge's questions wait for an answer (hidden ones do not)."""
    return db.scalar(
        select(func.count()).where(ChallengeQuestion.challenge_id == challenge.id, *_unanswered())
    ) or 0


def unanswered_questions(challenge: Challenge, limit: int = 5) -> list[ChallengeQuestion]:
    """The oldest questions waiting for an answer (for the challenge page of its department and the lab)."""
    return list(
        db.scalars(
            select(ChallengeQuestion)
            .where(ChallengeQuestion.challenge_id == challenge.id, *_unanswered())
            .order_by(ChallengeQuestion.created_at, ChallengeQuestion.id)
            .limit(limit)
        )
    )


def unanswered_counts(challenge_ids: Iterable[int]) -> dict[int, int]:
    """Challenge id -> its questions waiting for an answer (only challenges with some), in one query."""
    ids = list(set(challenge_ids))
    if not ids:
        return {}
    rows = db.execute(
        select(ChallengeQuestion.challenge_id, func.count())
        .where(ChallengeQuestion.challenge_id.in_(ids), *_unanswered())
        .group_by(ChallengeQuestion.challenge_id)
    )
    return {cid: count for cid, count in rows}


def questions_page(challenge: Challenge, page: int, size: int) -> Page:
    """One page of all the challenge's questions for its department and the lab: waiting for
    an answer first (oldest first), then answered, then hidden."""
    waiting = ChallengeQuestion.answered_at.is_(None) & ChallengeQuestion.hidden_at.is_(None)
    rank = case((waiting, 0), (ChallengeQuestion.hidden_at.is_(None), 1), else_=2)
    return paginate(
        select(ChallengeQuestion)
        .where(ChallengeQuestion.challenge_id == challenge.id)
        .order_by(rank, ChallengeQuestion.created_at, ChallengeQuestion.id),
        page, size,
        options=[selectinload(ChallengeQuestion.startup)],
    )
