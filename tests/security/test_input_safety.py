"""Names, email headers and links, request sizes, hosts and production settings (security review).

One line names: a line break in a name must neither reach an email header nor make an
action fail; names that look the same are the same; links in emails never come from the
request's Host header; oversized requests get 413; production refuses unsafe settings.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from models import Challenge, Department, Startup, User
from portal import create_app
from portal.config import ConfigError, production_problems
from portal.database import db
from portal.services import mail, notifications
from tests.helpers import sign_in
from tests.mailbox import Inbox

body = Inbox.body

PASSWORD = "a-long-unique-passphrase"
GOOD_SECRET = "0123456789abcdef" * 4




def _register(client, **fields):
    data = {"display_name": "Ada Chan", "email": "ada@example.hk", "startup_name": "CareBot Ltd",
            "size": "1-10", "password": PASSWORD, "confirm": PASSWORD, **fields}
    return client.post("/register", data=data)


def _store_raw(model, row_id, **values):
    """Write values as older releases could have stored them (bypassing the model's cleaning)."""
    with db.get_bind().begin() as conn:
        conn.execute(update(model.__table__).where(model.__table__.c.id == row_id).values(**values))


@pytest.fixture
def followed(make, ctx):
    """An open challenge of an officer's department, followed by two startup members."""
    dept = make.department()
    officer = make.user("officer", department=dept)
    challenge = make.challenge(dept, title="Queue times at clinics")
    mallory, ada = make.user("startup", display_name="Mallory"), make.user("startup", display_name="Ada")
    for user in (mallory, ada):
        notifications.follow_challenge(ctx.get(User, user.id), ctx.get(Challenge, challenge.id))
    ctx.commit()
    return {"officer": officer, "challenge": challenge, "mallory": mallory, "ada": ada}


# -- 1. line breaks in names -------------------------------------------------------------------


def test_registration_refuses_a_name_with_a_line_break(client, ctx):
    response = _register(client, display_name="Mallory\nBcc: victim@example.org")
    assert response.status_code == 400
    assert "Enter this on one line, without line breaks or control characters." in response.get_data(as_text=True)
    assert ctx.scalar(select(User)) is None


def test_single_line_fields_refuse_control_characters_but_keep_a_pasted_trailing_newline(client, ctx):
    assert _register(client, startup_name="Care\x07Bot").status_code == 400
    assert _register(client, email="ada@example.hk\r\nBcc: x@example.org").status_code == 400
    assert ctx.scalar(select(User)) is None
    assert _register(client, startup_name="CareBot Ltd\r\n").status_code == 302
    assert ctx.scalar(select(Startup.name)) == "CareBot Ltd"


def test_email_headers_hold_a_stored_name_with_a_line_break_on_one_line(app):
    with app.test_request_context():
        message = mail.build_message("Mallory\nBcc: victim@example.org", "m@example.org", "Hello\r\nX-Evil: 1", "Hi")
    assert message["To"] == '"Mallory Bcc: victim@example.org" <m@example.org>'
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "Hello X-Evil: 1"


def test_closing_a_challenge_followed_by_a_user_whose_name_has_a_line_break_succeeds(app, ctx, client, smtp,
                                                                                     followed):
    _store_raw(User, followed["mallory"].id, display_name="Mallory\nBcc: victim@example.org")
    sign_in(client, followed["officer"])
    response = client.post(f"/challenges/{followed['challenge'].id}/close")
    assert response.status_code == 302
    db.rollback()
    assert db.get(Challenge, followed["challenge"].id).status == "closed"
    assert smtp.recipients == sorted([followed["mallory"].email, followed["ada"].email])
    (to_mallory,) = smtp.to(followed["mallory"].email)
    assert "\n" not in to_mallory["To"] and to_mallory["Bcc"] is None


def test_a_message_that_cannot_be_built_is_skipped_and_the_rest_go_out(app, ctx, client, smtp, followed,
                                                                       monkeypatch, caplog):
    build = mail.build_message

    def failing_for_mallory(name, address, *args, **kwargs):
        if address == followed["mallory"].email:
            raise ValueError("cannot build")
        return build(name, address, *args, **kwargs)

    monkeypatch.setattr(mail, "build_message", failing_for_mallory)
    sign_in(client, followed["officer"])
    with caplog.at_level("ERROR", logger="innomatch.notifications"):
        response = client.post(f"/challenges/{followed['challenge'].id}/close")
    assert response.status_code == 302
    db.rollback()
    assert db.get(Challenge, followed["challenge"].id).status == "closed"
    assert smtp.recipients == [followed["ada"].email]
    assert f"user={followed['mallory'].id} not queued" in caplog.text
    assert followed["mallory"].email not in caplog.text


def test_the_digest_skips_a_message_that_cannot_be_built_and_sends_the_others(app, ctx, make, smtp, monkeypatch):
    mallory = make.user("startup", notify="digest")
    ada = make.user("startup", notify="digest")
    for user in (mallory, ada):
        notifications.deliver([ctx.get(User, user.id)], "challenge_changed",
                              {"challenge_title": "Clinics", "challenge_lang": "en", "change": "updated"}, "/challenges")
    ctx.commit()
    build = mail.build_message

    def failing_for_mallory(name, address, *args, **kwargs):
        if address == mallory.email:
            raise ValueError("cannot build")
        return build(name, address, *args, **kwargs)

    monkeypatch.setattr(mail, "build_message", failing_for_mallory)
    result = app.test_cli_runner().invoke(args=["notify", "digest"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 digest email(s)." in result.output
    assert smtp.recipients == [ada.email]


# -- 2. links in emails ------------------------------------------------------------------------


def test_links_in_emails_use_public_base_url_whatever_the_host_header(app, client, smtp, followed):
    sign_in(client, followed["officer"])
    response = client.post(f"/challenges/{followed['challenge'].id}/close", headers={"Host": "evil.example"})
    assert response.status_code == 302
    text_ = body(smtp.to(followed["ada"].email)[0])
    assert "https://innomatch.example/challenges/" in text_
    assert "evil.example" not in text_


def test_without_public_base_url_links_use_the_configured_default_not_the_host(app, client, smtp, followed,
                                                                              monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "")
    sign_in(client, followed["officer"])
    client.post(f"/challenges/{followed['challenge'].id}/close", headers={"Host": "evil.example"})
    text_ = body(smtp.to(followed["ada"].email)[0])
    assert f"{app.config['DEFAULT_BASE_URL']}/challenges/" in text_
    assert "evil.example" not in text_


def test_unknown_host_headers_get_400_when_trusted_hosts_is_set(make_app):
    client = make_app(TRUSTED_HOSTS=["innomatch.example"]).test_client()
    assert client.get("/healthz", headers={"Host": "innomatch.example"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "evil.example"}).status_code == 400


# -- 8. request size -----------------------------------------------------------------------------


def test_an_oversized_request_gets_a_413_page(client, app):
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/language", data=big, content_type="application/octet-stream")
    assert response.status_code == 413
    assert "What you sent is too large" in response.get_data(as_text=True)


def test_an_oversized_api_request_gets_json(client, app):
    big = b"{}" + b" " * app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/api/anything", data=big, content_type="application/json")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 413


def test_a_form_with_too_many_parts_gets_413(client, app):
    fields = {f"f{n}": "x" for n in range(app.config["MAX_FORM_PARTS"] + 1)}
    assert client.post("/language", data=fields, content_type="multipart/form-data").status_code == 413


# -- 10. names that look the same ------------------------------------------------------------------


def _name_taken_notices(smtp, address="ada@example.hk"):
    return [m for m in smtp.to(address) if "already registered" in str(m["Subject"])]


@pytest.mark.parametrize("lookalike", ["DocuLeaf\u200b AI", "ＤｏｃｕＬｅａｆ　ＡＩ", "doculeaf ai", "\u202eDocuLeaf AI"])
def test_a_startup_name_that_reads_the_same_as_another_is_refused(client, make, ctx, smtp, lookalike):
    """Refused by email, with the answer every registration gets: a form that said "taken"
    would tell, by trying a name with an address, whether that address has an account."""
    make.startup(name="DocuLeaf AI")
    response = _register(client, startup_name=lookalike)
    assert response.status_code == 302 and response.headers["Location"].endswith("/register/check-email")
    assert ctx.scalar(select(User)) is None
    assert len(_name_taken_notices(smtp)) == 1


def test_renaming_a_startup_to_a_lookalike_of_another_is_refused(client, make, ctx):
    make.startup(name="DocuLeaf AI")
    member = make.user("startup")
    sign_in(client, member)
    response = client.post(f"/startups/{member.startup_id}/edit", data={
        "name": "Docu\u200dLeaf AI", "size": "1-10", "language": "en", "website": "", "description": "",
    })
    assert response.status_code == 400
    assert "A startup with this name is already registered." in response.get_data(as_text=True)


def test_a_startup_name_with_chinese_punctuation_is_the_same_name_as_with_ascii(client, make, ctx, smtp):
    make.startup(name="康健科技(香港)")
    response = _register(client, startup_name="康健科技（香港）")
    assert response.status_code == 302 and ctx.scalar(select(User)) is None
    assert len(_name_taken_notices(smtp)) == 1


def test_chinese_punctuation_in_names_and_titles_is_kept_as_typed(client, ctx, make):
    """Full-width letters become ASCII; the full-width punctuation Chinese is written with stays."""
    assert _register(client, display_name="陳大文（Ｄａｖｉｄ）", startup_name="康健科技：長者服務！").status_code == 302
    user = ctx.scalar(select(User))
    assert user.display_name == "陳大文（David）"
    assert ctx.get(Startup, user.startup_id).name == "康健科技：長者服務！"
    assert make.challenge(title="長者牙科（已修訂）").title == "長者牙科（已修訂）"


def test_names_are_stored_without_invisible_characters(client, ctx, make):
    assert _register(client, display_name="Ada\u202e Chan\u200b", startup_name="Care\u2066Bot\ufeff").status_code == 302
    user = ctx.scalar(select(User))
    assert user.display_name == "Ada Chan"
    assert ctx.get(Startup, user.startup_id).name == "CareBot"
    dept = make.department(name_en="Dental\u200b Unit", name_zh="牙科\u202e組")
    challenge = make.challenge(dept, title="Queue\u200f times")
    assert (dept.name_en, dept.name_zh, challenge.title) == ("Dental Unit", "牙科組", "Queue times")


def test_the_database_refuses_two_startups_with_the_same_name_key(ctx):
    ctx.execute(insert(Startup), [{"name": "DocuLeaf AI"}])
    with pytest.raises(IntegrityError):
        ctx.execute(insert(Startup), [{"name": "DOCULEAF AI"}])
    ctx.rollback()


# -- 13. production settings ---------------------------------------------------------------------


def _production(**settings):
    base = {"INNOMATCH_ENV": "production", "SECRET_KEY": GOOD_SECRET, "DATABASE_URL": "sqlite://",
            "SMTP_HOST": "", "PUBLIC_BASE_URL": "", "WEB_CONCURRENCY": 1, "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_ENABLED": True, "TRUSTED_HOSTS": ["innomatch.example.gov.hk"], "TRUSTED_PROXIES": "1"}
    return {**base, **settings}


@pytest.mark.parametrize(("settings", "named"), [
    ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
    ({"SECRET_KEY": "test-secret-key"}, "SECRET_KEY is a known example"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY is a known example or shorter"),
    ({"SMTP_HOST": "smtp.example"}, "PUBLIC_BASE_URL is not set"),
    # Mail sent inside the request: its time tells whether a reset's address has an account.
    ({"SMTP_HOST": "smtp.example", "PUBLIC_BASE_URL": "https://innomatch.example", "REDIS_URL": ""},
     "REDIS_URL is not set but email is on"),
    ({"PUBLIC_BASE_URL": "innomatch.example"}, "PUBLIC_BASE_URL must start with https://"),
    # Emailed links carry one-time secrets: not over plain HTTP.
    ({"PUBLIC_BASE_URL": "http://innomatch.example.gov.hk"}, "PUBLIC_BASE_URL must start with https://"),
    ({"WEB_CONCURRENCY": 2}, "RATELIMIT_STORAGE_URI is memory://"),
    ({"TRUSTED_HOSTS": None}, "TRUSTED_HOSTS is not set"),
    ({"TRUSTED_PROXIES": "0"}, "neither SESSION_COOKIE_SECURE=true nor TRUSTED_PROXIES"),
])
def test_production_refuses_to_start_with_unsafe_settings(settings, named):
    with pytest.raises(ConfigError, match=named):
        create_app(_production(**settings))


def test_production_starts_with_safe_settings():
    assert production_problems(_production()) == []
    assert production_problems(_production(
        SMTP_HOST="smtp.example", PUBLIC_BASE_URL="https://innomatch.example", WEB_CONCURRENCY=4,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0", REDIS_URL="redis://127.0.0.1:6379/1",
    )) == []
    assert production_problems(_production(WEB_CONCURRENCY=2, RATELIMIT_ENABLED=False)) == []
    # HTTPS known either way; plain HTTP only when said to be meant.
    assert production_problems(_production(TRUSTED_PROXIES="0", SESSION_COOKIE_SECURE=True)) == []
    assert production_problems(_production(TRUSTED_PROXIES="0", ALLOW_PLAIN_HTTP=True)) == []
    assert production_problems(_production(
        TRUSTED_PROXIES="0", ALLOW_PLAIN_HTTP=True, SMTP_HOST="127.0.0.1", PUBLIC_BASE_URL="http://127.0.0.1:8000",
        REDIS_URL="redis://127.0.0.1:6379/1",
    )) == []
    app = create_app(_production())
    assert app.config["SECRET_KEY"] == GOOD_SECRET
    app.extensions["innomatch_engine"].dispose()


def test_development_starts_without_a_secret_key_and_makes_one():
    app = create_app({"INNOMATCH_ENV": "development", "SECRET_KEY": "", "DATABASE_URL": "sqlite://"})
    assert len(app.config["SECRET_KEY"]) >= 32
    app.extensions["innomatch_engine"].dispose()


def test_an_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="INNOMATCH_ENV"):
        create_app({"INNOMATCH_ENV": "prod", "DATABASE_URL": "sqlite://"})


def test_department_names_are_cleaned_whoever_writes_them():
    dept = Department(code="X1", name_en="A\nB", name_zh="甲\u200b乙")
    assert (dept.name_en, dept.name_zh) == ("A B", "甲乙")


@pytest.mark.parametrize("name", ["!!!???", "🚀🚀🚀", "—·—", "。。。"])
def test_a_name_of_only_symbols_or_emoji_is_refused_with_a_message(client, ctx, name):
    response = _register(client, startup_name=name)
    assert response.status_code == 400
    assert "Use letters or numbers in it, not only symbols or emoji." in response.get_data(as_text=True)
    assert ctx.scalar(select(Startup)) is None


@pytest.mark.parametrize("name", ["康健科技", "3D Health", "Ａｃｍｅ 🚀", "R2"])
def test_a_name_with_a_letter_or_number_of_any_script_is_kept(client, ctx, name):
    response = _register(client, startup_name=name)
    assert response.status_code == 302
