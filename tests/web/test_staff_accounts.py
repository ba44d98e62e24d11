"""Staff by invitation, and admins' management of accounts (deactivate, role, department, name)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from models import AuditEvent, Invitation, User
from portal import clock
from portal.database import db
from tests.helpers import sign_in

PASSWORD = "a-long-new-password-77"


@pytest.fixture
def admin(app, make):  # type: ignore[no-untyped-def]
    user = make.user("admin")
    return user, sign_in(app.test_client(), user)


def _invite(client, **data):  # type: ignore[no-untyped-def]
    form = {"display_name": "Chan Tai Man", "email": "Tai.Man@DH.gov.hk", "role": "officer", "locale": "en", **data}
    return client.post("/admin/invitations/new", data=form)


def _link(response) -> str:  # type: ignore[no-untyped-def]
    return re.search(r"http://localhost(/invitations/[A-Za-z0-9_-]+)", response.get_data(as_text=True)).group(1)


def test_admin_invites_an_officer_and_only_a_hash_of_the_token_is_stored(app, make, admin):
    department = make.department()
    response = _invite(admin[1], department=str(department.id))
    assert response.status_code == 200  # no mail server: the link is shown this once
    link = _link(response)
    token = link.rsplit("/", 1)[1]
    with app.app_context():
        invitation = db.scalar(select(Invitation))
        assert invitation.email == "tai.man@dh.gov.hk" and invitation.department_id == department.id
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in repr([getattr(invitation, c.name) for c in Invitation.__table__.columns])
        assert invitation.expires_at - invitation.created_at == timedelta(days=7)
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "invitation.create")) is not None


def test_officer_invitation_needs_a_department(admin):
    response = _invite(admin[1])
    assert response.status_code == 400 and "must belong to a department" in response.get_data(as_text=True)


def test_invitation_is_emailed_when_mail_is_on(app, make, admin, smtp):
    response = _invite(admin[1], role="coordinator")
    assert response.status_code == 302
    sent = smtp.to("tai.man@dh.gov.hk")
    assert len(sent) == 1 and sent[0]["To"].endswith("<tai.man@dh.gov.hk>")
    assert "/invitations/" in smtp.body(sent[0])


def test_invitee_sets_a_password_and_the_link_then_stops_working(app, make, admin):
    department = make.department()
    link = _link(_invite(admin[1], department=str(department.id)))
    client = app.test_client()
    assert "Chan Tai Man" in client.get(link).get_data(as_text=True)
    response = client.post(link, data={"password": PASSWORD, "confirm": PASSWORD})
    # Signed in as the new officer, who sets up two-step verification first (the role requires it).
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/two-step")
    page = client.get("/account/two-step")
    assert page.status_code == 200
    # Following the emailed link confirmed the address: no banner asking to confirm it.
    assert "Confirm your email address" not in page.get_data(as_text=True)
    with app.app_context():
        user = db.scalar(select(User).where(User.email == "tai.man@dh.gov.hk"))
        assert user.role == "officer" and user.department_id == department.id and user.email_verified
        assert db.scalar(select(Invitation)).user_id == user.id
    again = app.test_client().post(link, data={"password": PASSWORD, "confirm": PASSWORD})
    assert again.status_code == 404 and "does not work" in again.get_data(as_text=True)


def test_invited_coordinator_sets_up_two_step_first(app, admin):
    link = _link(_invite(admin[1], role="coordinator"))
    client = app.test_client()
    response = client.post(link, data={"password": PASSWORD, "confirm": PASSWORD})
    assert response.headers["Location"].endswith("/account/two-step")
    assert client.get("/coordinator/").headers["Location"].endswith("/account/two-step")


def test_invitation_expires_after_seven_days(app, admin):
    link = _link(_invite(admin[1], role="coordinator"))
    with time_machine.travel(clock.now() + timedelta(days=7, minutes=1)):
        assert app.test_client().get(link).status_code == 404


def test_unknown_token_and_weak_password_are_refused(app, admin):
    assert app.test_client().get("/invitations/not-a-real-token").status_code == 404
    link = _link(_invite(admin[1], role="admin"))
    weak = app.test_client().post(link, data={"password": "short", "confirm": "short"})
    assert weak.status_code == 400
    with app.app_context():
        assert db.scalar(select(Invitation)).accepted_at is None


def test_withdrawn_invitation_link_stops_working(app, admin):
    link = _link(_invite(admin[1], role="coordinator"))
    with app.app_context():
        invitation_id = db.scalar(select(Invitation.id))
    assert admin[1].post(f"/admin/invitations/{invitation_id}/revoke").status_code == 302
    assert app.test_client().get(link).status_code == 404


def test_a_new_invitation_to_the_same_address_replaces_the_old_one(app, admin):
    first = _link(_invite(admin[1], role="coordinator"))
    second = _link(_invite(admin[1], role="admin"))
    assert app.test_client().get(first).status_code == 404
    assert app.test_client().get(second).status_code == 200


def test_cannot_invite_an_existing_account(make, admin):
    existing = make.user("coordinator")
    response = _invite(admin[1], email=existing.email, role="coordinator")
    assert response.status_code == 400 and "already exists" in response.get_data(as_text=True)


def test_deactivated_user_is_signed_out_at_once_and_told_why_at_sign_in(app, make, admin):
    officer = make.user("officer")
    session = sign_in(app.test_client(), officer)
    assert session.get("/challenges/mine").status_code == 200
    assert admin[1].post(f"/admin/users/{officer.id}/deactivate").status_code == 302
    assert session.get("/challenges/mine").headers["Location"].startswith("/login")
    response = app.test_client().post("/login", data={"email": officer.email, "password": "correct-horse-battery-42"})
    assert response.status_code == 400 and "deactivated" in response.get_data(as_text=True)
    wrong = app.test_client().post("/login", data={"email": officer.email, "password": "not-the-password-1"})
    assert "deactivated" not in wrong.get_data(as_text=True)  # no hint without the password
    with app.app_context():
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "user.deactivate")).entity_id == officer.id


def test_reactivated_user_signs_in_again(app, make, admin):
    officer = make.user("officer", is_active=False)
    assert admin[1].post(f"/admin/users/{officer.id}/reactivate").status_code == 302
    response = app.test_client().post("/login", data={"email": officer.email, "password": "correct-horse-battery-42"})
    assert response.status_code == 302


def test_admin_renames_and_moves_an_officer_and_it_is_audited(app, make, admin):
    officer = make.user("officer")
    other = make.department()
    response = admin[1].post(f"/admin/users/{officer.id}",
                             data={"display_name": "Wong Siu Ming", "role": "officer", "department": str(other.id)})
    assert response.status_code == 302
    with app.app_context():
        user = db.get(User, officer.id)
        assert (user.display_name, user.department_id) == ("Wong Siu Ming", other.id)
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.update"))
        assert event.after == {"display_name": "Wong Siu Ming", "department_id": other.id}


def test_admin_makes_an_officer_a_coordinator(app, make, admin):
    officer = make.user("officer")
    response = admin[1].post(f"/admin/users/{officer.id}", data={"display_name": "X", "role": "coordinator"})
    assert response.status_code == 302
    with app.app_context():
        user = db.get(User, officer.id)
        assert user.role == "coordinator" and user.department_id is None


def test_startup_member_cannot_be_given_a_staff_role(make, admin):
    member = make.user("startup")
    response = admin[1].post(f"/admin/users/{member.id}", data={"display_name": "X", "role": "admin"})
    assert response.status_code == 400


def test_last_active_admin_cannot_deactivate_or_demote_themselves(app, admin):
    user, client = admin
    response = client.post(f"/admin/users/{user.id}/deactivate")
    assert response.status_code == 409 and "last active administrator" in response.get_data(as_text=True)
    response = client.post(f"/admin/users/{user.id}", data={"display_name": "X", "role": "coordinator"})
    assert response.status_code == 400 and "last active administrator" in response.get_data(as_text=True)
    with app.app_context():
        fresh = db.get(User, user.id)
        assert fresh.is_active and fresh.role == "admin"


def test_an_admin_may_step_down_when_another_active_admin_remains(app, make, admin):
    make.user("admin")
    user, client = admin
    assert client.post(f"/admin/users/{user.id}", data={"display_name": "X", "role": "coordinator"}).status_code == 302


def test_deactivated_admins_do_not_count_as_the_remaining_admin(make, admin):
    make.user("admin", is_active=False)
    user, client = admin
    assert client.post(f"/admin/users/{user.id}/deactivate").status_code == 409


def test_an_invitation_in_chinese_opens_in_chinese_whatever_the_browser(app, make, admin, smtp):
    assert _invite(admin[1], role="coordinator", locale="zh_Hant_HK").status_code == 302
    found = re.findall(r"https?://[^/\s]+(/invitations/\S+)", smtp.body(smtp.to("tai.man@dh.gov.hk")[-1]))
    assert found and found[-1].endswith("?lang=zh_Hant_HK")
    browser = app.test_client()  # an English browser, nobody signed in
    page = browser.get(found[-1], headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert 'lang="zh-Hant-HK"' in page
    # The site stays in the link's language, as after the switch; a bad value changes nothing.
    assert 'lang="zh-Hant-HK"' in browser.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    other = app.test_client()
    assert 'lang="en"' in other.get("/?lang=klingon", headers={"Accept-Language": "en"}).get_data(as_text=True)
