"""Two-step sign-in: set-up with a QR code, codes from the app, replay, throttling, recovery codes, reset."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from models import AuditEvent, RecoveryCode, User
from portal.database import db
from portal.services import mfa
from tests.helpers import sign_in

START = datetime(2027, 3, 1, 9, 0, 5, tzinfo=UTC)


def _enrol(client) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """Set two-step verification up through the pages; return the secret and the recovery codes."""
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "<svg" in page
    secret = re.search(r"<code[^>]*>([A-Z2-7 ]+)</code>", page).group(1).replace(" ", "")
    token = re.search(r'name="enrolment" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/account/two-step", data={"enrolment": token, "code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.get_data(as_text=True))
    return secret, codes


def _password_step(app, user):  # type: ignore[no-untyped-def]
    """A client past the password, waiting for the second step."""
    return sign_in(app.test_client(), user.id, second_step=False)


@pytest.fixture
def frozen():  # type: ignore[no-untyped-def]
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_coordinator_without_two_step_is_sent_to_set_it_up_before_anything_else(app, make):
    client = _password_step(app, make.user("coordinator"))
    for page in ("/", "/coordinator/", "/account", "/admin/users"):
        response = client.get(page)
        assert response.status_code == 302 and response.headers["Location"].endswith("/account/two-step"), page


def test_officer_without_two_step_is_sent_to_set_it_up_before_reading_proposals(app, make):
    # Officers read startups' proposals and documents for the government: their role requires it.
    officer = make.user("officer")
    client = _password_step(app, officer)
    for page in ("/", "/challenges/mine", "/account"):
        response = client.get(page)
        assert response.status_code == 302 and response.headers["Location"].endswith("/account/two-step"), page
    response = app.test_client().post("/login", data={"email": officer.email, "password": "correct-horse-battery-42"})
    assert response.headers["Location"].endswith("/account/two-step")


def test_startup_member_is_not_asked_for_a_second_step(app, make, client):
    member = make.user("startup")
    response = client.post("/login", data={"email": member.email, "password": "correct-horse-battery-42"})
    assert response.status_code == 302 and not response.headers["Location"].endswith("/account/two-step")
    assert client.get("/account").status_code == 200


def test_password_sign_in_of_coordinator_leads_to_set_up(app, make, client):
    coordinator = make.user("coordinator")
    response = client.post("/login", data={"email": coordinator.email, "password": "correct-horse-battery-42"})
    assert response.headers["Location"].endswith("/account/two-step")


def test_setup_page_shows_an_inline_svg_qr_code_and_no_inline_script_or_style(app, make):
    client = sign_in(app.test_client(), make.user("coordinator"), second_step=False)
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "<svg" in page and "otpauth" not in page.split("<svg", 1)[0][-200:]
    assert "<script>" not in page and 'style="' not in page
    # The code is digits: phones show the number pad.
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page


def test_enrolment_stores_the_secret_encrypted_and_ten_hashed_recovery_codes(app, make, frozen):
    coordinator = make.user("coordinator")
    client = _password_step(app, coordinator)
    secret, codes = _enrol(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    with app.app_context():
        user = db.get(User, coordinator.id)
        assert user.mfa_enabled and secret not in user.mfa_secret
        assert mfa.decrypt_secret(user.mfa_secret) == secret
        stored = db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
        assert len(stored) == 10 and not set(codes) & set(stored)
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "user.mfa_enable")) is not None
    assert client.get("/coordinator/").status_code == 200  # the session passed the second step
    assert client.get("/account/two-step").status_code == 302  # the secret is never shown again


def test_between_the_password_and_the_second_step_the_page_links_nowhere_it_cannot_go(app, make, frozen):
    """The set-up and code pages show no sections, bell or account link (each would only
    send the user back), only Sign out and the privacy statement, which may be read."""
    for user in (make.user("coordinator"), _enrolled(app, make, frozen)[0]):
        client = _password_step(app, user)
        page = client.get("/account/two-step" if not user.mfa_enabled else "/login/two-step", follow_redirects=True)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "Sign out" in html and "/privacy" in html
        for link in ('href="/"', 'href="/challenges"', 'href="/coordinator/', 'href="/audit"', 'href="/account"', 'href="/workshops"'):
            assert link not in html, link
        assert client.get("/privacy").status_code == 200
    signed_in = sign_in(app.test_client(), make.user("coordinator"))
    with signed_in.session_transaction() as session:
        session["_mfa"] = True
    assert 'href="/challenges"' in signed_in.get("/privacy").get_data(as_text=True)


def test_wrong_code_at_set_up_is_refused_and_the_same_secret_is_shown_again(app, make, frozen):
    client = _password_step(app, make.user("coordinator"))
    page = client.get("/account/two-step").get_data(as_text=True)
    token = re.search(r'name="enrolment" type="hidden" value="([^"]+)"', page).group(1)
    secret = re.search(r"<code[^>]*>([A-Z2-7 ]+)</code>", page).group(1)
    response = client.post("/account/two-step", data={"enrolment": token, "code": "000000"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "The code is not correct" in body and secret in body


def test_forged_enrolment_token_is_refused(app, make, frozen):
    client = _password_step(app, make.user("coordinator"))
    response = client.post("/account/two-step", data={"enrolment": "forged", "code": pyotp.TOTP("A" * 32).now()})
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)


def _enrolled(app, make, frozen, role="coordinator"):  # type: ignore[no-untyped-def]
    user = make.user(role)
    secret, codes = _enrol(_password_step(app, user))
    frozen.shift(timedelta(seconds=60))  # a later step than the one used at set-up
    with app.app_context():  # as stored now: turning two-step on rotated the session token
        user = db.get(User, user.id)
        db.expunge(user)
    return user, secret, codes


def test_second_step_with_the_app_code_opens_the_session(app, make, frozen):
    user, secret, _codes = _enrolled(app, make, frozen)
    client = _password_step(app, user)
    assert client.get("/coordinator/").headers["Location"].endswith("/login/two-step")
    response = client.post("/login/two-step", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert client.get("/coordinator/").status_code == 200


def test_code_of_the_previous_step_is_accepted_for_clock_drift(app, make, frozen):
    user, secret, _codes = _enrolled(app, make, frozen)
    previous = pyotp.TOTP(secret).at(START + timedelta(seconds=30))
    response = _password_step(app, user).post("/login/two-step", data={"code": previous})
    assert response.status_code == 302


def test_same_code_is_refused_a_second_time_within_its_window(app, make, frozen):
    user, secret, _codes = _enrolled(app, make, frozen)
    code = pyotp.TOTP(secret).now()
    assert _password_step(app, user).post("/login/two-step", data={"code": code}).status_code == 302
    replay = _password_step(app, user).post("/login/two-step", data={"code": code})
    assert replay.status_code == 400 and "used already" in replay.get_data(as_text=True)
    frozen.shift(timedelta(seconds=30))
    fresh = _password_step(app, user).post("/login/two-step", data={"code": pyotp.TOTP(secret).now()})
    assert fresh.status_code == 302


def test_five_wrong_codes_make_the_account_wait_even_for_the_right_code(app, make, frozen):
    user, secret, _codes = _enrolled(app, make, frozen)
    client = _password_step(app, user)
    for _i in range(mfa.MAX_CODE_FAILURES):
        assert client.post("/login/two-step", data={"code": "123456"}).status_code == 400
    refused = client.post("/login/two-step", data={"code": pyotp.TOTP(secret).now()})
    assert refused.status_code == 400 and "Too many wrong codes" in refused.get_data(as_text=True)
    frozen.shift(mfa.CODE_FAILURE_WINDOW + timedelta(seconds=30))
    assert client.post("/login/two-step", data={"code": pyotp.TOTP(secret).now()}).status_code == 302


def test_recovery_code_works_once(app, make, frozen):
    user, _secret, codes = _enrolled(app, make, frozen)
    response = _password_step(app, user).post("/login/two-step", data={"code": codes[0].upper()})
    assert response.status_code == 302
    again = _password_step(app, user).post("/login/two-step", data={"code": codes[0]})
    assert again.status_code == 400
    with app.app_context():
        assert mfa.recovery_codes_left(db.get(User, user.id)) == 9


def _two_step_notices(smtp, user) -> list[str]:  # type: ignore[no-untyped-def]
    """The subjects of the two-step emails sent to ``user``, oldest first."""
    return [m["Subject"] for m in smtp.to(user.email) if "two-step" in m["Subject"] or "recovery codes" in m["Subject"]]


def test_startup_member_may_turn_two_step_on_and_off(app, make, frozen, smtp):
    member = make.user("startup")
    client = sign_in(app.test_client(), member)
    assert client.get("/startups/mine").status_code in (200, 302)  # not required for startups
    assert "Set up two-step verification" in client.get("/account").get_data(as_text=True)
    _enrol(client)
    frozen.shift(timedelta(seconds=60))
    waiting = _password_step(app, member)
    assert waiting.get("/account").headers["Location"].endswith("/login/two-step")
    wrong = client.post("/account/two-step/off", data={"off-current_password": "wrong password here"})
    assert wrong.status_code == 400
    off = client.post("/account/two-step/off", data={"off-current_password": "correct-horse-battery-42"})
    assert off.status_code == 302
    # Like a change of password: this browser stays signed in, every other session ends.
    assert client.get("/account").status_code == 200
    assert waiting.get("/account").headers["Location"].startswith("/login")
    with app.app_context():
        assert not db.get(User, member.id).mfa_enabled
    assert _two_step_notices(smtp, member) == [
        "InnoMatch: two-step verification was turned on", "InnoMatch: two-step verification was turned off",
    ]


def test_turning_two_step_on_ends_the_sessions_that_never_passed_it(app, make, frozen):
    member = make.user("startup")
    elsewhere = sign_in(app.test_client(), member)
    client = sign_in(app.test_client(), member)
    _enrol(client)
    assert client.get("/account").status_code == 200  # the browser that set it up stays in
    assert elsewhere.get("/account").headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ["coordinator", "officer"])
def test_staff_and_officers_cannot_turn_two_step_off(app, make, frozen, role):
    user, _secret, _codes = _enrolled(app, make, frozen, role)
    client = sign_in(app.test_client(), user)
    response = client.post("/account/two-step/off", data={"off-current_password": "correct-horse-battery-42"})
    assert response.status_code == 400
    with app.app_context():
        assert db.get(User, user.id).mfa_enabled


def test_new_recovery_codes_replace_the_old_ones_and_the_owner_is_told(app, make, frozen, smtp):
    user, secret, codes = _enrolled(app, make, frozen)
    client = sign_in(app.test_client(), user)
    response = client.post("/account/two-step/recovery-codes", data={"rc-code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    fresh = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.get_data(as_text=True))
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    assert _password_step(app, user).post("/login/two-step", data={"code": codes[1]}).status_code == 400
    [notice] = [m for m in smtp.to(user.email) if "recovery codes" in m["Subject"]]
    assert "no longer work" in smtp.body(notice) and "/password/forgot" in smtp.body(notice)
    assert _two_step_notices(smtp, user) == [
        "InnoMatch: two-step verification was turned on", "InnoMatch: new recovery codes were made for your account",
    ]


def test_a_recovery_code_cannot_buy_new_recovery_codes_and_is_not_used_up(app, make, frozen, smtp):
    user, _secret, codes = _enrolled(app, make, frozen)
    client = sign_in(app.test_client(), user)
    response = client.post("/account/two-step/recovery-codes", data={"rc-code": codes[0]})
    assert response.status_code == 400
    assert "A recovery code cannot be used here" in response.get_data(as_text=True)
    with app.app_context():
        assert mfa.recovery_codes_left(db.get(User, user.id)) == 10
    assert not [m for m in smtp.to(user.email) if "recovery codes" in m["Subject"]]


def test_admin_reset_clears_two_step_ends_sessions_and_is_audited(app, make, frozen, smtp):
    user, _secret, _codes = _enrolled(app, make, frozen)
    session_of_user = sign_in(app.test_client(), user)
    admin = sign_in(app.test_client(), make.user("admin"))
    assert admin.post(f"/admin/users/{user.id}/reset-two-step").status_code == 302
    assert session_of_user.get("/coordinator/").headers["Location"].startswith("/login")
    with app.app_context():
        fresh = db.get(User, user.id)
        assert not fresh.mfa_enabled and fresh.mfa_secret is None
        assert not db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.mfa_reset"))
        assert event is not None and event.entity_id == user.id
    assert _two_step_notices(smtp, user)[-1] == "InnoMatch: an administrator reset your two-step verification"
    # At the next sign-in they set it up again.
    assert _password_step(app, user).get("/").headers["Location"].endswith("/account/two-step")
