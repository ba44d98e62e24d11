"""Email through a transactional outbox, delivered by a job after the database transaction commits.

Services never talk to the mail server: ``queue(message)`` writes the message as a row of
``outbox_mails`` in the caller's transaction and enqueues a delivery job
(``portal.tasks.deliver_mails``) for after the commit; a rollback drops both, so a failed
request sends nothing, and a committed one cannot lose its mail. With no ``SMTP_HOST``
configured nothing is queued or sent.

Delivery (``claim`` then ``transmit``, committed in between by the job):

* ``claim`` moves each row ``queued`` -> ``sending`` with one conditional UPDATE (``WHERE
  status = 'queued' AND next_attempt_at <= now``), counting the attempt and leasing the row
  until ``locked_until``. On PostgreSQL a second UPDATE of the same row waits for the first
  to commit and then no longer matches; SQLite serialises writers. So of concurrent
  delivery jobs for one mail exactly one sends it.
* ``transmit`` sends the claimed rows over one SMTP connection and marks each ``sent``; a
  refusal for good (a 5xx answer) marks it ``failed`` at once; any other failure puts it
  back to ``queued`` with ``next_attempt_at`` ``MAIL_RETRY_SECONDS`` x 2^(attempts-1) later,
  until ``MAIL_MAX_ATTEMPTS``, then ``failed``. Failed mails are listed for admins
  (``/admin/mails``), who may retry them.
* ``sweep`` (the scheduler, every minute) takes back rows left ``sending`` past their lease
  (the worker died mid-send) and returns the ``queued`` rows that are due, for the scheduler
  to enqueue (a retry whose time came, or a delivery job lost with Redis).

Delivered at least once, not exactly once: if the mail server accepts a message and the
worker dies before it marks the row ``sent``, the sweeper sends it again after the lease.
The Message-ID is stored and kept across attempts, so the receiving side can spot the copy.

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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses, make_msgid, parseaddr
from typing import Any
from urllib.parse import urlencode

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import delete, event, func, or_, select, update
from sqlalchemy.orm import Session, SessionTransaction

from models import OutboxMail
from models.names import clean_name
from models.vocabulary import MAIL_STATUSES, MailStatus

from .. import clock, jobs, signals
from ..database import db, execute_update
from ..errors import DomainError, StaleState
from ..extensions import formatting_locale, ui_locale
from ..logs import current_request_id
from ..metrics import MAILS_FAILED, MAILS_GIVEN_UP, MAILS_SENT, register_live
from .paging import Page, paginate

log = logging.getLogger("innomatch.mail")

_OUTBOX = "innomatch_outbox"
_BATCH = "innomatch_outbox_batch"
#: The job that delivers outbox mails (``portal.tasks.deliver_mails(ids)``).
DELIVER_JOB = "portal.tasks.deliver_mails"
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_SECONDS = 60.0
DEFAULT_LEASE_SECONDS = 300.0
DEFAULT_KEEP_SENT_DAYS = 30.0
#: How long a failed mail keeps its body for an administrator's retry: the longest lifetime of a
#: link an email carries (an invitation: invitations.VALID_FOR; tests/services/test_outbox.py).
FAILED_BODY_KEPT = timedelta(days=7)
#: A never-tried queued mail older than this has lost its delivery job: the sweeper enqueues it.
DEFAULT_SWEEP_GRACE_SECONDS = 120.0
#: The most mails one sweep hands out (the next sweep takes the rest).
SWEEP_LIMIT = 500


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to deliver mail, captured when a message is queued."""

    host: str
    port: int
    starttls: bool = False
    username: str = ""
    password: str = ""
    timeout: float = 10.0


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


def absolute(path: str, locale: str | None = None) -> str:
    """``path`` (e.g. ``/trials/3``) as an absolute URL for an email; with ``locale`` (the
    recipient's), the link opens the site in that language (``?lang=``, read by
    ``portal.main.routes``) even before anyone signs in."""
    url = path if path.startswith(("http://", "https://")) else base_url() + (path if path.startswith("/") else "/" + path)
    if locale:
        url += ("&" if "?" in url else "?") + urlencode({"lang": ui_locale(locale)})
    return url


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


def email_language(locale: str) -> str:
    """The Content-Language of an email written in the interface locale ``locale``."""
    return "zh-Hant-HK" if (locale or "").startswith("zh") else "en"


def queue_in_language(
    to_name: str, to_address: str, locale: str, subject: Any, template: str, /, **context: Any
) -> bool:
    """Queue the email ``template`` to ``address`` worded in ``locale`` (the recipient's
    language, not the request's): ``subject`` may be a lazy string, which is worded then too.
    False if mail is off (see :func:`queue`)."""
    with force_locale(formatting_locale(locale or "en")):
        subject_text = str(subject)
        body = render_template(template, **context)
    return queue(build_message(to_name, to_address, subject_text, body, email_language(locale)))


def _show_in_console(message: EmailMessage) -> None:
    """In development without a mail server (``make run``), write the email to the log, so that
    its links (confirm an address, reset a password) can be followed: nothing is sent."""
    body = message.get_body(("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    log.warning(
        "email not sent (SMTP_HOST is not set; development shows it here)\nTo: %s\nSubject: %s\n\n%s",
        message.get("To"), message.get("Subject"), text,
    )


def queue(message: EmailMessage, about: Any = None) -> bool:
    """Write ``message`` to the outbox in the current transaction; False if mail is off.

    The delivery job is enqueued for after the commit. ``about`` is kept for callers that name
    the row the message reports on: the outbox row lives in the same transaction (and
    savepoint) as that row, so it is rolled back with it.
    """
    if settings() is None:
        if current_app.config.get("INNOMATCH_ENV") == "development":
            _show_in_console(message)
        return False
    recipients = getaddresses([str(message.get("To") or "")])
    address = recipients[0][1] if recipients else ""
    body = message.get_body(("plain",))
    now = clock.now()
    row = OutboxMail(
        recipient=address[:254],
        to_header=str(message.get("To") or address)[:600],
        subject=str(message.get("Subject") or "")[:300],
        body_text=body.get_content() if isinstance(body, EmailMessage) else "",
        locale=str(message.get("Content-Language") or "en")[:20],
        message_id=str(message.get("Message-ID") or make_msgid())[:300],
        status=MailStatus.QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        request_id=current_request_id()[:128],
    )
    db.add(row)
    db.flush()
    queued: list[tuple[OutboxMail, EmailMessage]] = db.info.setdefault(_OUTBOX, [])
    queued.append((row, message))
    # One delivery job per transaction, for every mail it wrote: the list is read at dispatch.
    batch: list[int] | None = db.info.get(_BATCH)
    if batch is None:
        batch = db.info[_BATCH] = []
        jobs.enqueue(DELIVER_JOB, batch)
    batch.append(row.id)
    return True


def pending() -> list[EmailMessage]:
    """The messages queued on the current session's transaction (for tests and diagnostics)."""
    return [message for _row, message in db.info.get(_OUTBOX, [])]


# -- the outbox ----------------------------------------------------------------------------------


def max_attempts() -> int:
    """How many times a mail is tried before it is marked failed (``MAIL_MAX_ATTEMPTS``)."""
    return max(1, int(current_app.config.get("MAIL_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS))


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: ``MAIL_RETRY_SECONDS`` x 2^(attempts-1)."""
    base = float(current_app.config.get("MAIL_RETRY_SECONDS") or DEFAULT_RETRY_SECONDS)
    return timedelta(seconds=base * 2 ** max(0, attempts - 1))


def lease() -> timedelta:
    """How long a claim lasts before the sweeper assumes its worker died (``MAIL_LEASE_SECONDS``)."""
    return timedelta(seconds=float(current_app.config.get("MAIL_LEASE_SECONDS") or DEFAULT_LEASE_SECONDS))


def claim(ids: list[int]) -> list[OutboxMail]:
    """Claim the due ``queued`` mails among ``ids`` for this job: ``sending``, attempt counted, leased.

    The caller commits the claim before sending. A mail another job claimed, sent, or whose
    retry is not due yet is skipped.
    """
    now = clock.now()
    claimed: list[int] = []
    for mail_id in dict.fromkeys(ids):
        won = execute_update(
            update(OutboxMail)
            .where(OutboxMail.id == mail_id, OutboxMail.status == MailStatus.QUEUED,
                   OutboxMail.next_attempt_at <= now)
            .values(status=MailStatus.SENDING, attempts=OutboxMail.attempts + 1, locked_until=now + lease())
            .execution_options(synchronize_session=False)
        )
        if won:
            claimed.append(mail_id)
    if not claimed:
        return []
    return list(db.scalars(
        select(OutboxMail).where(OutboxMail.id.in_(claimed)).order_by(OutboxMail.id)
        .execution_options(populate_existing=True)
    ))


def _message_of(row: OutboxMail) -> EmailMessage:
    """The email of an outbox row, with its original Message-ID."""
    message = EmailMessage()
    message["From"] = current_app.config.get("MAIL_FROM") or "InnoMatch <no-reply@innomatch.hk>"
    message["To"] = row.to_header or row.recipient
    message["Subject"] = row.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = row.message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body_text, charset="utf-8")
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html", charset="utf-8")
    message["Content-Language"] = row.locale
    return message


def _finish(row: OutboxMail, values: dict[str, Any]) -> bool:
    """Record the outcome of this job's attempt, unless the sweeper took the row back meanwhile."""
    return execute_update(
        update(OutboxMail)
        .where(OutboxMail.id == row.id, OutboxMail.status == MailStatus.SENDING,
               OutboxMail.attempts == row.attempts)
        .values(**values)
        .execution_options(synchronize_session=False)
    ) == 1


def transmit(rows: list[OutboxMail]) -> dict[str, int]:
    """Send claimed mails over one SMTP connection; mark each sent, queued for a retry, or failed.

    Returns how many were sent, will be retried, and failed for good. Never raises for a
    delivery failure: it is recorded on the row.
    """
    outcome = {"sent": 0, "retry": 0, "failed": 0}
    if not rows:
        return outcome
    smtp = settings()
    if smtp is None:
        errors: list[SendError | None] = [SendError("SMTP_HOST is not set", permanent=False)] * len(rows)
    else:
        errors = deliver_messages([_message_of(row) for row in rows], smtp)
    now = clock.now()
    limit = max_attempts()
    for row, error in zip(rows, errors, strict=True):
        if error is None:
            # A sent mail keeps no body: bodies can hold single-use links (password reset,
            # invitation) whose secrets are otherwise stored only as hashes.
            done = _finish(row, {"status": MailStatus.SENT, "sent_at": now, "locked_until": None, "last_error": None,
                                 "body_text": "", "body_html": None})
            outcome["sent"] += done
            if done:
                log.info("mail %s sent to %s (attempt %d)", row.id, redact_address(row.recipient), row.attempts)
            continue
        last_error = str(error)[:500]
        if error.permanent or row.attempts >= limit:
            if _finish(row, {"status": MailStatus.FAILED, "locked_until": None, "last_error": last_error}):
                outcome["failed"] += 1
                MAILS_GIVEN_UP.inc()
                log.error("mail %s to %s failed after %d attempt(s): %s", row.id, redact_address(row.recipient),
                          row.attempts, last_error)
        elif _finish(row, {"status": MailStatus.QUEUED, "locked_until": None, "last_error": last_error,
                           "next_attempt_at": now + retry_delay(row.attempts)}):
            outcome["retry"] += 1
            log.warning("mail %s to %s not delivered (attempt %d of %d), retried later: %s", row.id,
                        redact_address(row.recipient), row.attempts, limit, last_error)
    db.flush()
    return outcome


def sweep(now: datetime | None = None, grace: timedelta | None = None) -> list[int]:
    """Take back mails stuck in ``sending`` past their lease; return the ids of due ``queued`` mails.

    Also deletes sent mails older than ``MAIL_KEEP_SENT_DAYS`` (their recipient and subject).

    A mail whose lease ran out had its worker die mid-send: it goes back to ``queued`` (or
    ``failed`` if that was its last attempt). A ``queued`` mail is due when its retry time has
    come, or, never tried, when it has waited ``grace`` (its delivery job was lost).
    """
    now = now or clock.now()
    grace = grace if grace is not None else timedelta(seconds=DEFAULT_SWEEP_GRACE_SECONDS)
    limit = max_attempts()
    stuck = list(db.scalars(
        select(OutboxMail).where(OutboxMail.status == MailStatus.SENDING, OutboxMail.locked_until < now)
    ))
    for row in stuck:
        lost = "the delivery job stopped before it finished (lease expired)"
        if row.attempts >= limit:
            given_up = _finish(row, {"status": MailStatus.FAILED, "locked_until": None, "last_error": lost})
            if given_up:
                MAILS_GIVEN_UP.inc()
        else:
            _finish(row, {"status": MailStatus.QUEUED, "locked_until": None, "last_error": lost, "next_attempt_at": now})
        log.warning("mail %s was left sending after attempt %d; taken back", row.id, row.attempts)
    kept = timedelta(days=float(current_app.config.get("MAIL_KEEP_SENT_DAYS") or DEFAULT_KEEP_SENT_DAYS))
    db.execute(
        delete(OutboxMail).where(OutboxMail.status == MailStatus.SENT, OutboxMail.sent_at < now - kept)
        .execution_options(synchronize_session=False)
    )
    # A failed mail keeps its body for a retry only while its links could still work: bodies
    # can hold single-use links, whose secrets are otherwise stored only as hashes.
    db.execute(
        update(OutboxMail)
        .where(OutboxMail.status == MailStatus.FAILED, OutboxMail.created_at < now - FAILED_BODY_KEPT,
               or_(OutboxMail.body_text != "", OutboxMail.body_html.is_not(None)))
        .values(body_text="", body_html=None)
        .execution_options(synchronize_session=False)
    )
    due = db.scalars(
        select(OutboxMail.id)
        .where(OutboxMail.status == MailStatus.QUEUED, OutboxMail.next_attempt_at <= now,
               or_(OutboxMail.attempts > 0, OutboxMail.created_at <= now - grace))
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
        .limit(SWEEP_LIMIT)
    )
    db.flush()
    return list(due)


def failed_mails(page: int = 1, per_page: int = 50) -> Page:
    """A page of the failed mails, most recent first (for the admin page)."""
    return paginate(
        select(OutboxMail).where(OutboxMail.status == MailStatus.FAILED)
        .order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc()),
        page, per_page,
    )


def count_by_status() -> dict[str, int]:
    """How many outbox mails are in each status."""
    counts = dict.fromkeys(MAIL_STATUSES, 0)
    for status, number in db.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)):
        counts[str(status)] = int(number)
    return counts


def _outbox_metrics() -> Iterable[Metric]:
    """Read at scrape time: outbox mails by status, and how long the oldest queued one has waited."""
    by_status = GaugeMetricFamily("innomatch_outbox_mails", "Outbox emails by status.", labels=["status"])
    for status, number in count_by_status().items():
        by_status.add_metric([status], number)
    oldest = db.scalar(select(func.min(OutboxMail.created_at)).where(OutboxMail.status == MailStatus.QUEUED))
    waiting = GaugeMetricFamily(
        "innomatch_outbox_oldest_queued_seconds", "Age of the oldest email still waiting to be sent (0: none)."
    )
    waiting.add_metric([], max(0.0, (clock.now() - oldest).total_seconds()) if oldest is not None else 0.0)
    return [by_status, waiting]


register_live(_outbox_metrics)


def retry_failed(actor: Any, row: OutboxMail) -> OutboxMail:
    """Put a failed mail back in the queue for a fresh round of attempts (an admin's button)."""
    if row.status != MailStatus.FAILED:
        raise StaleState(_("Only a failed email can be retried."))
    if settings() is None:
        raise DomainError(_("Email is not configured: set SMTP_HOST to send it."))
    if not row.body_text:
        raise DomainError(_("This email's text was removed when its links expired, so it cannot be sent again."))
    before = {"status": row.status, "attempts": row.attempts}
    row.status = MailStatus.QUEUED
    row.attempts = 0
    row.next_attempt_at = clock.now()
    row.locked_until = None
    db.flush()
    signals.changed(actor, "mail.retry", row, before, {"status": row.status, "attempts": row.attempts})
    jobs.enqueue(DELIVER_JOB, [row.id])
    return row


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


class SendError(Exception):
    """Why one message was not accepted; ``permanent`` when the server refused it for good (5xx)."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


def deliver_messages(messages: list[EmailMessage], smtp: SmtpSettings) -> list[SendError | None]:
    """Deliver ``messages`` over one SMTP connection now: None for each accepted, else why not.

    Failures are logged (without addresses) and counted, not raised.
    """
    results: list[SendError | None] = []
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.username:
                client.login(smtp.username, smtp.password)
            for message in messages:
                try:
                    client.send_message(message)
                    results.append(None)
                except smtplib.SMTPException as exc:
                    code = _smtp_code(exc)
                    # No traceback: smtplib's exceptions carry the address itself.
                    log.error("mail to %s refused (%s)", redact_address(message.get("To")), code or type(exc).__name__)
                    results.append(SendError(f"refused ({code or type(exc).__name__})", permanent=code >= 500))
    except (OSError, smtplib.SMTPException) as exc:
        log.exception("cannot deliver %d message(s) through %s:%s", len(messages) - len(results), smtp.host, smtp.port)
        reason = f"mail server unreachable or failing ({type(exc).__name__})"
        results += [SendError(reason, permanent=False)] * (len(messages) - len(results))
    sent = sum(1 for r in results if r is None)
    MAILS_SENT.inc(sent)
    MAILS_FAILED.inc(len(messages) - sent)
    return results


def _smtp_code(exc: smtplib.SMTPException) -> int:
    """The SMTP reply code of a refusal (the first recipient's for a refused recipient), or 0."""
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code = next(iter(exc.recipients.values()))[0]
    return int(code or 0)


def send(messages: list[EmailMessage], smtp: SmtpSettings) -> int:
    """Deliver ``messages`` over one SMTP connection now; return how many were accepted."""
    if not messages:
        return 0
    return sum(1 for error in deliver_messages(messages, smtp) if error is None)


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    """The transaction's mails are stored and their delivery job dispatched: start afresh."""
    session.info.pop(_OUTBOX, None)
    session.info.pop(_BATCH, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_outbox(session: Session, previous_transaction: SessionTransaction) -> None:
    """Forget the queue when the whole transaction rolls back (a savepoint keeps it)."""
    if not previous_transaction.nested and previous_transaction.parent is None:
        session.info.pop(_OUTBOX, None)
        session.info.pop(_BATCH, None)
