"""Notification wording and mail delivery rules that need no web request."""

from __future__ import annotations

import logging
import socket

from sqlalchemy import select

from models import Notification, User
from portal.services import mail, notifications


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket closes


def test_user_content_is_escaped_and_tagged_with_its_language(ctx):
    n = Notification(kind="challenge_match", payload={"challenge_title": "<script>alert(1)</script>", "challenge_lang": "zh-Hant"})
    html = str(notifications.message_html(n))
    assert "<script>" not in html
    assert '<span lang="zh-Hant">&lt;script&gt;alert(1)&lt;/script&gt;</span>' in html
    assert notifications.message_text(n) == "A new challenge matches your startup: <script>alert(1)</script>"


def test_unknown_kinds_still_read_as_a_notification(ctx):
    assert notifications.message_text(Notification(kind="retired_kind", payload={})) == "You have a new notification."


def test_nothing_is_queued_when_smtp_host_is_empty(ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", "")
    message = mail.build_message("A", "a@example.org", "Subject", "Body")
    assert mail.queue(message) is False
    assert mail.pending() == []


def test_an_unreachable_mail_server_does_not_undo_the_change(ctx, make, app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", _closed_port())
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 2)
    user = make.user("officer")
    with caplog.at_level(logging.ERROR, logger="innomatch.mail"):
        notifications.deliver([ctx.get(User, user.id)], "challenge_changed", {"challenge_title": "X"}, "/")
        assert len(mail.pending()) == 1
        ctx.commit()  # the listener tries to send, fails, and logs
    assert "cannot deliver" in caplog.text
    ctx.rollback()
    assert len(ctx.scalars(select(Notification)).all()) == 1


def test_inactive_users_and_excluded_actors_get_nothing(ctx, make):
    active, inactive, actor = make.user("officer"), make.user("officer", is_active=False), make.user("officer")
    users = [ctx.get(User, u.id) for u in (active, inactive, actor, active)]
    created = notifications.deliver(users, "challenge_changed", {"challenge_title": "X"}, "/", exclude=[actor.id])
    assert [n.user_id for n in created] == [active.id]  # once, even if listed twice


def test_links_are_built_outside_a_request(ctx):
    assert notifications.path_for("trials.detail", trial_id=7) == "/trials/7"
    assert mail.absolute("/trials/7") == "http://127.0.0.1:5000/trials/7"  # DEFAULT_BASE_URL
