"""The mail outbox: every email the app sends, written in the transaction that causes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .db import AwareDateTime, Base, check_in, utcnow
from .vocabulary import MAIL_STATUSES, MailStatus


class OutboxMail(Base):
    """One email to one recipient, delivered by a job after the transaction that wrote it commits.

    A delivery job claims the row (``queued`` -> ``sending``, with a lease until
    ``locked_until``), sends it, and marks it ``sent``; a failure puts it back to ``queued``
    with a later ``next_attempt_at``, or ``failed`` after the last attempt.
    """

    __tablename__ = "outbox_mails"
    __table_args__ = (
        CheckConstraint(check_in("status", MAIL_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_outbox_mails_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The bare address, and the whole To header (name and address) as built.
    recipient: Mapped[str] = mapped_column(String(254))
    to_header: Mapped[str] = mapped_column(String(600))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)  # no email has an HTML part yet
    # The email's language (Content-Language: "en", "zh-Hant-HK").
    locale: Mapped[str] = mapped_column(String(20), default="en")
    # Kept across retries, so a recipient's mail system can drop the copy of a resend.
    message_id: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), default=MailStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The earliest time a delivery job may claim it (back-off after a failed attempt).
    next_attempt_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    # While sending: the claim's lease; past it the sweeper takes the mail back (the worker died).
    locked_until: Mapped[datetime | None] = mapped_column(AwareDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # The request that caused the email (logs.current_request_id), to follow it through the logs.
    request_id: Mapped[str | None] = mapped_column(String(128))

    def __repr__(self) -> str:
        return f"<OutboxMail {self.id} {self.status} attempts={self.attempts}>"
