"""Sign-in, registration. (Sign-out and sessions: tests/security/test_auth_sessions.py.)"""

from __future__ import annotations

from sqlalchemy import select

from models import Startup, User


def test_register_startup_creates_account_and_signs_in(client, ctx):
    response = client.post(
        "/register",
        data={
            "display_name": "Ada Chan",
            "email": "Ada@Example.HK",
            "startup_name": "CareBot Ltd",
            "website": "https://carebot.example.hk",
            "size": "1-10",
            "password": "a-long-unique-passphrase",
            "confirm": "a-long-unique-passphrase",
        },
    )
    assert response.status_code == 302
    user = ctx.scalar(select(User).where(User.email == "ada@example.hk"))
    assert user is not None and user.role == "startup"
    assert ctx.get(Startup, user.startup_id).name == "CareBot Ltd"


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
    assert "Enter a full web address" in body and "Enter your name" in body
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
    assert ctx.scalar(select(User).where(User.email == "chan@example.hk")).locale == "zh_Hant_HK"
    # The next page, even from a browser that now sends no language preference, stays in Chinese.
    page = client.get(response.headers["Location"])
    assert 'lang="zh-Hant-HK"' in page.get_data(as_text=True)
