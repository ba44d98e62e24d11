"""Sign-in, registration. (Sign-out and sessions: tests/security/test_auth_sessions.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from models import Startup, User
from portal.services import mail

REGISTRATION = {
    "display_name": "Ada Chan", "email": "Ada@Example.HK", "startup_name": "CareBot Ltd",
    "website": "https://carebot.example.hk", "size": "1-10",
    "password": "a-long-unique-passphrase", "confirm": "a-long-unique-passphrase",
}


@pytest.fixture
def outbox(app, monkeypatch):
    """Mail switched on, and every message sent kept here instead of going to a server."""
    sent: list[Any] = []
    monkeypatch.setitem(app.config, "SMTP_HOST", "mail.invalid")
    # The outbox's delivery job hands each batch to deliver_messages: None per accepted message.
    monkeypatch.setattr(mail, "deliver_messages", lambda messages, smtp: sent.extend(messages) or [None] * len(messages))
    return sent


def row_counts(ctx) -> tuple[int, int]:
    return ctx.scalar(select(func.count()).select_from(User)), ctx.scalar(select(func.count()).select_from(Startup))


def test_register_startup_creates_account_emails_it_and_asks_to_sign_in(client, ctx, outbox):
    response = client.post("/register", data=REGISTRATION)
    assert response.status_code == 302 and response.headers["Location"] == "/register/check-email"
    user = ctx.scalar(select(User).where(User.email == "ada@example.hk"))
    assert user is not None and user.role == "startup"
    assert ctx.get(Startup, user.startup_id).name == "CareBot Ltd"
    assert client.get("/account").status_code == 302  # not signed in: the answer is the same as below
    (welcome,) = outbox
    assert welcome["To"] == "Ada Chan <ada@example.hk>" and "CareBot Ltd" in welcome.get_content()
    # It says how long the registration waits for a confirmation.
    assert "within 30 days, the registration is removed" in " ".join(welcome.get_content().split())
    page = client.get("/register/check-email").get_data(as_text=True)
    assert "Check your email" in page and "/login?next=/startups/capabilities/new" in page


@pytest.mark.parametrize("email", ["taken@example.hk", "TAKEN@example.hk"])
def test_registering_with_an_existing_email_answers_as_for_a_new_one_and_emails_the_owner(
        app, client, ctx, make, outbox, email):
    owner = make.user("officer", email="taken@example.hk", display_name="Owner Lee", locale="zh_Hant_HK")
    new = app.test_client().post("/register", data={**REGISTRATION, "email": "fresh@example.hk"})
    before = row_counts(ctx)
    response = client.post("/register", data={**REGISTRATION, "email": email, "startup_name": "Other Ltd"})
    assert (response.status_code, response.headers["Location"]) == (new.status_code, new.headers["Location"])
    assert "already" not in response.get_data(as_text=True)
    assert row_counts(ctx) == before  # no account, no startup
    assert client.get("/account").status_code == 302  # nobody signed in
    assert ctx.get(User, owner.id).password_hash == owner.password_hash
    attempt = outbox[-1]
    assert attempt["To"] == "Owner Lee <taken@example.hk>" and attempt["Content-Language"] == "zh-Hant-HK"
    assert "登記" in attempt["Subject"]


def test_registration_checks_the_password_whether_or_not_the_email_exists(client, ctx, make):
    make.user("officer", email="taken@example.hk")
    answers = []
    for email in ("taken@example.hk", "fresh@example.hk"):
        response = client.post("/register", data={**REGISTRATION, "email": email, "password": "short",
                                                  "confirm": "short"})
        answers.append((response.status_code, "at least 12" in response.get_data(as_text=True)))
    assert answers == [(400, True), (400, True)]


def test_register_rejects_common_and_short_passwords(client, ctx):
    for password, message in (("short", "at least 12"), ("1qaz2wsx3edc", "too common")):
        response = client.post(
            "/register",
            data={"display_name": "A", "email": "a@example.hk", "startup_name": "S", "size": "1-10",
                  "password": password, "confirm": password},
        )
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert ctx.scalar(select(User)) is None


def test_wrong_password_is_refused_with_message(client, make):
    user = make.user("officer")
    response = client.post("/login", data={"email": user.email, "password": "wrong-password-123"})
    assert response.status_code == 400
    assert "not correct" in response.get_data(as_text=True)


def test_register_refuses_non_web_addresses_and_blank_names(client, ctx):
    response = client.post("/register", data={
        "display_name": "   ", "email": "b@example.hk", "startup_name": "Safe Ltd", "website": "javascript://x",
        "size": "1-10", "password": "a-long-unique-passphrase", "confirm": "a-long-unique-passphrase",
    })
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter a web address starting with http:// or https://" in body and "Enter your name" in body
    assert ctx.scalar(select(User)) is None


def test_registration_errors_on_a_chinese_page_are_in_traditional_chinese_and_said_once(client, ctx):
    response = client.post("/register", headers={"Accept-Language": "zh-HK"}, data={
        "display_name": "陳" * 121, "email": "c@example.hk", "startup_name": "康健科技", "website": "javascript://x",
        "size": "1-10", "password": "a-long-unique-passphrase", "confirm": "a-long-unique-passphrase",
    })
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "你的姓名：不可多於 120 個字元。" in body  # the message names its field
    assert "字段" not in body and "个字符" not in body  # nothing from WTForms' Simplified catalogue
    assert body.count("請輸入以 http:// 或 https:// 開首的網址") == 2  # the summary and the field, once each
    assert ctx.scalar(select(User)) is None


def test_founder_with_a_chinese_browser_keeps_chinese_after_registering(client, ctx):
    chinese = {"Accept-Language": "zh-HK,zh;q=0.9,en;q=0.5"}
    assert 'lang="zh-Hant-HK"' in client.get("/register", headers=chinese).get_data(as_text=True)
    response = client.post(
        "/register",
        headers=chinese,
        data={
            "display_name": "陳大文",
            "email": "chan@example.hk",
            "startup_name": "康健科技",
            "size": "1-10",
            "password": "a-long-unique-passphrase",
            "confirm": "a-long-unique-passphrase",
        },
    )
    assert response.status_code == 302
    founder = ctx.scalar(select(User).where(User.email == "chan@example.hk"))
    assert founder.locale == "zh_Hant_HK"
    assert founder.startup.language == "zh-Hant"  # the profile is taken to be written in Chinese
    # The next page, even from a browser that now sends no language preference, stays in Chinese.
    page = client.get(response.headers["Location"])
    assert 'lang="zh-Hant-HK"' in page.get_data(as_text=True)


def test_registration_says_every_problem_at_once_the_password_among_them(client, ctx):
    """A short password is said with the other fields' errors, not only once they are put right."""
    response = client.post("/register", data={
        "display_name": "", "email": "not-an-address", "startup_name": "Acme", "size": "1-10",
        "password": "short", "confirm": "short",
    })
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    for message in ("Enter your name.", "Enter a valid email address.", "Password must be at least 12 characters."):
        assert message in body
    long_one = "a-long-unique-passphrase-" * 6
    body = client.post("/register", data={
        "display_name": "Ada", "email": "ada@example.org", "startup_name": "Acme", "size": "1-10",
        "password": long_one, "confirm": long_one,
    }).get_data(as_text=True)
    assert "Password must be at most 128 characters." in body and "Field cannot be longer" not in body
    body = client.post("/register", data={
        "display_name": "A" * 400, "email": "ada@example.org", "startup_name": "B" * 1000, "size": "1-10",
        "password": "a-long-unique-passphrase-1", "confirm": "a-long-unique-passphrase-1",
    }).get_data(as_text=True)
    # Each message names its field: the error summary lists them away from the fields.
    assert "Your name: use at most 120 characters." in body and "Startup name: use at most 200 characters." in body
    assert "Field cannot be longer" not in body
