"""A real SMTP server on 127.0.0.1 for tests that read the emails the app sends."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

BASE_URL = "https://innomatch.example"


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpts, m in self.messages if address in rcpts]

    @property
    def recipients(self) -> list[str]:
        return sorted(r for rcpts, _m in self.messages for r in rcpts)

    @staticmethod
    def body(message: EmailMessage) -> str:
        return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    def link(self, address: str, path_prefix: str) -> str:
        """The site path of the last link starting with ``path_prefix`` emailed to ``address``."""
        found = re.findall(re.escape(BASE_URL + path_prefix) + r"\S+", self.body(self.to(address)[-1]))
        assert found, f"no {path_prefix} link in the last email to {address}"
        return found[-1].removeprefix(BASE_URL)


def verification_path(inbox: Inbox, address: str) -> str:
    """The path of the last email-verification link sent to ``address``, whatever the site's host."""
    found = re.findall(r"https?://[^/\s]+(/account/verify/\S+)", inbox.body(inbox.to(address)[-1]))
    assert found, f"no verification link in the last email to {address}"
    return found[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """Point ``app``'s mail at a local SMTP server while the block runs; yield its inbox."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", controller.port)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", BASE_URL)
    try:
        yield inbox
    finally:
        controller.stop()
