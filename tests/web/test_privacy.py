"""Personal data: the collection statement, a user's download, closing an account, retention."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from models import AuditEvent, ChallengeFollow, LoginAttempt, Notification, Proposal, Trial, User
from portal import clock
from portal.database import db
from portal.passwords import verify_password
from portal.services import privacy
from tests.factories import PASSWORD
from tests.helpers import sign_in


def _stored(app, user_id):
    with app.app_context():
        user = db.get(User, user_id)
        db.expunge(user)
        return user


def test_privacy_statement_is_public_and_linked_from_the_footer_and_registration(client):
    page = client.get("/privacy")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for part in ("Personal Information Collection Statement", "Who may receive it", "sections 18 and 22",
                 "privacy@innomatch.hk", "A startup registration that nobody confirms within 30 days is removed"):
        assert part in text
    assert 'href="/privacy"' in client.get("/").get_data(as_text=True)
    register = client.get("/register").get_data(as_text=True)
    assert 'href="/privacy"' in register and "Who may receive it" in register
    client.post("/language", data={"locale": "zh_Hant_HK"})
    chinese = client.get("/privacy").get_data(as_text=True)
    assert "收集個人資料聲明" in chinese and "《個人資料（私隱）條例》" in chinese


def test_a_user_downloads_their_own_personal_data_as_json(app, client, make):
    member = make.user("startup", display_name="Mei Chan")
    other = make.user("startup")
    capability = make.capability(member.startup)
    challenge = make.challenge()
    make.proposal(challenge, capability, submitted_by_id=member.id, pitch="Our own pitch, eight weeks.")
    with app.app_context():
        db.add_all([
            Notification(user_id=member.id, kind="proposal.received", payload={"challenge_title": "Mine"}),
            Notification(user_id=other.id, kind="proposal.received", payload={"challenge_title": "Not mine"}),
            LoginAttempt(email=member.email, ip="203.0.113.9", success=True),
        ])
        db.commit()
    sign_in(client, member)
    response = client.get("/account/data.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == member.email and data["account"]["display_name"] == "Mei Chan"
    assert data["account"]["startup"] == member.startup.name
    assert [n["details"]["challenge_title"] for n in data["notifications"]] == ["Mine"]
    assert [p["pitch"] for p in data["proposals_submitted"]] == ["Our own pitch, eight weeks."]
    assert data["sign_in_attempts"][0]["ip"] == "203.0.113.9"
    assert "password" not in json.dumps(data["account"]).replace("password_changed_at", "")
    assert client.get("/account").get_data(as_text=True).count('href="/account/data.json"') == 1


def test_the_download_leaves_out_sign_in_attempts_made_before_the_account_had_its_address(app, client, make):
    """Attempts are recorded by address: someone's tries on an address before this account had
    it, or its earlier owner's, are not this person's data (review of 7 Dec 2026, L3)."""
    with app.app_context():
        db.add(LoginAttempt(email="later@example.net", ip="198.51.100.77", success=False,
                            created_at=clock.now() - timedelta(days=3)))
        db.commit()
    member = make.user("startup", email="later@example.net", created_at=clock.now() - timedelta(days=10))
    with app.app_context():
        db.add(LoginAttempt(email=member.email, ip="203.0.113.9", success=True))
        # The account moved to this address a day ago: what came before the move is not its own.
        db.add(AuditEvent(actor_id=member.id, action="user.email_change", entity_type="user", entity_id=member.id,
                          created_at=clock.now() - timedelta(days=1)))
        db.add(LoginAttempt(email=member.email, ip="192.0.2.5", success=False,
                            created_at=clock.now() - timedelta(days=2)))
        db.commit()
    sign_in(client, member)
    data = json.loads(client.get("/account/data.json").get_data(as_text=True))
    assert {a["ip"] for a in data["sign_in_attempts"]} == {"203.0.113.9"}


def test_closing_an_account_erases_personal_data_but_keeps_trials_and_the_audit_log(app, client, make):
    member = make.user("startup", display_name="Mei Chan", email="mei@example.org")
    capability = make.capability(member.startup)
    challenge = make.challenge()
    sign_in(client, member)
    proposed = client.post(f"/challenges/{challenge.id}/propose",
                           data={"capability_id": str(capability.id), "pitch": "We can run this pilot in eight weeks."})
    assert proposed.status_code == 302
    with app.app_context():
        db.add_all([Notification(user_id=member.id, kind="x", payload={}),
                    ChallengeFollow(user_id=member.id, challenge_id=challenge.id),
                    LoginAttempt(email="mei@example.org", ip="203.0.113.9", success=True)])
        db.commit()
        events_before = db.scalar(select(func.count()).select_from(AuditEvent))
    elsewhere = sign_in(app.test_client(), member)

    response = client.post("/account/close", data={"understood": "y", "current_password": PASSWORD})
    assert response.status_code == 302

    stored = _stored(app, member.id)
    assert stored.display_name == f"Former user #{member.id}"
    assert stored.email.endswith(".invalid") and "mei" not in stored.email
    assert not stored.is_active and stored.closed_at is not None
    assert not verify_password(stored.password_hash, PASSWORD)
    assert elsewhere.get("/account").headers["Location"].startswith("/login")
    with app.app_context():
        proposal = db.scalar(select(Proposal).where(Proposal.challenge_id == challenge.id))
        assert proposal.submitted_by_id == member.id and proposal.pitch  # the record stays, under the pseudonym
        assert db.scalar(select(Trial).where(Trial.proposal_id == proposal.id)) is not None
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == events_before + 1
        own = list(db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "user",
                                                       AuditEvent.entity_id == member.id)))
        assert "mei@example.org" not in json.dumps([[e.before, e.after] for e in own])
        assert "user.close" in {e.action for e in own}
        assert db.scalar(select(func.count()).where(Notification.user_id == member.id)) == 0
        assert db.scalar(select(func.count()).where(ChallengeFollow.user_id == member.id)) == 0
        assert db.scalar(select(func.count()).where(LoginAttempt.email == "mei@example.org")) == 0
    assert client.post("/login", data={"email": "mei@example.org", "password": PASSWORD}).status_code == 400


def test_the_closed_accounts_address_is_told_once_what_was_erased_and_whom_to_tell(app, client, make, smtp):
    member = make.user("startup", display_name="Mei Chan", email="mei@example.org", locale="zh_Hant_HK")
    sign_in(client, member)
    wrong = client.post("/account/close", data={"understood": "y", "current_password": "not-my-password-1"})
    assert wrong.status_code == 400 and smtp.to("mei@example.org") == []
    assert client.post("/account/close", data={"understood": "y", "current_password": PASSWORD}).status_code == 302
    (closed,) = smtp.to("mei@example.org")
    body = smtp.body(closed)
    # In the account's own language, with the DPO's address; not the pseudonym (the outbox keeps
    # the address for a while, and must not tie it to the record's new name).
    assert "你的 InnoMatch 帳戶已按你的要求關閉" in body and "Former user" not in body
    assert app.config["PRIVACY_CONTACT_EMAIL"] in body and "Mei Chan" in body


def test_an_unconfirmed_address_is_not_written_to_when_its_account_closes(app, client, make, smtp):
    member = make.user("startup", email="typo@example.org", email_verified_at=None)
    sign_in(client, member)
    assert client.post("/account/close", data={"understood": "y", "current_password": PASSWORD}).status_code == 302
    assert _stored(app, member.id).closed_at is not None and smtp.to("typo@example.org") == []


def test_closing_an_account_needs_the_password_and_the_confirmation(app, client, make):
    member = make.user("startup")
    sign_in(client, member)
    wrong = client.post("/account/close", data={"understood": "y", "current_password": "not-my-password-1"})
    assert wrong.status_code == 400 and "current password is not correct" in wrong.get_data(as_text=True)
    unticked = client.post("/account/close", data={"current_password": PASSWORD})
    assert unticked.status_code == 400
    assert _stored(app, member.id).closed_at is None


def test_the_only_administrator_cannot_close_their_account(app, client, make):
    admin = make.user("admin")
    sign_in(client, admin)
    response = client.post("/account/close", data={"understood": "y", "current_password": PASSWORD})
    assert response.status_code == 400 and "only administrator" in response.get_data(as_text=True)
    assert _stored(app, admin.id).is_active


def test_purge_inactive_pseudonymises_accounts_idle_longer_than_the_retention(app, make, monkeypatch):
    long_ago = clock.now() - timedelta(days=4 * 365)
    idle = make.user("startup", last_login_at=long_ago)
    never = make.user("startup", created_at=long_ago)
    recent = make.user("startup", last_login_at=clock.now() - timedelta(days=30))
    runner = app.test_cli_runner()
    off = runner.invoke(args=["accounts", "purge-inactive"])
    assert off.exit_code == 0 and "not set" in off.output
    monkeypatch.setitem(app.config, "ACCOUNT_RETENTION_DAYS", 3 * 365)
    dry = runner.invoke(args=["accounts", "purge-inactive", "--dry-run"])
    assert f"[{idle.id}, {never.id}]" in dry.output and _stored(app, idle.id).closed_at is None
    result = runner.invoke(args=["accounts", "purge-inactive"])
    assert result.exit_code == 0 and "Pseudonymised 2 account(s)" in result.output
    assert _stored(app, idle.id).display_name == f"Former user #{idle.id}"
    assert _stored(app, never.id).closed_at is not None
    assert _stored(app, recent.id).closed_at is None
    with app.app_context():
        assert privacy.inactive_accounts(3 * 365) == []  # closed accounts are not purged again


def test_the_close_page_warns_the_only_member_of_a_startup(app, make):
    startup = make.startup(name="Lonely Robotics")
    only = make.user("startup", startup=startup)
    page = sign_in(app.test_client(), only).get("/account/close").get_data(as_text=True)
    assert "You are the only member of Lonely Robotics on InnoMatch." in page
    assert 'href="/startups/team"' in page
    make.user("startup", startup=startup)
    page = sign_in(app.test_client(), only).get("/account/close").get_data(as_text=True)
    assert "You are the only member" not in page and "stays for its other members" in page
    officer_page = sign_in(app.test_client(), make.user("officer")).get("/account/close").get_data(as_text=True)
    assert "You are the only member" not in officer_page and "stays for its other members" not in officer_page


def test_a_registration_nobody_confirmed_is_removed_after_its_days_freeing_the_name(app, client, make, monkeypatch):
    """An address that never confirms (mistyped, or not the registrant's) must not keep a
    company's name from it for good; a startup with a confirmed member, a proposal, or no
    account at all (listed by the lab) stays; a name held for an address in use is released
    after the same time."""
    from models import AccountToken, AuditEvent, Startup, StartupNameHold

    long_ago = clock.now() - timedelta(days=45)

    def registered(name: str, **member: object) -> Startup:
        startup = make.startup(name=name, created_at=long_ago, verified=False)
        member.setdefault("email_verified_at", None)
        member.setdefault("created_at", long_ago)
        make.user("startup", startup=startup, **member)
        return startup

    squatted = registered("Acme Health")
    with app.app_context():
        squatter = db.scalar(select(User).where(User.startup_id == squatted.id))
        db_user = squatter.id
        db.add(AuditEvent(action="user.create", entity_type="user", entity_id=db_user,
                          after={"email": squatter.email, "display_name": squatter.display_name, "role": "startup"}))
        db.commit()
    make.capability(squatted)
    registered("Fresh Start", created_at=clock.now() - timedelta(days=3))  # not 30 days yet
    registered("Real Robotics", email_verified_at=long_ago)  # confirmed
    # Confirmed, then closed: pseudonymising erased the confirmation, but this was a user.
    registered("Closed Member Co", closed_at=long_ago, is_active=False)
    checked = make.startup(name="Verified Co", created_at=long_ago, verified=True)
    make.user("startup", startup=checked, email_verified_at=None, created_at=long_ago)
    proposing = registered("Proposing Co")
    make.proposal(make.challenge(), make.capability(proposing))
    newcomer = registered("New Member Co")
    make.user("startup", startup=newcomer, email_verified_at=None)  # joined since the cutoff
    make.startup(name="Listed Without Accounts", created_at=long_ago, verified=False)
    with app.app_context():
        db.add(StartupNameHold(name_key="old hold", created_at=long_ago))
        db.add(StartupNameHold(name_key="new hold", created_at=clock.now()))
        db.add(AccountToken(user_id=db_user, purpose="verify_email", token_hash="x" * 64, created_at=long_ago,
                            expires_at=long_ago + timedelta(days=2), email="squatter@example.org"))
        db.commit()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["accounts", "expire-unconfirmed", "--dry-run"])
    assert dry.exit_code == 0 and "['Acme Health']" in dry.output
    monkeypatch.setitem(app.config, "UNCONFIRMED_REGISTRATION_DAYS", 0)
    off = runner.invoke(args=["accounts", "expire-unconfirmed"])
    assert off.exit_code == 0 and "UNCONFIRMED_REGISTRATION_DAYS is 0 or not set" in off.output
    monkeypatch.setitem(app.config, "UNCONFIRMED_REGISTRATION_DAYS", 30)
    from portal import tasks

    with app.app_context():
        done = tasks.housekeeping()
        assert done["registrations_removed"] == 1 and done["name_holds_released"] == 1
        left = set(db.scalars(select(Startup.name)))
        assert "Acme Health" not in left
        assert {"Fresh Start", "Real Robotics", "Closed Member Co", "Verified Co", "Proposing Co", "New Member Co",
                "Listed Without Accounts"} <= left
        assert db.get(User, db_user) is None
        assert db.scalar(select(func.count()).select_from(AccountToken).where(AccountToken.user_id == db_user)) == 0
        # The address is erased from the audit log's snapshots, as a closed account's is.
        created = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.create", AuditEvent.entity_id == db_user))
        assert created.after["email"] == privacy.ERASED and created.after["role"] == "startup"
        assert set(db.scalars(select(StartupNameHold.name_key))) == {"new hold"}
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "startup.registration_expired"))
        assert event.entity_id == squatted.id and event.before == {"name": "Acme Health"}
    # The name is free again: a new registration with it makes the startup.
    response = client.post("/register", data={
        "display_name": "Ada Lee", "email": "ada@acme.example", "startup_name": "Acme Health", "size": "1-10",
        "password": PASSWORD, "confirm": PASSWORD,
    })
    assert response.status_code == 302 and response.headers["Location"] == "/register/check-email"
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(Startup).where(Startup.name == "Acme Health")) == 1


def test_an_unconfirmed_founder_is_told_when_the_registration_would_be_removed(app, make, monkeypatch):
    startup = make.startup(name="Deadline Ltd", created_at=clock.now() - timedelta(days=10), verified=False)
    founder = make.user("startup", startup=startup, email_verified_at=None)
    page = sign_in(app.test_client(), founder).get("/account").get_data(as_text=True)
    assert "If nobody in your startup confirms an address by" in page
    make.user("startup", startup=startup)  # a colleague confirmed: nothing is removed
    page = sign_in(app.test_client(), founder).get("/account").get_data(as_text=True)
    assert "If nobody in your startup confirms" not in page and "Confirm your email address" in page
    monkeypatch.setitem(app.config, "UNCONFIRMED_REGISTRATION_DAYS", 0)
    with app.app_context():
        assert privacy.registration_deadline(db.get(User, founder.id)) is None
