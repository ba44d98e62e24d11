"""What a change of credentials ends, and the smaller doors a security review found open.

A password change or reset, an admin's reset of the second step, a deactivation and a closed
account end every session, every emailed link still unused (a pending change of address
included) and every API token; a session that had ended is never brought back. Also: the
sign-in form checks a password hash for unknown addresses too; an oversized request is
answered only after the session's checks; the
API's per-token budget cannot be multiplied by spelling; the "someone tried to register"
notice is sent at most once an hour.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from models import ApiToken, LoginThrottle, Startup, User
from portal.database import db
from portal.errors import DomainError
from portal.passwords import verify_password
from portal.services import accounts, privacy
from tests.factories import PASSWORD
from tests.helpers import sign_in

from .. import samples

NEW_PASSWORD = "a-brand-new-passphrase-77"


def _stored(app, user_id: int) -> User:
    with app.app_context():
        user = db.get(User, user_id)
        db.expunge(user)
        return user


def _live_tokens(app, user_id: int) -> int:
    with app.app_context():
        return len(db.scalars(select(ApiToken).where(ApiToken.user_id == user_id,
                                                     ApiToken.revoked_at.is_(None))).all())


def _me(app, secret: str) -> int:
    return app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code


def _ask_email_change(client, address: str) -> None:
    response = client.post("/account", data={"action": "email", "em-email": address, "em-current_password": PASSWORD})
    assert response.status_code == 302


# --- a pending change of address ---------------------------------------------------------------


def test_a_change_of_address_asked_before_a_password_change_dies_with_it(app, client, make, smtp):
    user = make.user("startup")
    intruder = sign_in(app.test_client(), user)  # someone who had the password
    _ask_email_change(intruder, "taken-over@example.org")
    link = smtp.link("taken-over@example.org", "/account/verify/")
    sign_in(client, user)
    response = client.post("/account", data={"action": "password", "pw-current_password": PASSWORD,
                                              "pw-new_password": NEW_PASSWORD, "pw-confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert intruder.get("/account").headers["Location"].startswith("/login")
    assert intruder.post(link).status_code == 404  # the link no longer works
    assert _stored(app, user.id).email == user.email
    assert intruder.get("/account").headers["Location"].startswith("/login")


def test_a_change_of_address_asked_before_a_password_reset_dies_with_it(app, client, make, smtp):
    user = make.user("startup")
    intruder = sign_in(app.test_client(), user)
    _ask_email_change(intruder, "taken-over@example.org")
    link = smtp.link("taken-over@example.org", "/account/verify/")
    client.post("/password/forgot", data={"email": user.email})
    reset = smtp.link(user.email, "/password/reset/")
    assert client.post(reset, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert intruder.post(link).status_code == 404
    assert _stored(app, user.id).email == user.email


def test_confirming_a_change_does_not_bring_back_a_session_that_had_ended(app, make, smtp):
    user = make.user("startup")
    first = sign_in(app.test_client(), user)
    _ask_email_change(first, "moved@example.org")
    link = smtp.link("moved@example.org", "/account/verify/")
    second = sign_in(app.test_client(), user)
    second.post("/logout")  # signing out ends every session of the account, ``first``'s too
    assert first.get("/account").headers["Location"].startswith("/login")
    assert first.post(link).status_code == 302  # the address is confirmed (the link is still good) ...
    assert _stored(app, user.id).email == "moved@example.org"
    assert first.get("/account").headers["Location"].startswith("/login")  # ... but no one is signed in again


def test_the_browser_that_confirms_a_change_stays_signed_in_past_its_second_step(app, make, smtp):
    user = make.user("coordinator")
    client = sign_in(app.test_client(), user)
    _ask_email_change(client, "moved@example.org")
    assert client.post(smtp.link("moved@example.org", "/account/verify/")).status_code == 302
    assert client.get("/coordinator/").status_code == 200


# --- API tokens end with the credentials -------------------------------------------------------


def test_a_password_change_revokes_the_api_tokens_and_says_so(app, client, make, smtp):
    user = make.user("startup")
    secret = make.token(user, "write")
    make.token(user, "read")
    assert _me(app, secret) == 200
    sign_in(client, user)
    response = client.post("/account", data={"action": "password", "pw-current_password": PASSWORD,
                                              "pw-new_password": NEW_PASSWORD, "pw-confirm": NEW_PASSWORD},
                           follow_redirects=True)
    assert "Your 2 API tokens were revoked with the old password" in response.get_data(as_text=True)
    assert _me(app, secret) == 401 and _live_tokens(app, user.id) == 0
    assert "Its 2 API tokens were revoked" in smtp.body(smtp.to(user.email)[-1])


def test_a_password_reset_revokes_the_api_tokens(app, client, make, smtp):
    user = make.user("startup")
    secret = make.token(user, "write")
    client.post("/password/forgot", data={"email": user.email})
    reset = smtp.link(user.email, "/password/reset/")
    assert client.post(reset, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert _me(app, secret) == 401
    assert "Its 1 API token was revoked" in smtp.body(smtp.to(user.email)[-1])


def test_an_admins_reset_of_the_second_step_and_a_deactivation_revoke_the_api_tokens(app, make):
    admin = sign_in(app.test_client(), make.user("admin"))
    coordinator = make.user("coordinator", mfa_secret="x", mfa_enabled_at=accounts.clock.now())
    officer = make.user("officer")
    kept = make.user("officer")
    secrets = {u.id: make.token(u, "write") for u in (coordinator, officer, kept)}
    assert admin.post(f"/admin/users/{coordinator.id}/reset-two-step").status_code == 302
    assert admin.post(f"/admin/users/{officer.id}/deactivate").status_code == 302
    assert _me(app, secrets[coordinator.id]) == 401 and _me(app, secrets[officer.id]) == 401
    assert _me(app, secrets[kept.id]) == 200


def test_signing_out_keeps_the_api_tokens(app, make):
    user = make.user("startup")
    secret = make.token(user, "read")
    sign_in(app.test_client(), user).post("/logout")
    assert _me(app, secret) == 200


def test_a_closed_account_loses_its_tokens_and_second_step_and_cannot_be_reactivated(app, make, ctx):
    user = make.user("coordinator", mfa_secret="x", mfa_enabled_at=accounts.clock.now())
    admin = make.user("admin")
    make.token(user, "write")
    with app.test_request_context():
        privacy.pseudonymise(db.get(User, user.id), db.get(User, admin.id), "user.close")
        db.commit()
    assert _live_tokens(app, user.id) == 0
    closed = _stored(app, user.id)
    assert closed.mfa_secret is None and not closed.is_active
    with app.test_request_context(), pytest.raises(DomainError, match="closed"):
        accounts.reactivate_user(db.get(User, admin.id), db.get(User, user.id))


# --- sign-in timing ----------------------------------------------------------------------------


def test_the_sign_in_checks_a_password_hash_for_unknown_addresses_too(app, make, monkeypatch):
    checked: list[str | None] = []
    real = accounts.verify_password

    def spy(stored: str | None, password: str) -> bool:
        checked.append(stored)
        return real(stored, password)

    monkeypatch.setattr(accounts, "verify_password", spy)
    user = make.user("startup")
    with app.test_request_context():
        for email in ("nobody@example.org", user.email):
            with pytest.raises(DomainError):
                accounts.authenticate(email, "wrong-password-123")
    assert checked == [None, user.password_hash]  # None: checked against the dummy hash


# --- oversized requests ------------------------------------------------------------------------


@pytest.fixture
def proposal_world(make, document_storage):
    dept = make.department()
    member = make.user("startup")
    with make.app.app_context():
        startup = db.get(Startup, member.startup_id)
    capability = make.capability(startup=startup)
    challenge = make.challenge(dept)
    proposal = make.proposal(challenge, capability)
    trial = make.trial(challenge, capability, proposal_id=proposal.id)
    return {"member": member, "proposal": proposal, "trial": trial, "challenge": challenge,
            "officer": make.user("officer", department_id=dept.id)}


def _upload(client, url: str, content: bytes, name: str):
    """POST ``content`` as a file; the body is built in memory and closed after the request
    (an oversized one is refused before the app reads it)."""
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(path=url, method="POST", data={"file": (io.BytesIO(content), name)},
                             content_type="multipart/form-data")
    try:
        environ = builder.get_environ()
        response = client.open(environ)
        response.get_data()
        return response
    finally:
        builder.close()
        stream = environ.get("wsgi.input") if "environ" in locals() else None
        if stream is not None:
            stream.close()


@pytest.fixture
def guarded(make_app, document_storage):
    """An app with the CSRF check on, as in production: it reads the form, so it must come
    after the session's checks for an oversized body to be judged by them first."""
    application = make_app(WTF_CSRF_ENABLED=True)
    application.extensions["innomatch_document_storage"] = document_storage
    return application


def test_an_oversized_post_before_the_second_step_is_sent_to_it_not_shown_the_documents(guarded, make, proposal_world):
    coordinator = make.user("coordinator")
    client = sign_in(guarded.test_client(), coordinator, second_step=False)
    url = f"/trials/{proposal_world['trial'].id}/documents"
    big = b"x" * (guarded.config["DOCUMENT_MAX_REQUEST_BYTES"] + 10)
    response = _upload(client, url, big, "big.pdf")
    assert response.status_code == 302 and "/two-step" in response.headers["Location"]


def test_an_oversized_post_from_an_idle_session_shows_nothing_of_the_parent(guarded, proposal_world):
    from portal.security import SEEN_KEY

    client = sign_in(guarded.test_client(), proposal_world["member"])
    with client.session_transaction() as cookie:
        cookie[SEEN_KEY] -= 2 * 3600  # idle for two hours: the session has ended
    url = f"/trials/{proposal_world['trial'].id}/documents"
    response = _upload(client, url, b"x" * (guarded.config["DOCUMENT_MAX_REQUEST_BYTES"] + 10), "big.pdf")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert proposal_world["challenge"].title not in page and 'type="file"' not in page


def test_a_document_over_the_page_limit_but_under_the_document_limit_is_accepted(app, proposal_world):
    client = sign_in(app.test_client(), proposal_world["member"])
    size = app.config["MAX_CONTENT_LENGTH"] + 100_000
    assert size < app.config["DOCUMENT_MAX_BYTES"]
    response = _upload(client, f"/trials/{proposal_world['trial'].id}/documents", samples.pdf("x" * size), "report.pdf")
    assert response.status_code == 302, response.status_code


# --- the API's per-token budget ----------------------------------------------------------------


def test_the_same_token_spelt_differently_shares_one_rate_budget(app):
    from portal.api.auth import rate_key

    keys = set()
    for header in ("Bearer imt_abc", "bearer imt_abc", "BEARER   imt_abc  ", "  Bearer imt_abc"):
        with app.test_request_context("/api/v1/me", headers={"Authorization": header}):
            keys.add(rate_key())
    assert len(keys) == 1 and "imt_abc" not in keys.pop()
    with app.test_request_context("/api/v1/me", headers={"Authorization": "Bearer imt_other"}):
        other = rate_key()
    with app.test_request_context("/api/v1/me"):
        anonymous = rate_key()
    assert other.startswith("token:") and anonymous.startswith("ip:")


# --- "someone tried to register" ---------------------------------------------------------------


def test_an_address_is_told_of_registration_attempts_at_most_once_an_hour(app, client, make, smtp):
    user = make.user("startup")
    for n in range(3):
        response = client.post("/register", data={
            "startup_name": f"Flood {n}", "display_name": "X", "email": user.email, "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD, "website": "", "size": "1-10", "accept": "y",
        })
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    notices = [m for m in smtp.to(user.email) if "tried to register" in str(m["Subject"])]
    assert len(notices) == 1


def test_signing_in_again_after_a_token_rotation_keeps_the_sessions_absolute_limit(app, make, smtp):
    """A password change, or a confirmed address, keeps this browser signed in with the new
    token, but does not restart the session's 12-hour clock."""
    from portal.security import AUTH_AT_KEY

    user = make.user("startup")
    client = sign_in(app.test_client(), user)
    with client.session_transaction() as cookie:
        cookie[AUTH_AT_KEY] -= 11 * 3600
        signed_in_at = cookie[AUTH_AT_KEY]
    response = client.post("/account", data={"action": "password", "pw-current_password": PASSWORD,
                                              "pw-new_password": NEW_PASSWORD, "pw-confirm": NEW_PASSWORD})
    assert response.status_code == 302 and client.get("/account").status_code == 200
    asked = client.post("/account", data={"action": "email", "em-email": "moved@example.org",
                                          "em-current_password": NEW_PASSWORD})
    assert asked.status_code == 302
    assert client.post(smtp.link("moved@example.org", "/account/verify/")).status_code == 302
    assert client.get("/account").status_code == 200
    with client.session_transaction() as cookie:
        assert cookie[AUTH_AT_KEY] == signed_in_at


# -- a form sent after the session ended: what was typed is given back, to our own pages only ----

PITCH = "We can start within four weeks of the trial's approval, with two engineers on site."


def _send_pitch_without_a_session_token(client, challenge_id, origin, referer=None):
    headers = {"Origin": origin} if origin is not None else {}
    if referer is not None:
        headers["Referer"] = referer
    return client.post(f"/challenges/{challenge_id}/propose", headers=headers, data={
        "pitch": PITCH, "capability_id": "1", "password": "not-to-be-echoed-1234",
        "enrolment": "signed.payload.with-a-secret-not-to-be-echoed", "next": "/challenges/12?page=2-not-echoed",
    })


def test_a_form_refused_by_the_csrf_check_gives_back_what_was_typed(guarded, make):
    member = make.user("startup")
    challenge = make.challenge()
    client = sign_in(guarded.test_client(), member)
    response = _send_pitch_without_a_session_token(client, challenge.id, "http://localhost")
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "Your changes were not saved" in body
    assert "We can start within four weeks of the trial&#39;s approval" in body and "<textarea" in body
    assert ">Pitch</label>" in body  # what the box was called
    assert "not-to-be-echoed" not in body and "not-echoed" not in body  # only free-text fields, no secrets
    # A short Chinese question is given back too (a Han character counts as three).
    question = client.post(f"/challenges/{challenge.id}/questions", headers={"Origin": "http://localhost"},
                           data={"question": "可否延期？"})
    assert question.status_code == 400 and "可否延期？" in question.get_data(as_text=True)


def test_another_sites_form_is_not_echoed_on_ours(guarded, make):
    member = make.user("startup")
    challenge = make.challenge()
    client = sign_in(guarded.test_client(), member)
    for origin, referer in (("http://evil.example", None), ("http://localhost.evil.example", None), ("", None),
                            ("null", "http://localhost/challenges"), (None, "http://localhost.evil.example/x"),
                            (None, None)):
        body = _send_pitch_without_a_session_token(client, challenge.id, origin, referer).get_data(as_text=True)
        assert "four weeks" not in body and "Your changes were not saved" in body, (origin, referer)
    # From our own page without an Origin header, the Referer tells.
    own = _send_pitch_without_a_session_token(client, challenge.id, None, "http://localhost/challenges/1/propose")
    assert "four weeks" in own.get_data(as_text=True)


# --- the password re-check of a signed-in user, and an address already in use -----------------


def test_an_email_change_to_an_address_in_use_answers_as_any_other_and_tells_that_address(app, client, make, smtp):
    """Asking to move an account to an address that has one gives the same page as any other
    address (no way to list who has an account); that address hears of it, with no link."""
    owner = make.user("coordinator")
    user = make.user("startup")
    sign_in(client, user)
    answers = []
    for address in (owner.email, "free-address@example.org"):
        response = client.post("/account", data={"action": "email", "em-email": address,
                                                  "em-current_password": PASSWORD})
        assert response.status_code == 302
        page = client.get(response.headers["Location"]).get_data(as_text=True).replace(address, "ADDRESS")
        # A CSRF token carries the second it was signed: two pages a second apart differ there;
        # the link's deadline is shown to the minute, and the two requests may straddle one.
        page = re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r'\1"', page)
        answers.append(re.sub(r"\b\d{1,2}:\d{2}\b", "HH:MM", page))
    assert answers[0] == answers[1] and "We have sent a link to ADDRESS" in answers[0]
    told = [m for m in smtp.to(owner.email) if "move another InnoMatch account" in str(m["Subject"])]
    assert len(told) == 1 and "/account/verify/" not in smtp.body(told[0])
    assert smtp.link("free-address@example.org", "/account/verify/")
    with app.app_context():
        assert db.get(User, user.id).email == user.email and db.get(User, owner.id).email == owner.email


def test_an_earlier_link_ends_alike_whether_or_not_the_next_address_is_in_use(app, make, smtp):
    """A link still open after asking for an address in use, and closed after a free one,
    would tell which addresses have accounts: each new request ends the earlier links."""
    owner = make.user("coordinator")
    answers = []
    for n, target in enumerate((owner.email, "nobody-here@example.org")):
        client = sign_in(app.test_client(), make.user("startup"))  # each its own hourly cap of links
        _ask_email_change(client, f"my-own-box-{n}@example.org")
        link = smtp.link(f"my-own-box-{n}@example.org", "/account/verify/")
        assert client.get(link).status_code == 200
        _ask_email_change(client, target)
        answers.append(client.get(link).status_code)
    assert answers == [404, 404]


def test_the_password_re_check_is_throttled_for_the_account_wherever_it_is_asked(app, make):
    """Whoever holds a signed-in session cannot guess its password: failures on any form that
    re-checks it (password, email, closing the account; the second step's off switch too) count
    together, and after five
    each try waits, even with the right password, until the wait is over."""
    with time_machine.travel(datetime(2026, 12, 7, 10, 0, tzinfo=UTC), tick=False) as frozen:
        _throttled_re_checks(app, make, frozen)


def _throttled_re_checks(app, make, frozen) -> None:  # type: ignore[no-untyped-def]
    user = make.user("startup")
    client = sign_in(app.test_client(), user)
    wrong = "not-my-password-1"
    forms = [
        ("/account", {"action": "email", "em-email": "x@example.org", "em-current_password": wrong}),
        ("/account", {"action": "password", "pw-current_password": wrong, "pw-new_password": NEW_PASSWORD,
                      "pw-confirm": NEW_PASSWORD}),
        ("/account/close", {"understood": "y", "current_password": wrong}),
    ]
    for n in range(accounts.THROTTLE_AFTER):
        path, data = forms[n % len(forms)]
        response = client.post(path, data=data)
        assert response.status_code == 400 and "current password is not correct" in response.get_data(as_text=True)
    other_browser = sign_in(app.test_client(), user)
    right = {"action": "password", "pw-current_password": PASSWORD, "pw-new_password": NEW_PASSWORD,
             "pw-confirm": NEW_PASSWORD}
    waiting = other_browser.post("/account", data=right)
    assert waiting.status_code == 400 and "Too many failed attempts" in waiting.get_data(as_text=True)
    with app.app_context():
        assert verify_password(db.get(User, user.id).password_hash, PASSWORD)
    frozen.shift(accounts.throttle_delay(accounts.THROTTLE_AFTER))  # the wait is over
    assert other_browser.post("/account", data=right).status_code == 302
    with app.app_context():
        row = db.scalar(select(LoginThrottle).where(LoginThrottle.email == user.email,
                                                    LoginThrottle.source == accounts.RECHECK_SOURCE))
        assert row.failures == 0
    # The sign-in form's own count for the account is another one: it was not touched.
    signed_in = sign_in(app.test_client(), user, through_form=True, password=NEW_PASSWORD)
    assert signed_in.get("/account").status_code == 200


def test_registering_cannot_tell_by_a_startup_name_whether_an_address_has_an_account(app, client, make, smtp):
    """Try a name with an address, then the same name with a fresh address: the second answer
    must not depend on whether the first address had an account (review of 7 Dec 2026, M1)."""
    staff = make.user("officer")

    def register(email: str, name: str):
        return client.post("/register", data={
            "startup_name": name, "display_name": "Probe", "email": email, "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD, "website": "", "size": "1-10", "accept": "y",
        })

    answers = []
    for first, name in ((staff.email, "Probe Co One"), ("nobody-probe@example.org", "Probe Co Two")):
        register(first, name)
        second = register(f"fresh-{name.split()[-1].lower()}@example.org", name)
        answers.append((second.status_code, second.headers.get("Location")))
    assert answers[0] == answers[1] == (302, "/register/check-email")
    # Nor by what reaches the second address: in both probes the name is held, so both are
    # told by email that it is taken (a name tried with an address that has an account is
    # held as a new address's startup holds it).
    for second in ("fresh-one@example.org", "fresh-two@example.org"):
        (told,) = smtp.to(second)
        assert "already registered" in str(told["Subject"]) and "register again" in smtp.body(told)
