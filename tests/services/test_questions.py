"""Questions on a challenge: who may ask, answer, publish and hide; what is stored, audited and told."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditEvent, Challenge, ChallengeFollow, ChallengeQuestion, Notification, User
from portal.errors import DomainError, NotAllowed, StaleState
from portal.services import questions


@pytest.fixture
def cast(make):
    dept, other_dept = make.department(), make.department()
    startup = make.startup(name="Asking Startup Ltd")
    return {
        "dept": dept,
        "challenge": make.challenge(dept, title="Online booking for dental clinics"),
        "member": make.user("startup", startup=startup),
        "teammate": make.user("startup", startup=startup),
        "rival": make.user("startup"),
        "officer": make.user("officer", department=dept),
        "colleague": make.user("officer", department=dept),
        "other_officer": make.user("officer", department=other_dept),
        "coordinator": make.user("coordinator"),
    }


def _get(ctx, cast, *names):
    return [ctx.get(User, cast[n].id) for n in names]


def _challenge(ctx, cast):
    return ctx.get(Challenge, cast["challenge"].id)


def _ask(ctx, cast, text="Can the pilot use the clinics' existing booking phone line?"):
    (member,) = _get(ctx, cast, "member")
    question = questions.ask_question(member, _challenge(ctx, cast), text)
    ctx.commit()
    return question


def _notes(ctx, kind):
    return list(ctx.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.user_id)))


def test_a_member_asks_and_the_question_keeps_its_startup_and_language(ctx, cast):
    question = _ask(ctx, cast, "試點可否使用診所現有的預約電話線？我們想了解系統整合的要求。")
    assert question.startup_id == cast["member"].startup_id
    assert question.asked_by_id == cast["member"].id
    assert question.question_language == "zh-Hant"
    assert not question.answered and not question.published
    # The department's officers are told; nobody else.
    told = {n.user_id for n in _notes(ctx, "question_asked")}
    assert told == {cast["officer"].id, cast["colleague"].id}
    events = list(ctx.scalars(select(AuditEvent).where(AuditEvent.action == "question.ask")))
    assert len(events) == 1 and events[0].entity_type == "challengequestion"


def test_only_startup_members_ask_and_only_on_an_open_challenge(ctx, cast, make):
    (officer,) = _get(ctx, cast, "officer")
    with pytest.raises(NotAllowed):
        questions.ask_question(officer, _challenge(ctx, cast), "An officer cannot ask questions here.")
    closed = make.challenge(cast["dept"], status="closed")
    (member,) = _get(ctx, cast, "member")
    with pytest.raises(StaleState):
        questions.ask_question(member, ctx.get(Challenge, closed.id), "Is the closed challenge coming back?")


@pytest.mark.parametrize("text", ["", "   ", "too short", "x" * (questions.QUESTION_MAX + 1)])
def test_an_empty_short_or_long_question_is_refused_on_its_field(ctx, cast, text):
    (member,) = _get(ctx, cast, "member")
    with pytest.raises(DomainError) as caught:
        questions.ask_question(member, _challenge(ctx, cast), text)
    assert caught.value.field == "question"


def test_a_short_question_in_chinese_counts_its_characters_by_what_they_carry(ctx, cast):
    """「可否延期？」 says as much as "Can it be extended?": a Han character counts as three
    towards the minimum (five characters, 13 counted), and two are still too few."""
    (member,) = _get(ctx, cast, "member")
    asked = questions.ask_question(member, _challenge(ctx, cast), "可否延期？")
    assert asked.question == "可否延期？"
    with pytest.raises(DomainError):
        questions.ask_question(member, _challenge(ctx, cast), "延期？")


def test_the_department_answers_without_publishing_and_only_the_asker_is_told(ctx, cast):
    question = _ask(ctx, cast)
    (officer,) = _get(ctx, cast, "officer")
    ctx.add(ChallengeFollow(user_id=cast["rival"].id, challenge_id=cast["challenge"].id))
    ctx.commit()
    questions.answer_question(officer, ctx.get(ChallengeQuestion, question.id), "Yes, the line can be used.")
    ctx.commit()
    question = ctx.get(ChallengeQuestion, question.id)
    assert question.answered and not question.published
    assert question.answer_language == "en" and question.answered_by_id == officer.id
    assert [n.user_id for n in _notes(ctx, "question_answered")] == [cast["member"].id]
    assert _notes(ctx, "answer_published") == []  # the follower hears nothing yet
    assert questions.published_questions(_challenge(ctx, cast)) == []


def test_publishing_tells_the_followers_but_not_the_asker_twice(ctx, cast):
    question = _ask(ctx, cast)
    for follower in ("rival", "member"):
        ctx.add(ChallengeFollow(user_id=cast[follower].id, challenge_id=cast["challenge"].id))
    ctx.commit()
    (officer,) = _get(ctx, cast, "officer")
    questions.answer_question(officer, ctx.get(ChallengeQuestion, question.id), "Yes.", publish=True)
    ctx.commit()
    assert [n.user_id for n in _notes(ctx, "answer_published")] == [cast["rival"].id]
    assert [n.user_id for n in _notes(ctx, "question_answered")] == [cast["member"].id]
    published = questions.published_questions(_challenge(ctx, cast))
    assert [q.id for q in published] == [question.id]
    # Publishing again is refused: it is already public.
    with pytest.raises(StaleState):
        questions.publish_answer(officer, ctx.get(ChallengeQuestion, question.id))


def test_an_unanswered_question_cannot_be_published(ctx, cast):
    question = _ask(ctx, cast)
    (officer,) = _get(ctx, cast, "officer")
    with pytest.raises(StaleState):
        questions.publish_answer(officer, ctx.get(ChallengeQuestion, question.id))


def test_officers_of_other_departments_and_coordinators_cannot_answer(ctx, cast):
    question = _ask(ctx, cast)
    for name in ("other_officer", "coordinator", "member"):
        (user,) = _get(ctx, cast, name)
        with pytest.raises(NotAllowed):
            questions.answer_question(user, ctx.get(ChallengeQuestion, question.id), "Not mine to answer.")


def test_a_coordinator_hides_with_a_reason_and_the_question_leaves_the_public_list(ctx, cast):
    question = _ask(ctx, cast)
    (officer, coordinator) = _get(ctx, cast, "officer", "coordinator")
    questions.answer_question(officer, ctx.get(ChallengeQuestion, question.id), "Yes.", publish=True)
    ctx.commit()
    with pytest.raises(DomainError) as caught:
        questions.hide_question(coordinator, ctx.get(ChallengeQuestion, question.id), "  ")
    assert caught.value.field == "reason"
    with pytest.raises(NotAllowed):
        questions.hide_question(officer, ctx.get(ChallengeQuestion, question.id), "Officers cannot hide.")
    questions.hide_question(coordinator, ctx.get(ChallengeQuestion, question.id), "Names a patient.")
    ctx.commit()
    assert questions.published_questions(_challenge(ctx, cast)) == []
    hidden = ctx.get(ChallengeQuestion, question.id)
    assert hidden.hidden and hidden.hidden_by_id == coordinator.id and hidden.hidden_reason == "Names a patient."
    (event,) = ctx.scalars(select(AuditEvent).where(AuditEvent.action == "question.hide"))
    assert event.actor_id == coordinator.id and event.after["hidden_reason"] == "Names a patient."
    with pytest.raises(StaleState):
        questions.answer_question(officer, hidden, "Answering a hidden question.")


def test_unanswered_counts_leave_out_answered_and_hidden_questions(ctx, cast, make):
    first, second, third = (_ask(ctx, cast, f"Question number {n} about the booking line?") for n in range(3))
    (officer, coordinator) = _get(ctx, cast, "officer", "coordinator")
    questions.answer_question(officer, ctx.get(ChallengeQuestion, first.id), "Answered.")
    questions.hide_question(coordinator, ctx.get(ChallengeQuestion, second.id), "Off topic.")
    ctx.commit()
    other = make.challenge(cast["dept"])
    assert questions.unanswered_counts([cast["challenge"].id, other.id]) == {cast["challenge"].id: 1}
    assert questions.unanswered_count(_challenge(ctx, cast)) == 1
    page = questions.questions_page(_challenge(ctx, cast), 1, 10)
    assert [q.id for q in page.items] == [third.id, first.id, second.id]  # waiting, answered, hidden
