"""Password reset by email, email verification, and verified changes of address."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from models import AccountToken, AuditEvent, Challenge, User
from portal import clock
from portal.database import db
from portal.errors import DomainError
from portal.passwords import verify_password
from portal.services import accounts, proposals, recommendations
from tests.factories import PASSWORD
from tests.helpers import sign_in

NEW_PASSWORD = "a-brand-new-passphrase-77"


def _ask_reset(client, email):
    return client.post("/password/forgot", data={"email": email}, follow_redirects=True)


def _reset(client, path, password=NEW_PASSWORD):
    return client.post(path, data={"password": password, "confirm": password})


def _stored(app, user_id):
    """The user as stored now, read in an app context of its own.

    Tests that follow several clients' sessions must not hold the ``ctx`` fixture's app
    context: requests would share its ``g``, where Flask-Login keeps the signed-in user.
    """
    with app.app_context():
        user = db.get(User, user_id)
        db.expunge(user)
        return user


def _actions(app, user_id):
    with app.app_context():
        return set(db.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == user_id)))


# --- password reset ---------------------------------------------------------------------------


def test_sign_in_page_offers_a_password_reset(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page and "Forgot your password?" in page


def _page_for(response, email):
    """The page with the address asked about, and each form's CSRF token, taken out.

    A CSRF token carries the second it was signed, so two answers a second apart differ
    there whatever the address.
    """
    page = response.get_data(as_text=True).replace(email, "X")
    return re.sub(r'(<input[^>]*name="csrf_token"[^>]*value=")[^"]*"', r'\1"', page)


def test_reset_request_answers_alike_whether_or_not_the_address_has_an_account(client, make, smtp):
    user = make.user("startup")
    known = _ask_reset(client, user.email)
    unknown = _ask_reset(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert 'name="csrf_token"' in known.get_data(as_text=True)
    assert _page_for(known, user.email) == _page_for(unknown, "nobody@example.org")
    assert len(smtp.to(user.email)) == 1
    assert smtp.to("nobody@example.org") == []


def test_reset_link_sets_the_password_ends_every_session_and_tells_the_user(app, client, make, smtp):
    user = make.user("startup")
    elsewhere = sign_in(app.test_client(), user)
    assert elsewhere.get("/account").status_code == 200
    _ask_reset(client, user.email)
    path = smtp.link(user.email, "/password/reset/")
    assert client.get(path).status_code == 200
    response = _reset(client, path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert verify_password(_stored(app, user.id).password_hash, NEW_PASSWORD)
    assert elsewhere.get("/account").headers["Location"].startswith("/login")  # that session ended
    assert "password of your InnoMatch account was just changed" in smtp.body(smtp.to(user.email)[-1])
    assert "user.password_reset" in _actions(app, user.id)


def test_reset_link_works_only_once(client, make, smtp, ctx):
    user = make.user("startup")
    _ask_reset(client, user.email)
    path = smtp.link(user.email, "/password/reset/")
    assert _reset(client, path).status_code == 302
    again = _reset(client, path, "yet-another-passphrase-99")
    assert again.status_code == 404 and "This link is not valid" in again.get_data(as_text=True)
    ctx.expire_all()
    assert verify_password(ctx.get(User, user.id).password_hash, NEW_PASSWORD)


def test_reset_link_expires_after_an_hour(client, make, smtp, ctx):
    user = make.user("startup")
    _ask_reset(client, user.email)
    path = smtp.link(user.email, "/password/reset/")
    with time_machine.travel(clock.now() + timedelta(minutes=61), tick=False):
        assert client.get(path).status_code == 404
        assert _reset(client, path).status_code == 404
    assert verify_password(ctx.get(User, user.id).password_hash, PASSWORD)


def test_only_a_digest_of_the_reset_secret_is_stored(client, make, smtp, ctx):
    user = make.user("startup")
    _ask_reset(client, user.email)
    secret = smtp.link(user.email, "/password/reset/").partition("?")[0].rsplit("/", 1)[-1]
    (token,) = ctx.scalars(select(AccountToken).where(AccountToken.user_id == user.id)).all()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest() != secret


def test_a_newer_reset_link_voids_the_older_one(client, make, smtp):
    user = make.user("startup")
    _ask_reset(client, user.email)
    first = smtp.link(user.email, "/password/reset/")
    _ask_reset(client, user.email)
    second = smtp.link(user.email, "/password/reset/")
    assert first != second
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_reset_links_per_account_are_capped_each_hour(client, make, smtp):
    user = make.user("startup")
    for _ in range(accounts.MAX_LINKS_PER_HOUR + 2):
        assert _ask_reset(client, user.email).status_code == 200
    assert len(smtp.to(user.email)) == accounts.MAX_LINKS_PER_HOUR


def test_a_weak_new_password_is_refused_and_the_link_still_works(client, make, smtp):
    user = make.user("startup")
    _ask_reset(client, user.email)
    path = smtp.link(user.email, "/password/reset/")
    response = _reset(client, path, "short")
    assert response.status_code == 400 and "at least 12 characters" in response.get_data(as_text=True)
    assert _reset(client, path).status_code == 302


def test_closed_or_inactive_accounts_get_no_reset_link(client, make, smtp):
    user = make.user("startup", is_active=False)
    _ask_reset(client, user.email)
    assert smtp.to(user.email) == []


# --- email verification at registration ------------------------------------------------------


def _register(client, email="founder@example.org"):
    return client.post("/register", data={
        "display_name": "Ada Founder", "email": email, "startup_name": "Verify Ltd", "size": "1-10",
        "password": PASSWORD, "confirm": PASSWORD,
    })


def test_registration_emails_a_link_and_the_account_starts_unverified(client, smtp, ctx):
    assert _register(client).status_code == 302
    user = ctx.scalar(select(User).where(User.email == "founder@example.org"))
    assert user.email_verified_at is None
    # Registering does not sign in (the answer is the same for a known address): sign in.
    assert client.post("/login", data={"email": "founder@example.org", "password": PASSWORD}).status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert "Confirm your email address" in page and "Send the link again" in page
    path = smtp.link("founder@example.org", "/account/verify/")
    assert client.get(path).status_code == 200  # a button: a mail scanner's GET spends nothing
    ctx.expire_all()
    assert ctx.get(User, user.id).email_verified_at is None
    confirmed = client.post(path)
    # A new startup with nothing described yet is led to its first capability.
    assert confirmed.status_code == 302 and confirmed.headers["Location"].endswith("/startups/capabilities/new")
    ctx.expire_all()
    assert ctx.get(User, user.id).email_verified_at is not None
    assert "Send the link again" not in client.get("/account").get_data(as_text=True)
    assert client.post(path).status_code == 404  # once
    spent = client.get(path).get_data(as_text=True)
    # The page for a spent confirmation link offers what fits it, not a password reset.
    assert "already confirmed your email address" in spent and "password reset" not in spent


def test_an_unverified_member_can_ask_for_the_link_again(client, make, smtp):
    user = make.user("startup", email_verified_at=None)
    sign_in(client, user)
    response = client.post("/account/verify/resend", data={"next": "/account"})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert len(smtp.to(user.email)) == 1
    assert client.post(smtp.link(user.email, "/account/verify/")).status_code == 302


def test_an_unverified_member_cannot_propose(client, make, ctx):
    member = make.user("startup", email_verified_at=None)
    capability = make.capability(ctx.get(User, member.id).startup)
    challenge = make.challenge()
    sign_in(client, member)
    response = client.post(f"/challenges/{challenge.id}/propose",
                           data={"capability_id": str(capability.id), "pitch": "We can run this pilot in eight weeks."})
    assert response.status_code == 400
    assert "Confirm your email address before you propose" in response.get_data(as_text=True)
    with pytest.raises(DomainError):
        proposals.submit_proposal(ctx.get(User, member.id), ctx.get(Challenge, challenge.id),
                                  {"capability_id": capability.id, "pitch": "We can run this pilot in eight weeks."})


def _upcoming_workshop(ctx):  # type: ignore[no-untyped-def]
    """A committed workshop with places, ten days ahead."""
    from models import Workshop

    start = (clock.now() + timedelta(days=10)).replace(microsecond=0)
    workshop = Workshop(starts_at=start, ends_at=start + timedelta(hours=2), title_en="Forum", title_zh="論壇",
                        description="Demos.", location="Science Park", capacity=5)
    ctx.add(workshop)
    ctx.commit()
    return workshop


def test_an_unverified_member_cannot_take_a_workshop_place_ask_a_question_or_make_a_token(client, make, ctx):
    """Nothing that reaches other people before the address is confirmed (review of 7 Dec
    2026, M3): throwaway registrations could fill a workshop or write to a department."""
    from models import ApiToken, ChallengeQuestion, WorkshopRegistration

    member = make.user("startup", email_verified_at=None)
    challenge = make.challenge()
    workshop = _upcoming_workshop(ctx)
    sign_in(client, member)
    answers = {
        "workshop": client.post(f"/workshops/{workshop.id}/register"),
        "question": client.post(f"/challenges/{challenge.id}/questions",
                                data={"question": "Which systems must the pilot connect to?"}),
        "token": client.post("/account/tokens", data={"name": "ci", "scope": "read", "days": "30",
                                                      "current_password": PASSWORD}),
    }
    for what, response in answers.items():
        assert response.status_code in (400, 409), what
        assert "Confirm your email address before you" in response.get_data(as_text=True), what
    assert ctx.scalars(select(WorkshopRegistration)).all() == []
    assert ctx.scalars(select(ChallengeQuestion)).all() == []
    assert ctx.scalars(select(ApiToken)).all() == []


def test_startups_whose_members_are_all_unverified_are_not_recommended(app, make):
    challenge = make.challenge(title="Dental appointment chatbot",
                               problem_statement="Parents wait on the phone to book dental clinic appointments.")
    description = "A chatbot that books dental clinic appointments for parents."
    unverified, verified, no_accounts = (make.startup(name=n) for n in ("Quiet Ltd", "Loud Ltd", "Listed Ltd"))
    make.user("startup", startup=unverified, email_verified_at=None)
    make.user("startup", startup=verified, email_verified_at=None)
    make.user("startup", startup=verified)  # one confirmed member is enough
    for startup in (unverified, verified, no_accounts):
        make.capability(startup, name="Booking chatbot", description=description)
    with app.app_context():
        recommendations.clear_caches()
        found = {r.startup.id for r in recommendations.recommend_startups(db.get(Challenge, challenge.id), None)}
    assert verified.id in found and no_accounts.id in found
    assert unverified.id not in found


# --- changing the email address --------------------------------------------------------------


def test_email_change_tells_the_old_address_and_waits_for_the_new_one(app, client, make, smtp):
    user = make.user("startup")
    sign_in(client, user)
    elsewhere = sign_in(app.test_client(), user)
    response = client.post("/account", data={"action": "email", "em-email": "Moved@Example.org",
                                              "em-current_password": PASSWORD})
    assert response.status_code == 302
    assert _stored(app, user.id).email == user.email  # not yet
    (notice,) = smtp.to(user.email)
    assert "moved@example.org" in smtp.body(notice) and "/account/verify/" not in smtp.body(notice)
    # The account page says which address the change waits on, until it is confirmed.
    assert "Waiting for you to confirm moved@example.org" in client.get("/account").get_data(as_text=True)
    path = smtp.link("moved@example.org", "/account/verify/")
    assert client.post(path).status_code == 302
    stored = _stored(app, user.id)
    assert stored.email == "moved@example.org" and stored.email_verified_at is not None
    page = client.get("/account")
    assert page.status_code == 200  # the browser that confirmed stays signed in
    assert "Waiting for you to confirm" not in page.get_data(as_text=True)
    assert elsewhere.get("/account").headers["Location"].startswith("/login")  # the others end
    assert {"user.email_change_request", "user.email_change"} <= _actions(app, user.id)


def test_a_pending_email_change_can_be_cancelled_and_its_link_then_fails(app, client, make, smtp):
    user = make.user("startup")
    sign_in(client, user)
    client.post("/account", data={"action": "email", "em-email": "moved@example.org", "em-current_password": PASSWORD})
    page = client.get("/account").get_data(as_text=True)
    assert "Waiting for you to confirm moved@example.org" in page and "Cancel this change" in page
    path = smtp.link("moved@example.org", "/account/verify/")
    cancelled = client.post("/account/email/cancel", follow_redirects=True).get_data(as_text=True)
    assert "The change of email address is cancelled" in cancelled and "Waiting for you to confirm" not in cancelled
    assert client.post(path).status_code == 404  # the link no longer works
    assert _stored(app, user.id).email == user.email
    assert "user.email_change_cancel" in _actions(app, user.id)
    again = client.post("/account/email/cancel", follow_redirects=True).get_data(as_text=True)
    assert "No change of email address was waiting." in again


def test_a_reset_link_sent_to_the_old_address_dies_with_the_change(client, make, smtp):
    user = make.user("startup")
    _ask_reset(client, user.email)
    reset_path = smtp.link(user.email, "/password/reset/")
    sign_in(client, user)
    client.post("/account", data={"action": "email", "em-email": "moved@example.org", "em-current_password": PASSWORD})
    client.post(smtp.link("moved@example.org", "/account/verify/"))
    assert client.get(reset_path).status_code == 404


def test_a_change_to_an_address_taken_meanwhile_is_refused(client, make, smtp, ctx):
    user = make.user("startup")
    sign_in(client, user)
    client.post("/account", data={"action": "email", "em-email": "wanted@example.org", "em-current_password": PASSWORD})
    path = smtp.link("wanted@example.org", "/account/verify/")
    make.user("startup", email="wanted@example.org")
    response = client.post(path)
    assert response.status_code == 400 and "Another account now uses this email address" in response.get_data(as_text=True)
    assert ctx.get(User, user.id).email == user.email


# --- accounts made by others -----------------------------------------------------------------


def test_an_account_an_admin_creates_gets_a_verification_link(client, make, smtp, ctx):
    admin = make.user("admin")
    sign_in(client, admin)
    department = make.department()
    response = client.post("/admin/users/new", data={
        "email": "new.officer@dh.gov.hk", "display_name": "New Officer", "role": "officer",
        "department": str(department.id), "locale": "en", "password": NEW_PASSWORD,
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    assert ctx.scalar(select(User).where(User.email == "new.officer@dh.gov.hk")).email_verified_at is None
    assert smtp.link("new.officer@dh.gov.hk", "/account/verify/")


def test_an_account_made_from_the_command_line_is_verified(app, make):
    department = make.department()
    result = app.test_cli_runner().invoke(args=[
        "create-user", "--email", "ops@dh.gov.hk", "--name", "Ops", "--role", "officer",
        "--department", department.code, "--password", NEW_PASSWORD,
    ])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.scalar(select(User).where(User.email == "ops@dh.gov.hk")).email_verified_at is not None


def test_a_reset_link_opens_in_the_account_holders_language(app, client, make, smtp):
    user = make.user("startup", locale="zh_Hant_HK")
    _ask_reset(client, user.email)
    path = smtp.link(user.email, "/password/reset/")
    assert path.endswith("?lang=zh_Hant_HK")
    page = app.test_client().get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'lang="zh-Hant-HK"' in page


def test_sending_the_link_again_from_a_refused_form_returns_to_a_page_that_exists(client, make, ctx):
    """The banner's "send the link again" goes back to the page it was on; on the answer to a
    form, whose address may take posts only, to the page the form was on (walkthrough of
    7 Dec 2026: it ended on a 405)."""
    user = make.user("startup", email_verified_at=None)
    workshop = _upcoming_workshop(ctx)
    sign_in(client, user)
    page_url = f"/workshops/{workshop.id}"
    refused = client.post(f"{page_url}/register", headers={"Referer": f"http://localhost{page_url}"})
    assert refused.status_code == 409
    assert f'name="next" value="{page_url}"' in refused.get_data(as_text=True)
    back = client.post("/account/verify/resend", data={"next": page_url})
    assert back.status_code == 302 and back.headers["Location"] == page_url
    assert client.get(page_url).status_code == 200


# --- changing the name ------------------------------------------------------------------------


def test_owner_changes_the_name_the_account_is_shown_by_audited(app, client, make):
    user = make.user("startup", display_name="Chan Tai Man")
    sign_in(client, user)
    assert 'value="Chan Tai Man"' in client.get("/account").get_data(as_text=True)
    response = client.post("/account/name", data={"nm-display_name": "  陳大文 Chan Tai-man  "}, follow_redirects=True)
    assert response.status_code == 200 and "Your name is changed." in response.get_data(as_text=True)
    assert _stored(app, user.id).display_name == "陳大文 Chan Tai-man"
    with app.app_context():
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.rename"))
        assert event.actor_id == user.id and event.before["display_name"] == "Chan Tai Man"
        assert event.after["display_name"] == "陳大文 Chan Tai-man"


@pytest.mark.parametrize(("name", "message"), [("   ", "Enter your name."), ("x" * 121, "at most 120 characters")])
def test_a_blank_or_long_name_is_refused_on_the_page_and_nothing_changes(app, client, make, name, message):
    user = make.user("startup", display_name="Chan Tai Man")
    sign_in(client, user)
    response = client.post("/account/name", data={"nm-display_name": name})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _stored(app, user.id).display_name == "Chan Tai Man"
    assert "user.rename" not in _actions(app, user.id)


def test_the_service_cleans_the_name_and_refuses_a_closed_accounts_pseudonym(app, make):
    user = make.user("startup", display_name="Chan Tai Man")
    with app.app_context():
        stored = db.get(User, user.id)
        accounts.change_name(stored, "Chan\u200b Tai Man")  # the same name once cleaned: nothing to record
        assert "user.rename" not in {e.action for e in db.scalars(select(AuditEvent))}
        for taken in ("Former user #12", "former user 7"):
            with pytest.raises(DomainError, match="kept for closed accounts"):
                accounts.change_name(stored, taken)
        with pytest.raises(DomainError, match="at most 120"):
            accounts.change_name(stored, "x" * 121)
        assert stored.display_name == "Chan Tai Man"
