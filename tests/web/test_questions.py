"""Questions on a challenge through the web: ask, answer, publish without the asker's name, hide."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditEvent, ChallengeFollow, ChallengeQuestion, Notification
from portal.database import db
from tests.helpers import sign_in

QUESTION = "Can the pilot connect to the clinics' existing booking phone line?"
ANSWER = "Yes: the phone line has an API that the pilot may use."


def text(response) -> str:
    return response.get_data(as_text=True)


def rows(app, model, *where):
    """Rows as the database has them now (an app context of their own: the clients' requests
    must not share one, or they would share the signed-in user)."""
    with app.app_context():
        return list(db.scalars(select(model).where(*where).order_by(model.id)))


def count(app, model, *where) -> int:
    with app.app_context():
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def follow(app, user, challenge) -> None:
    with app.app_context():
        db.add(ChallengeFollow(user_id=user.id, challenge_id=challenge.id))
        db.commit()


@pytest.fixture
def cast(make):
    dept = make.department()
    startup = make.startup(name="Zephyr Telehealth Ltd")
    return {
        "challenge": make.challenge(dept, title="Online booking for dental clinics"),
        "member": make.user("startup", startup=startup),
        "rival": make.user("startup"),
        "officer": make.user("officer", department=dept),
        "other_officer": make.user("officer"),
        "coordinator": make.user("coordinator"),
    }


def _ask(app, cast):
    client = sign_in(app.test_client(), cast["member"])
    response = client.post(f"/challenges/{cast['challenge'].id}/questions", data={"question": QUESTION})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#your-questions")
    return client


def _question(app) -> ChallengeQuestion:
    (question,) = rows(app, ChallengeQuestion)
    return question


def test_a_startup_asks_on_the_challenge_page_and_sees_its_question_waiting(app, cast):
    client = sign_in(app.test_client(), cast["member"])
    page = text(client.get(f"/challenges/{cast['challenge'].id}"))
    assert f'action="/challenges/{cast["challenge"].id}/questions"' in page
    _ask(app, cast)
    page = text(client.get(f"/challenges/{cast['challenge'].id}"))
    assert QUESTION.replace("'", "&#39;") in page and "Awaiting an answer" in page
    # Another startup sees neither the question nor who asked.
    rival = text(sign_in(app.test_client(), cast["rival"]).get(f"/challenges/{cast['challenge'].id}"))
    assert "existing booking phone line" not in rival and "Zephyr" not in rival


def test_a_bad_question_is_shown_on_the_form_and_nothing_is_stored(app, cast):
    client = sign_in(app.test_client(), cast["member"])
    response = client.post(f"/challenges/{cast['challenge'].id}/questions", data={"question": "why?"})
    assert response.status_code == 400
    assert "Write your question in 10 to 2000 characters." in text(response)
    assert rows(app, ChallengeQuestion) == []


def test_officers_see_the_unanswered_count_in_our_challenges_and_it_links_to_the_questions(app, cast):
    _ask(app, cast)
    officer = sign_in(app.test_client(), cast["officer"])
    mine = text(officer.get("/challenges/mine"))
    link = f'href="/challenges/{cast["challenge"].id}/questions">1<'
    assert link in mine
    detail = text(officer.get(f"/challenges/{cast['challenge'].id}"))
    assert "1 question is waiting for an answer." in detail
    assert "existing booking phone line" in detail  # the waiting question itself, linked to its answer form
    question = _question(app)
    assert f'href="/challenges/{cast["challenge"].id}/questions#question-{question.id}"' in detail
    assert f'href="/challenges/{cast["challenge"].id}/questions"' in detail
    page = officer.get(f"/challenges/{cast['challenge'].id}/questions")
    assert page.status_code == 200
    body = text(page)
    assert "Zephyr Telehealth Ltd" in body  # the department knows who asked
    assert "/answer" in body
    # Another department's officer may not read them.
    other = sign_in(app.test_client(), cast["other_officer"])
    assert other.get(f"/challenges/{cast['challenge'].id}/questions").status_code == 403


def test_publishing_an_answer_shows_it_to_everyone_without_the_startups_name(app, cast):
    _ask(app, cast)
    question = _question(app)
    follow(app, cast["rival"], cast["challenge"])
    officer = sign_in(app.test_client(), cast["officer"])
    response = officer.post(
        f"/challenges/{cast['challenge'].id}/questions/{question.id}/answer", data={"answer": ANSWER, "publish": "y"}
    )
    assert response.status_code == 302
    public = text(app.test_client().get(f"/challenges/{cast['challenge'].id}"))
    assert ANSWER in public and "existing booking phone line" in public
    assert "Zephyr" not in public  # the asker is never named in public
    told = {(n.user_id, n.kind) for n in rows(app, Notification, Notification.kind.in_(
        ["question_answered", "answer_published"]))}
    assert told == {(cast["member"].id, "question_answered"), (cast["rival"].id, "answer_published")}


def test_an_answer_kept_private_then_published_with_the_button(app, cast):
    _ask(app, cast)
    question = _question(app)
    officer = sign_in(app.test_client(), cast["officer"])
    base = f"/challenges/{cast['challenge'].id}/questions/{question.id}"
    assert officer.post(f"{base}/answer", data={"answer": ANSWER}).status_code == 302
    assert ANSWER not in text(app.test_client().get(f"/challenges/{cast['challenge'].id}"))
    asker = sign_in(app.test_client(), cast["member"])
    assert ANSWER in text(asker.get(f"/challenges/{cast['challenge'].id}"))  # the asker reads it
    assert officer.post(f"{base}/publish").status_code == 302
    assert ANSWER in text(app.test_client().get(f"/challenges/{cast['challenge'].id}"))
    assert officer.post(f"{base}/publish").status_code == 409  # already published


def test_an_empty_answer_is_shown_on_its_form(app, cast):
    _ask(app, cast)
    question = _question(app)
    officer = sign_in(app.test_client(), cast["officer"])
    response = officer.post(f"/challenges/{cast['challenge'].id}/questions/{question.id}/answer", data={"answer": " "})
    assert response.status_code == 400
    assert "Write the answer." in text(response)
    assert _question(app).answered_at is None


def test_a_coordinator_hides_a_published_question_and_it_leaves_the_public_page(app, cast):
    _ask(app, cast)
    question = _question(app)
    base = f"/challenges/{cast['challenge'].id}/questions/{question.id}"
    sign_in(app.test_client(), cast["officer"]).post(f"{base}/answer", data={"answer": ANSWER, "publish": "y"})
    coordinator = sign_in(app.test_client(), cast["coordinator"])
    assert coordinator.post(f"{base}/hide", data={"reason": ""}).status_code == 400
    assert coordinator.post(f"{base}/hide", data={"reason": "Quotes a patient's record."}).status_code == 302
    assert ANSWER not in text(app.test_client().get(f"/challenges/{cast['challenge'].id}"))
    assert _question(app).hidden_reason == "Quotes a patient's record."
    assert count(app, AuditEvent, AuditEvent.action == "question.hide") == 1
    # The officer may not hide; the member may not answer.
    assert sign_in(app.test_client(), cast["officer"]).post(f"{base}/hide", data={"reason": "x"}).status_code == 403
    assert sign_in(app.test_client(), cast["member"]).post(f"{base}/answer", data={"answer": "x"}).status_code == 403


def test_a_question_of_another_challenge_is_not_found(app, cast, make):
    _ask(app, cast)
    question = _question(app)
    elsewhere = make.challenge(make.department())
    officer = sign_in(app.test_client(), cast["officer"])
    response = officer.post(f"/challenges/{elsewhere.id}/questions/{question.id}/answer", data={"answer": ANSWER})
    assert response.status_code == 404


def test_the_questions_page_is_in_chinese_too(app, cast):
    _ask(app, cast)
    officer = sign_in(app.test_client(), cast["officer"])
    officer.post("/language", data={"locale": "zh_Hant_HK"})
    page = text(officer.get(f"/challenges/{cast['challenge'].id}/questions"))
    assert "Questions from startups" not in page
