"""Recommendation pages: who may see them, explanations, dismissals."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Challenge, Dismissal, Startup, User
from portal.database import db
from portal.errors import NotAllowed
from portal.services import feedback, recommendations


@pytest.fixture
def world(app, make):
    dept = make.department()
    challenge = make.challenge(dept, title="Clinic queue chatbot",
                               problem_statement="Patients queue at the clinic counter to ask the same questions.")
    capability = make.capability(make.startup(name="QueueBot"), name="Queue chatbot",
                                 description="A chatbot that answers clinic queue questions for patients.")
    with app.app_context():
        recommendations.clear_caches()
    return {"dept": dept, "challenge": challenge, "capability": capability}


def test_anonymous_users_are_sent_to_sign_in(client, world):
    for url in ("/recommendations", f"/challenges/{world['challenge'].id}/recommended"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_officer_of_another_department_cannot_see_recommended_startups(make, login_as, world):
    client = login_as(make.user("officer"))
    assert client.get(f"/challenges/{world['challenge'].id}/recommended").status_code == 403


def test_startup_members_cannot_see_recommended_startups(make, login_as, world):
    client = login_as(make.user("startup"))
    assert client.get(f"/challenges/{world['challenge'].id}/recommended").status_code == 403


def test_officers_and_coordinators_see_explained_recommendations(make, login_as, world, client):
    for user in (make.user("officer", department_id=world["dept"].id), make.user("coordinator")):
        client.post("/logout")
        login_as(user)
        body = client.get(f"/challenges/{world['challenge'].id}/recommended").get_data(as_text=True)
        assert "QueueBot" in body and "Key terms in both texts" in body and "chatbot" in body


def test_startup_sees_explained_opportunities(make, login_as, world):
    member = make.user("startup", startup_id=world["capability"].startup_id)
    body = login_as(member).get("/recommendations").get_data(as_text=True)
    assert "Clinic queue chatbot" in body and "Why this match?" in body


def test_dismissed_recommendation_is_hidden_from_that_user(app, make, login_as, world):
    member = make.user("startup", startup_id=world["capability"].startup_id)
    client = login_as(member)
    response = client.post("/recommendations/dismiss", data={
        "challenge_id": world["challenge"].id, "startup_id": world["capability"].startup_id,
        "reason": "not_relevant", "note": "We do not serve clinics.",
    })
    assert response.status_code == 302
    assert "Clinic queue chatbot" not in client.get("/recommendations").get_data(as_text=True)
    with app.app_context():
        from portal.database import db

        dismissal = db.scalar(select(Dismissal))
        assert dismissal.direction == "for_startup" and "We do not serve clinics." in dismissal.reason


@pytest.mark.parametrize("data", [
    {},
    {"challenge_id": "x", "startup_id": "1", "reason": "not_relevant"},
    {"challenge_id": "1", "startup_id": "1", "reason": "made-up"},
    {"challenge_id": "99999999999999999999", "startup_id": "1", "reason": "not_relevant"},
])
def test_bad_dismissals_are_refused_without_writing(app, make, login_as, world, data):
    member = make.user("startup", startup_id=world["capability"].startup_id)
    response = login_as(member).post("/recommendations/dismiss", data=data)
    assert 400 <= response.status_code < 500
    with app.app_context():
        from portal.database import db

        assert db.scalar(select(func.count()).select_from(Dismissal)) == 0


def test_member_cannot_dismiss_for_another_startup(app, make, login_as, world):
    client = login_as(make.user("startup"))
    response = client.post("/recommendations/dismiss", data={
        "challenge_id": world["challenge"].id, "startup_id": world["capability"].startup_id, "reason": "other",
    })
    assert response.status_code == 403


def test_a_draft_of_another_department_answers_as_a_missing_challenge(make, login_as):
    draft = make.challenge(status="draft")
    client = login_as(make.user("officer"))
    assert client.get(f"/challenges/{draft.id}/recommended").status_code == 404
    assert client.get("/challenges/999999/recommended").status_code == 404


@pytest.mark.parametrize("role", ["startup", "officer"])
def test_dismissing_a_recommendation_for_a_hidden_draft_is_not_found_and_writes_nothing(app, make, login_as,
                                                                                        world, role):
    draft = make.challenge(status="draft")
    startup_id = world["capability"].startup_id
    user = make.user("startup", startup_id=startup_id) if role == "startup" else make.user("officer")
    data = {"challenge_id": draft.id, "startup_id": startup_id, "reason": "not_relevant"}
    assert login_as(user).post("/recommendations/dismiss", data=data).status_code == 404
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(Dismissal)) == 0
        assert feedback_refuses(user.id, draft.id, startup_id)


def feedback_refuses(user_id: int, challenge_id: int, startup_id: int) -> bool:
    """The service itself refuses too, whatever route calls it."""
    try:
        feedback.dismiss_recommendation(
            db.get(User, user_id), db.get(Challenge, challenge_id), db.get(Startup, startup_id), "not_relevant")
    except NotAllowed:
        db.rollback()
        return True
    return False
