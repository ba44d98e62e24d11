"""Email through SMTP, sent only after the database transaction commits.

Services never talk to the mail server: they ``queue`` messages on the current database
session. A SQLAlchemy ``after_commit`` listener sends the queue once the unit of work is
safely stored; a rollback drops it, so a failed request sends nothing. With no
``SMTP_HOST`` configured nothing is queued or sent.

Optional settings read with defaults (add them to ``Config`` to set them from the
environment): ``SMTP_STARTTLS`` (bool), ``SMTP_USERNAME``, ``SMTP_PASSWORD``,
``SMTP_TIMEOUT`` (seconds). Links in emails start with ``PUBLIC_BASE_URL`` (never the
request's ``Host`` header, which the client chooses); a production app with email on does
not start without it (``portal.config.production_problems``).
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, SessionTransaction

from models.names import clean_name

from ..database import db
from ..metrics import MAILS_FAILED, MAILS_SENT

log = logging.getLogger("innomatch.mail")

_OUTBOX = "innomatch_outbox"


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to deliver mail, captured when a message is queued."""

    host: str
    port: int
    starttls: bool = False
    username: str = ""
    password: str = ""
    timeout: float = 10.0


@dataclass
class Outgoing:
    """A queued message and the row it reports on (dropped if that row was rolled back)."""

    message: EmailMessage
    settings: SmtpSettings
    about: Any = None


def settings() -> SmtpSettings | None:
    """The configured SMTP settings, or None when ``SMTP_HOST`` is empty (mail is off)."""
    cfg = current_app.config
    host = (cfg.get("SMTP_HOST") or "").strip()
    if not host:
        return None
    return SmtpSettings(
        host=host,
        port=int(cfg.get("SMTP_PORT") or 25),
        starttls=bool(cfg.get("SMTP_STARTTLS", False)),
        username=cfg.get("SMTP_USERNAME") or "",
        password=cfg.get("SMTP_PASSWORD") or "",
        timeout=float(cfg.get("SMTP_TIMEOUT") or 10),
    )


def enabled() -> bool:
    """Whether email is configured (``SMTP_HOST`` is set)."""
    return settings() is not None


#: Where links point when ``PUBLIC_BASE_URL`` is not set (development and tests only).
DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def base_url() -> str:
    """The site's address for links in emails: ``PUBLIC_BASE_URL``, else ``DEFAULT_BASE_URL``.

    Never the request's host: a forged ``Host`` header must not put its site in our emails.
    """
    configured = (current_app.config.get("PUBLIC_BASE_URL") or "").strip()
    return (configured or current_app.config.get("DEFAULT_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def absolute(path: str) -> str:
    """``path`` (e.g. ``/trials/3``) as an absolute URL for an email."""
    if path.startswith(("http://", "https://")):
        return path
    return base_url() + (path if path.startswith("/") else "/" + path)


def build_message(to_name: str, to_address: str, subject: str, body: str, language: str = "en") -> EmailMessage:
    """Build a plain-text UTF-8 email from ``MAIL_FROM`` to one recipient."""
    sender = current_app.config.get("MAIL_FROM") or "InnoMatch <no-reply@innomatch.hk>"
    domain = parseaddr(sender)[1].partition("@")[2] or "innomatch.hk"
    # Header values are one line of visible text: a line break in a name (stored before
    # forms refused them) would make the header invalid, or add a header of its own.
    to_name = clean_name(to_name or "")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((to_name, to_address)) if to_name else to_address
    message["Subject"] = clean_name(subject)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body, charset="utf-8")
    message["Content-Language"] = language  # after set_content, which resets Content-* headers
    return message


def queue(message: EmailMessage, about: Any = None) -> bool:
    """Queue ``message`` to be sent when the current transaction commits; False if mail is off.

    ``about`` is the row the message reports on (e.g. a Notification): if it was rolled back
    in a savepoint, the message is not sent.
    """
    smtp = settings()
    if smtp is None:
        return False
    db.info.setdefault(_OUTBOX, []).append(Outgoing(message, smtp, about))
    return True


def pending() -> list[EmailMessage]:
    """The messages queued on the current session (for tests and diagnostics)."""
    return [item.message for item in db.info.get(_OUTBOX, [])]


def redact_address(address: str | None) -> str:
    """Name a recipient in logs without the address: its domain and a short digest.

    The digest lets an operator match a log line to a known address (hash it the same
    way) while the log itself holds no personal data.
    """
    if not address:
        return "(no recipient)"
    address = str(address).strip()
    domain = address.rpartition("@")[2] or "?"
    digest = hashlib.sha256(address.lower().encode("utf-8")).hexdigest()[:12]
    return f"<{digest}>@{domain}"


def send(messages: list[EmailMessage], smtp: SmtpSettings) -> int:
    """Deliver ``messages`` over one SMTP connection now; return how many were accepted.

    Failures are logged, not raised: the change that caused the mail is already stored.
    """
    if not messages:
        return 0
    sent = 0
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.username:
                client.login(smtp.username, smtp.password)
            for message in messages:
                try:
                    client.send_message(message)
                    sent += 1
                except smtplib.SMTPException as exc:
                    # No traceback: smtplib's exceptions carry the address itself.
                    log.error(
                        "mail to %s refused (%s)",
                        redact_address(message.get("To")),
                        getattr(exc, "smtp_code", None) or type(exc).__name__,
                    )
    except (OSError, smtplib.SMTPException):
        log.exception("cannot deliver %d message(s) through %s:%s", len(messages) - sent, smtp.host, smtp.port)
    MAILS_SENT.inc(sent)
    MAILS_FAILED.inc(len(messages) - sent)
    return sent


def _still_stored(about: Any) -> bool:
    if about is None:
        return True
    state = sa_inspect(about, raiseerr=False)
    return state is None or state.persistent or state.detached


@event.listens_for(Session, "after_commit")
def _send_outbox(session: Session) -> None:
    """Send what the committed transaction queued."""
    items: list[Outgoing] = session.info.pop(_OUTBOX, None) or []
    batches: dict[SmtpSettings, list[EmailMessage]] = {}
    for item in items:
        if _still_stored(item.about):
            batches.setdefault(item.settings, []).append(item.message)
    for smtp, messages in batches.items():
        send(messages, smtp)


@event.listens_for(Session, "after_soft_rollback")
def _drop_outbox(session: Session, previous_transaction: SessionTransaction) -> None:
    """Forget the queue when the whole transaction rolls back (a savepoint keeps it)."""
    if not previous_transaction.nested and previous_transaction.parent is None:
        session.info.pop(_OUTBOX, None)
