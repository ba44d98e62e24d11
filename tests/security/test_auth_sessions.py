"""Authentication and sessions (ASVS V2, V3): hashing, policy, throttling, cookies, timeouts, logs."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import time_machine
from sqlalchemy import select, update

from models import AccountToken, AuditEvent, LoginAlert, LoginThrottle, User
from portal.database import db
from portal.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    hash_password,
    password_problem,
    verify_password,
)
from portal.security import AUTH_AT_KEY, SEEN_KEY
from portal.services import accounts, mail
from tests.factories import PASSWORD
from tests.helpers import sign_in

from .world import ROOT, record_figure

NEW_PASSWORD = "a-brand-new-passphrase-77"


def _set_cookie_headers(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [v for k, v in response.headers.items() if k.lower() == "set-cookie"]


def _session_cookie(response) -> str:  # type: ignore[no-untyped-def]
    cookies = [c for c in _set_cookie_headers(response) if c.startswith("session=")]
    assert cookies, "no session cookie was set"
    return cookies[-1]


@pytest.fixture
def fast_hashing(monkeypatch):  # type: ignore[no-untyped-def]
    """Wrong passwords fail without argon2's deliberate cost (the throttles do not depend on it)."""
    real = accounts.verify_password

    def verify(stored, password):  # type: ignore[no-untyped-def]
        return real(stored, password) if password in (PASSWORD, NEW_PASSWORD) else False

    monkeypatch.setattr(accounts, "verify_password", verify)


def _fail(client, email: str, ip: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"email": email, "password": "wrong-password-123"},
                       environ_base={"REMOTE_ADDR": ip})


# --- passwords ---------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2id():
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, PASSWORD) and not verify_password(stored, PASSWORD + "x")
    assert not verify_password(None, PASSWORD)


def test_password_policy_bounds_and_breached_list():
    assert (MIN_LENGTH, MAX_LENGTH) == (12, 128)
    assert password_problem("Tr0ub4dor&3") == "too_short"  # 11 characters
    assert password_problem("correct horse battery") is None
    assert password_problem("".join(chr(0x4E00 + i) for i in range(128))) is None  # characters, not bytes
    assert password_problem("é" * 129) == "too_long"
    for common in ("1qaz2wsx3edc", "Q1W2E3R4T5Y6", "password1234"):
        assert password_problem(common) == "common", common
    text = (ROOT / "portal" / "data" / "common-passwords.txt").read_text(encoding="utf-8")
    listed = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert len(listed) > 10_000


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("aaaaaaaaaaaa", "repetitive"),
        (" " * 12, "repetitive"),
        ("abababababab", "repetitive"),
        ("abcabcabcabc", "repetitive"),
        ("é" * 128, "repetitive"),
        ("123456789012", "sequential"),
        ("qwertyuiopas", "sequential"),
        ("abcdefghijkl", "sequential"),
        ("zyxwvutsrqpo", "sequential"),
        ("abcdef123456", "sequential"),
        ("asdfghjkl987", "sequential"),
        ("InnoMatch2026!", "service_name"),
        ("my innomatch account", "service_name"),
        ("jane.doe@example.hk", "email"),
        ("Jane.Doe-secret-7", "email"),
        ("janedoe secret 7", "email"),
        ("Chan Tai Man 1988", "name"),
        ("secret-taiman-88", "name"),
    ],
)
def test_password_policy_refuses_guessable_and_personal_passwords(password, problem):
    assert password_problem(password, email="jane.doe@example.hk", name="Chan Tai-Man") == problem


@pytest.mark.parametrize(
    "password", ["correct horse battery", "Tr0ub4dor&3xyz", "ocean-maple-twig-42", "jan 2026 clinic pilot"]
)
def test_password_policy_accepts_long_unrelated_passwords(password):
    assert password_problem(password, email="jane.doe@example.hk", name="Chan Tai-Man") is None


@pytest.mark.parametrize(
    ("password", "english", "chinese"),
    [
        ("aaaaaaaaaaaa", "repeats the same characters", "重複"),
        ("123456789012", "is a sequence such as abcdef", "序列"),
        ("qwertyuiopas", "is a sequence such as abcdef", "序列"),
        ("innomatch-2026", "must not contain the name of this service", "本服務的名稱"),
        ("{email}", "must not contain your email address", "電郵地址"),
        ("{name} 2026", "must not contain your name", "你的姓名"),
    ],
)
def test_password_change_explains_each_refusal_in_both_languages(client, make, password, english, chinese):
    user = make.user("startup", email="director@carebot.hk", display_name="Wong Mei Ling")
    password = password.format(email=user.email, name=user.display_name)
    sign_in(client, user, through_form=True)
    data = {"action": "password", "pw-current_password": PASSWORD, "pw-new_password": password,
            "pw-confirm": password}
    response = client.post("/account", data=data)
    assert response.status_code == 400 and english in response.get_data(as_text=True)
    client.post("/language", data={"locale": "zh_Hant_HK"})
    response = client.post("/account", data=data)
    assert response.status_code == 400 and chinese in response.get_data(as_text=True)


def test_registration_and_change_enforce_the_policy(client, make):
    user = make.user("startup")
    sign_in(client, user, through_form=True)
    response = client.post("/account", data={"action": "password", "pw-current_password": PASSWORD,
                                             "pw-new_password": "password1234", "pw-confirm": "password1234"})
    assert response.status_code == 400 and "too common" in response.get_data(as_text=True)
    too_long = "x" * 129
    response = client.post("/account", data={"action": "password", "pw-current_password": PASSWORD,
                                             "pw-new_password": too_long, "pw-confirm": too_long})
    assert response.status_code == 400


def test_overlong_password_at_sign_in_is_refused_before_hashing(client, make, monkeypatch):
    user = make.user("officer")
    calls = []
    monkeypatch.setattr(accounts, "verify_password", lambda *a: calls.append(a) or False)
    response = client.post("/login", data={"email": user.email, "password": "p" * 100_000})
    assert response.status_code == 400 and not calls


# --- throttling per account and source (counted in the database) ----------------------------

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ATTACKER, OWNER = "198.51.100.66", "203.0.113.20"


def _sign_in(client, email: str, ip: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip})


def test_delays_start_after_five_failures_double_and_are_capped():
    delays = [accounts.throttle_delay(n).total_seconds() for n in range(1, 16)]
    assert delays == [0, 0, 0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert accounts.throttle_delay(10**9) == accounts.MAX_DELAY


def test_a_source_waits_after_five_failures_even_with_the_right_password(client, make, fast_hashing):
    user = make.user("officer")
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(accounts.THROTTLE_AFTER):
            assert _fail(client, user.email, ATTACKER).status_code == 400
        response = _sign_in(client, user.email, ATTACKER)
        assert response.status_code == 400 and "Wait 2 seconds" in response.get_data(as_text=True)
        traveller.shift(timedelta(seconds=2))
        assert _sign_in(client, user.email, ATTACKER).status_code == 302


def test_the_owner_signs_in_from_another_source_while_an_attacker_keeps_guessing(app, make, fast_hashing):
    user = make.user("coordinator")
    attacker = app.test_client()
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(40):
            traveller.shift(accounts.MAX_DELAY)
            _fail(attacker, user.email, ATTACKER)
        assert _sign_in(app.test_client(), user.email, OWNER).status_code == 302
        response = _sign_in(attacker, user.email, ATTACKER)
        assert response.status_code == 400 and "Too many failed attempts" in response.get_data(as_text=True)


def test_guesses_from_ever_new_sources_meet_a_limit_for_the_account(app, make, fast_hashing):
    """Changing address for every guess (a botnet, or one IPv6 /64) escapes the per-source
    throttle, not the account's: from the 20th failure from sources the account has not
    signed in from, each try waits, and the owner is told. The owner's own place is not held
    up (review of 7 Dec 2026, M2)."""
    user = make.user("startup")
    with time_machine.travel(T0 - timedelta(days=30)):
        assert _sign_in(app.test_client(), user.email, OWNER).status_code == 302
    with time_machine.travel(T0, tick=False):
        answers = [_fail(app.test_client(), user.email, f"192.0.2.{n}").get_data(as_text=True) for n in range(1, 41)]
        checked = [a for a in answers if "Email or password is not correct" in a]
        assert len(checked) == accounts.ACCOUNT_THROTTLE_AFTER
        assert all("Too many failed attempts" in a for a in answers[accounts.ACCOUNT_THROTTLE_AFTER:])
        # The right password from a new source waits too; from the owner's usual one it works.
        assert "Too many failed attempts" in _sign_in(app.test_client(), user.email, "192.0.2.99").get_data(as_text=True)
        assert _sign_in(app.test_client(), user.email, OWNER).status_code == 302
    with app.app_context():
        assert db.scalar(select(LoginAlert.email)) == user.email


def test_one_address_cannot_hold_the_account_for_its_owner_elsewhere(app, make, fast_hashing):
    """A source adds only its first few failures to the account's count: one address guessing
    all day slows itself down, not the owner signing in from a new place (review of the fix)."""
    user = make.user("startup")
    attacker = app.test_client()
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(60):
            traveller.shift(accounts.MAX_DELAY)
            _fail(attacker, user.email, ATTACKER)
        assert _sign_in(app.test_client(), user.email, "192.0.2.200").status_code == 302


def test_a_password_reset_ends_the_accounts_wait(app, make, smtp, fast_hashing):
    """Held by guesses from many addresses, the owner on a new device resets the password
    (which proves the address) and signs in at once."""
    user = make.user("startup")
    with time_machine.travel(T0, tick=False):
        for n in range(1, 25):
            _fail(app.test_client(), user.email, f"192.0.2.{n}")
        new_place = app.test_client()
        assert "Too many failed attempts" in _sign_in(new_place, user.email, "203.0.113.99").get_data(as_text=True)
        new_place.post("/password/forgot", data={"email": user.email}, environ_base={"REMOTE_ADDR": "203.0.113.99"})
        path = smtp.link(user.email, "/password/reset/")
        changed = new_place.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                                 environ_base={"REMOTE_ADDR": "203.0.113.99"})
        assert changed.status_code == 302
        signed_in = _sign_in(new_place, user.email, "203.0.113.99", password=NEW_PASSWORD)
        assert signed_in.status_code == 302, " ".join(re.sub(r"<[^>]+>", " ", signed_in.get_data(as_text=True)).split())[:1500]


def test_an_address_that_is_not_one_never_takes_a_throttle_name():
    for name in (accounts.ANY_SOURCE, accounts.RECHECK_SOURCE, "not-an-ip"):
        assert accounts.throttle_source(name) not in (accounts.ANY_SOURCE, accounts.RECHECK_SOURCE)


def test_an_ipv6_network_counts_as_one_source():
    assert accounts.throttle_source("2001:db8:1:2:aaaa::1") == accounts.throttle_source("2001:db8:1:2:ffff::9")
    assert accounts.throttle_source("2001:db8:1:2::1") != accounts.throttle_source("2001:db8:1:3::1")
    assert accounts.throttle_source("::ffff:198.51.100.7") == "198.51.100.7"
    assert accounts.throttle_source("198.51.100.7") == "198.51.100.7"


def test_waiting_attempts_are_not_checked_and_do_not_extend_the_wait(app, client, make, monkeypatch):
    user = make.user("officer")
    checked = []
    monkeypatch.setattr(accounts, "verify_password", lambda stored, password: checked.append(password) or False)
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(20):
            _fail(client, user.email, ATTACKER)
        assert len(checked) == accounts.THROTTLE_AFTER
        traveller.shift(timedelta(seconds=2))
        _fail(client, user.email, ATTACKER)
        assert len(checked) == accounts.THROTTLE_AFTER + 1
    with app.app_context():
        throttle = db.scalar(select(LoginThrottle).where(LoginThrottle.source == ATTACKER))
        assert (throttle.email, throttle.source, throttle.failures) == (user.email, ATTACKER, 6)


def test_failures_are_forgotten_after_the_window(client, make, fast_hashing):
    user = make.user("officer")
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(accounts.THROTTLE_AFTER):
            _fail(client, user.email, ATTACKER)
        traveller.shift(accounts.FAILURE_WINDOW + timedelta(seconds=1))
        # A fresh count: four more failures and the fifth attempt is still checked.
        for _ in range(accounts.THROTTLE_AFTER - 1):
            assert "Wait" not in _fail(client, user.email, ATTACKER).get_data(as_text=True)
        assert _sign_in(client, user.email, ATTACKER).status_code == 302


def test_a_source_makes_few_checked_guesses_an_hour():
    elapsed, guesses = timedelta(0), 0
    while elapsed < timedelta(hours=1):
        guesses += 1
        elapsed += accounts.throttle_delay(guesses)
    record_figure("max_checked_sign_ins_per_account_per_source_per_hour", guesses)
    assert guesses < 30


def test_throttle_is_per_account_and_case_insensitive(client, make, fast_hashing):
    user, other = make.user("officer"), make.user("officer")
    with time_machine.travel(T0, tick=False):
        for _ in range(accounts.THROTTLE_AFTER):
            _fail(client, user.email.upper(), ATTACKER)
        assert _sign_in(client, user.email, ATTACKER).status_code == 400
        assert _sign_in(client, other.email, ATTACKER).status_code == 302


def test_throttle_holds_across_two_app_instances_sharing_one_database(make, make_app, fast_hashing):
    user = make.user("officer")
    first, second = make_app(), make_app()
    a, b = first.test_client(), second.test_client()
    with time_machine.travel(T0, tick=False):
        for i in range(accounts.THROTTLE_AFTER):
            assert _fail(a if i % 2 else b, user.email, ATTACKER).status_code == 400
        for client in (a, b):
            response = _sign_in(client, user.email, ATTACKER)
            assert response.status_code == 400
            assert "Too many failed attempts" in response.get_data(as_text=True)


@pytest.fixture
def outbox(app, monkeypatch):  # type: ignore[no-untyped-def]
    """Mail switched on, and every message sent kept here instead of going to a server."""
    sent: list[Any] = []
    monkeypatch.setitem(app.config, "SMTP_HOST", "mail.invalid")
    # The outbox's delivery job hands each batch to deliver_messages: None per accepted message.
    monkeypatch.setattr(mail, "deliver_messages", lambda messages, smtp: sent.extend(messages) or [None] * len(messages))
    return sent


def test_the_owner_is_told_of_repeated_failures_once_a_day(client, make, fast_hashing, outbox):
    user = make.user("officer", display_name="Chan Siu Ming")
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(accounts.THROTTLE_AFTER - 1):
            _fail(client, user.email, ATTACKER)
        assert outbox == []
        for _ in range(30):
            _fail(client, user.email, ATTACKER)
            _fail(client, user.email, f"192.0.2.{len(outbox) + 1}")
            traveller.shift(accounts.MAX_DELAY)
        assert [m["To"] for m in outbox] == [f"Chan Siu Ming <{user.email}>"]
        body = outbox[0].get_content()
        assert f"{accounts.THROTTLE_AFTER} times" in body and ATTACKER in body and "/account" in body
        traveller.shift(accounts.ALERT_WINDOW)
        for _ in range(accounts.THROTTLE_AFTER):
            _fail(client, user.email, "192.0.2.200")
        assert len(outbox) == 2


def test_the_alert_is_in_the_owners_language_and_unknown_emails_get_none(client, make, fast_hashing, outbox):
    user = make.user("officer", locale="zh_Hant_HK")
    with time_machine.travel(T0, tick=False):
        for _ in range(accounts.THROTTLE_AFTER):
            _fail(client, user.email, ATTACKER)
            _fail(client, "nobody@example.org", ATTACKER)
    (message,) = outbox
    assert message["Content-Language"] == "zh-Hant-HK" and "登入" in message["Subject"]


# --- per-IP rate limiting (flask-limiter) ----------------------------------------------------


def _fail_through_proxy(client, email: str, forwarded_for: str):  # type: ignore[no-untyped-def]
    """A failed sign-in relayed by the TLS proxy at 10.0.0.2 for the client ``forwarded_for``."""
    return client.post("/login", data={"email": email, "password": "wrong-password-123"},
                       environ_base={"REMOTE_ADDR": "10.0.0.2"}, headers={"X-Forwarded-For": forwarded_for})


def test_clients_behind_one_trusted_proxy_get_separate_limits(make_app, fast_hashing):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", TRUSTED_PROXIES=1)
    client = app.test_client()
    codes = [_fail_through_proxy(client, f"spray{i}@example.org", "203.0.113.7").status_code for i in range(31)]
    assert codes[:30] == [400] * 30 and codes[30] == 429
    # Another person behind the same proxy is not held up by the first.
    assert _fail_through_proxy(client, "neighbour@example.org", "203.0.113.8").status_code == 400
    # A client cannot escape its limit by prepending addresses: only the proxy's own entry counts.
    assert _fail_through_proxy(client, "spoof@example.org", "192.0.2.1, 203.0.113.7").status_code == 429


def test_a_spoofed_forwarded_for_is_ignored_without_trusted_proxies(make_app, fast_hashing):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", TRUSTED_PROXIES=0)
    client = app.test_client()
    codes = [_fail_through_proxy(client, f"spray{i}@example.org", f"192.0.2.{i}").status_code for i in range(31)]
    assert codes[:30] == [400] * 30 and codes[30] == 429


def test_the_sign_in_throttle_counts_the_client_behind_the_proxy(make_app, make, fast_hashing):
    user = make.user("officer")
    client = make_app(TRUSTED_PROXIES=1).test_client()
    with time_machine.travel(T0, tick=False):
        for _ in range(accounts.THROTTLE_AFTER):
            _fail_through_proxy(client, user.email, ATTACKER)
        owner = client.post("/login", data={"email": user.email, "password": PASSWORD},
                            environ_base={"REMOTE_ADDR": "10.0.0.2"}, headers={"X-Forwarded-For": OWNER})
        assert owner.status_code == 302


def test_sign_in_posts_are_rate_limited_per_address(make_app, fast_hashing):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    # Different emails each time: the per-address limit is what stops password spraying.
    codes = [_fail(client, f"spray{i}@example.org", ip="203.0.113.7").status_code for i in range(31)]
    assert codes[:30] == [400] * 30
    assert codes[30] == 429
    page = _fail(client, "spray-last@example.org", ip="203.0.113.7")
    assert page.status_code == 429 and "Traceback" not in page.get_data(as_text=True)
    assert _fail(client, "neighbour@example.org", ip="203.0.113.8").status_code == 400
    assert client.get("/login", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 200  # GET is free
    record_figure("sign_in_posts_per_address_per_minute", 30)


def test_rate_limit_keys_on_the_client_behind_trusted_proxies_only(make_app, fast_hashing):
    trusted = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", TRUSTED_PROXIES=1)
    client = trusted.test_client()

    def post(forwarded: str) -> int:
        return client.post("/login", data={"email": "x@example.org", "password": "wrong-password-123"},
                           headers={"X-Forwarded-For": forwarded},
                           environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code

    # Note the per-account throttle also applies (10 failures): use fresh emails via a counter.
    codes = []
    for i in range(31):
        codes.append(client.post("/login", data={"email": f"p{i}@example.org", "password": "wrong-password-123"},
                                 headers={"X-Forwarded-For": "198.51.100.1"},
                                 environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code)
    assert codes[-1] == 429 and 429 not in codes[:30]
    assert post("198.51.100.2") == 400  # another client behind the same proxy is not blocked


def test_forwarded_for_is_ignored_without_trusted_proxies(make_app, fast_hashing):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    codes = [client.post("/login", data={"email": f"q{i}@example.org", "password": "wrong-password-123"},
                         headers={"X-Forwarded-For": f"198.51.100.{i}"},
                         environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code for i in range(31)]
    assert codes[-1] == 429  # a spoofed header does not buy a fresh bucket


# --- sign-out and server-side session invalidation -------------------------------------------


def test_cookie_replayed_after_sign_out_is_refused(app, make):
    user = make.user("coordinator")
    client = app.test_client()
    sign_in(client, user, through_form=True)
    cookie = client.get_cookie("session")
    assert cookie is not None
    client.post("/logout")
    replay = app.test_client()
    replay.set_cookie("session", cookie.value)
    response = replay.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_sign_out_ends_every_session_of_the_user(app, make):
    user = make.user("officer")
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, user, through_form=True)
    sign_in(phone, user, through_form=True)
    assert phone.get("/account").status_code == 200
    laptop.post("/logout")
    assert phone.get("/account").status_code == 302


def test_sign_out_is_post_only(client, make):
    sign_in(client, make.user("officer"), through_form=True)
    assert client.get("/logout").status_code == 405
    assert client.get("/account").status_code == 200


def test_password_change_ends_other_sessions_but_keeps_this_one(app, make):
    user = make.user("startup")
    this, other = app.test_client(), app.test_client()
    sign_in(this, user, through_form=True)
    sign_in(other, user, through_form=True)
    response = this.post("/account", data={"action": "password", "pw-current_password": PASSWORD,
                                           "pw-new_password": NEW_PASSWORD, "pw-confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert this.get("/account").status_code == 200
    assert other.get("/account").status_code == 302


def test_deactivated_account_session_is_refused(app, make):
    user = make.user("officer")
    client = app.test_client()
    sign_in(client, user, through_form=True)
    with app.app_context():
        db.execute(update(User).where(User.id == user.id).values(is_active=False))
        db.commit()
        db.remove()
    assert client.get("/account").status_code == 302
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 400


def test_sign_in_starts_a_fresh_session(client, make):
    with client.session_transaction() as session:
        session["planted"] = "by-an-attacker"
    sign_in(client, make.user("officer"), through_form=True)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert isinstance(session[SEEN_KEY], int) and isinstance(session[AUTH_AT_KEY], int)


# --- re-authentication before changing the email or password --------------------------------


def test_password_change_needs_the_current_password(client, make, ctx):
    user = make.user("officer")
    sign_in(client, user, through_form=True)
    response = client.post("/account", data={"action": "password", "pw-current_password": "not-my-password-1",
                                             "pw-new_password": NEW_PASSWORD, "pw-confirm": NEW_PASSWORD})
    assert response.status_code == 400 and "current password is not correct" in response.get_data(as_text=True)
    stored = ctx.get(User, user.id)
    assert verify_password(stored.password_hash, PASSWORD)


def test_email_change_needs_the_current_password(client, make, ctx):
    user = make.user("officer")
    sign_in(client, user, through_form=True)
    response = client.post("/account", data={"action": "email", "em-email": "new@example.org",
                                             "em-current_password": "not-my-password-1"})
    assert response.status_code == 400
    assert ctx.get(User, user.id).email == user.email
    response = client.post("/account", data={"action": "email", "em-email": "New@Example.org",
                                             "em-current_password": PASSWORD})
    assert response.status_code == 302
    ctx.expire_all()
    # The address only changes once the link emailed to it is followed (tests/web/test_account_recovery.py).
    assert ctx.get(User, user.id).email == user.email
    pending = ctx.scalars(select(AccountToken).where(AccountToken.user_id == user.id)).one()
    assert pending.email == "new@example.org"


# --- cookie attributes, proxies, HSTS -------------------------------------------------------


def test_session_cookie_is_httponly_samesite_lax_and_expires(client, make, app):
    user = make.user("officer")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in tests, no SESSION_COOKIE_SECURE
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))  # type: ignore[union-attr]
    lifetime = (expires - datetime.now(UTC)).total_seconds()
    assert abs(lifetime - app.permanent_session_lifetime.total_seconds()) < 5
    assert app.permanent_session_lifetime == timedelta(minutes=30)


def test_session_cookie_is_secure_when_configured(make, make_app):
    user = make.user("officer")
    app = make_app(SESSION_COOKIE_SECURE=True)
    response = app.test_client().post("/login", data={"email": user.email, "password": PASSWORD})
    assert "Secure" in _session_cookie(response)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_session_cookie_is_secure_over_https(make, app):
    user = make.user("officer")
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD},
                           base_url="https://localhost")
    assert "Secure" in _session_cookie(response)
    assert "Strict-Transport-Security" in response.headers


def test_https_behind_a_trusted_proxy_marks_the_cookie_secure(make, make_app):
    user = make.user("officer")
    proxied = make_app(TRUSTED_PROXIES=1)
    response = proxied.test_client().post("/login", data={"email": user.email, "password": PASSWORD},
                                          headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"})
    assert "Secure" in _session_cookie(response)
    assert "Strict-Transport-Security" in response.headers
    direct = make_app()  # no trusted proxy: the header is the client's word and is ignored
    response = direct.test_client().post("/login", data={"email": user.email, "password": PASSWORD},
                                         headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in _session_cookie(response)
    assert "Strict-Transport-Security" not in response.headers


# --- idle and absolute timeouts, enforced on the server ---------------------------------------


def test_idle_session_is_ended_on_the_server(client, make, app):
    sign_in(client, make.user("officer"), through_form=True)
    idle = int(app.permanent_session_lifetime.total_seconds())
    with client.session_transaction() as session:
        session[SEEN_KEY] = int(time.time()) - idle + 60
    assert client.get("/account").status_code == 200  # active within the limit
    with client.session_transaction() as session:
        assert session[SEEN_KEY] >= int(time.time()) - 5  # and the request refreshed the stamp
        session[SEEN_KEY] = int(time.time()) - idle - 1
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with client.session_transaction() as session:
        assert "_user_id" not in session
    record_figure("idle_timeout_minutes", idle // 60)


def test_typing_keeps_the_session_but_not_past_the_absolute_limit(client, make, app):
    """The page's script asks /account/still-here while a form is being filled in: that
    restarts the idle clock (a long pitch is not lost to a sign-out), not the absolute one."""
    sign_in(client, make.user("startup"), through_form=True)
    page = client.get("/account").get_data(as_text=True)
    assert 'data-still-here="/account/still-here"' in page
    idle = int(app.permanent_session_lifetime.total_seconds())
    with client.session_transaction() as session:
        session[SEEN_KEY] = int(time.time()) - idle + 60  # a minute left
    response = client.get("/account/still-here")
    assert response.status_code == 204 and response.headers["Cache-Control"] == "no-store"
    with client.session_transaction() as session:
        assert session[SEEN_KEY] >= int(time.time()) - 5
        session[AUTH_AT_KEY] = int(time.time()) - 13 * 3600  # signed in 13 hours ago
    assert client.get("/account/still-here").status_code == 204  # answers the same ...
    assert client.get("/account").status_code == 302  # ... but the session has ended
    # Signed out, a page carries no such address for its script.
    assert "data-still-here" not in client.get("/login").get_data(as_text=True)


def test_a_replayed_cookie_does_not_outlive_the_idle_limit(app, make, monkeypatch):
    """The cookie's expiry is the browser's business; a copied cookie is refused by the server."""
    client = app.test_client()
    sign_in(client, make.user("coordinator"), through_form=True)
    cookie = client.get_cookie("session")
    assert cookie is not None
    idle = int(app.permanent_session_lifetime.total_seconds())
    from portal import security

    monkeypatch.setattr(security, "now", lambda: int(time.time()) + idle + 1)
    replay = app.test_client()
    replay.set_cookie("session", cookie.value)
    assert replay.get("/account").status_code == 302


def test_absolute_session_limit(client, make, app):
    from portal import security

    sign_in(client, make.user("officer"), through_form=True)
    limit = security.absolute_limit_seconds(app)
    assert limit == 12 * 3600
    with client.session_transaction() as session:
        session[AUTH_AT_KEY] = int(time.time()) - limit - 1
    assert client.get("/account").status_code == 302
    record_figure("absolute_session_hours", limit // 3600)


def test_session_without_timestamps_is_refused(client, make, app):
    user = make.user("officer")
    with app.app_context():
        token = db.get(User, user.id).get_id()
        db.remove()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    assert client.get("/account").status_code == 302


# --- redirects after sign-in stay on the site -------------------------------------------------


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "https://evil.example/",
                                    "/\\/evil.example", "/\t/evil.example", "javascript:alert(1)"])
def test_next_parameter_cannot_redirect_off_site(client, make, target):
    user = make.user("officer")
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location
    assert "evil" not in location and "javascript" not in location


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "https://evil.example/"])
def test_language_switch_cannot_redirect_off_site(client, target):
    response = client.post("/language", data={"locale": "en", "next": target})
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]


def test_next_parameter_keeps_a_local_path(client, make):
    user = make.user("startup")  # no second step: the password alone signs in
    response = client.post("/login", query_string={"next": "/challenges?q=x"},
                           data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/challenges?q=x"


# --- CSRF (enabled in production; the suite's app turns it off) ------------------------------


def test_csrf_token_is_required_when_enabled(make, make_app):
    user = make.user("officer")
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert token is not None
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token.group(1)})
    assert response.status_code == 302
    assert client.post("/logout").status_code == 400  # a cross-site sign-out is refused too


# --- logs: events recorded, no secrets ------------------------------------------------------


def test_authentication_events_are_logged_without_secrets(app, make, caplog, fast_hashing):
    caplog.set_level(logging.INFO)
    user = make.user("officer")
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": "wrong-password-123"})
    sign_in(client, user, through_form=True)
    session_id = client.get_cookie("session").value  # type: ignore[union-attr]
    client.get("/admin/users")  # 403
    client.post("/account", data={"action": "password", "pw-current_password": PASSWORD,
                                  "pw-new_password": NEW_PASSWORD, "pw-confirm": NEW_PASSWORD})
    client.post("/logout")
    for _ in range(accounts.THROTTLE_AFTER + 1):
        client.post("/login", data={"email": user.email, "password": "wrong-password-123"})
    with app.app_context():
        token = db.get(User, user.id).session_token
        ref = accounts.email_ref(user.email)
        db.remove()
    text = "\n".join(record.getMessage() for record in caplog.records)
    for event in ("sign-in failed", "sign-in ok", "access refused code=403", "password changed", "sign-out",
                  "sign-in throttled"):
        assert event in text, event
    assert f"email_ref={ref}" in text
    for secret in (PASSWORD, NEW_PASSWORD, "wrong-password-123", user.email, token, session_id):
        assert secret not in text, f"a secret reached the logs: {secret[:6]}..."


def test_a_static_file_answered_late_cannot_undo_a_language_switch(app):
    """A page's stylesheet or icon, asked for with the cookie from before a language switch (or a
    sign-in) and answered after it, sends no session back: otherwise it would put the old one
    back and the switch would be lost."""
    browser = app.test_client()
    assert browser.get("/").status_code == 200
    before = browser.get_cookie("session")
    switched = browser.post("/language", data={"locale": "zh_Hant_HK", "next": "/"})
    assert switched.status_code == 302 and _session_cookie(switched)
    # The icon's request left before the switch's answer: it carries the old cookie.
    late = app.test_client()
    assert before is not None  # the home page set one (its CSRF token and language)
    late.set_cookie("session", before.value)
    with late.get("/static/img/favicon.svg") as icon:
        assert icon.status_code == 200 and not [c for c in _set_cookie_headers(icon) if c.startswith("session=")]
    assert 'lang="zh-Hant-HK"' in browser.get("/").get_data(as_text=True)
    # A page still sends its session back (and keeps it alive), the API's documentation page
    # among them (it has the language switch and its CSRF token); the API itself does not.
    assert _session_cookie(browser.get("/"))
    docs = app.test_client()
    assert _session_cookie(docs.get("/api/v1/docs"))
    assert docs.post("/language", data={"locale": "en", "next": "/api/v1/docs"}).status_code == 302
    assert not [c for c in _set_cookie_headers(browser.get("/api/v1/challenges")) if c.startswith("session=")]



def test_the_owner_signs_out_every_other_session_and_stays_signed_in_here(app, make):
    """A phone left signed in, a shared computer: one button ends them (walkthrough of 7 Dec
    2026), this browser stays signed in, and the audit log says so."""
    user = make.user("startup")
    here, elsewhere = sign_in(app.test_client(), user), sign_in(app.test_client(), user)
    assert elsewhere.get("/account").status_code == 200
    response = here.post("/account/sessions/end")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert here.get("/account").status_code == 200
    assert elsewhere.get("/account").status_code == 302  # to the sign-in page
    with app.app_context():
        assert db.scalar(select(AuditEvent.action).where(AuditEvent.action == "user.sessions_end")) is not None
