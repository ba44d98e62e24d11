"""Notifications, conflicts of interest and workshops."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import AwareDateTime, Base, TimestampMixin, check_in, utcnow
from .organisation import Startup
from .user import User
from .vocabulary import CONTENT_LANGUAGES


class Notification(Base):
    """An in-app message for one user; emailed now or in the daily digest per their choice."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    # Message parameters; the text is rendered in the reader's language when shown.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    link: Mapped[str] = mapped_column(String(300), default="")
    read_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, index=True)


class ConflictOfInterest(Base):
    """A coordinator's conflict with a startup: declared, or detected automatically."""

    __tablename__ = "conflicts_of_interest"
    __table_args__ = (
        UniqueConstraint("coordinator_id", "startup_id"),
        CheckConstraint("source IN ('declared', 'detected')", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coordinator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    startup_id: Mapped[int] = mapped_column(ForeignKey("startups.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(10), default="declared")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    coordinator: Mapped[User] = relationship()
    startup: Mapped[Startup] = relationship()


class Workshop(TimestampMixin, Base):
    """A thematic workshop or tech forum scheduled by the lab."""

    __tablename__ = "workshops"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(check_in("language", CONTENT_LANGUAGES), name="language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title_en: Mapped[str] = mapped_column(String(200))
    title_zh: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # Language of the description and location (BCP 47), for lang="" attributes.
    language: Mapped[str] = mapped_column(String(10), default="en")
    starts_at: Mapped[datetime] = mapped_column(AwareDateTime())
    ends_at: Mapped[datetime] = mapped_column(AwareDateTime())
    location: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=50)
    # Domain keys and challenge ids the workshop is about.
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    challenge_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class WorkshopRegistration(Base):
    """A user's place at a workshop."""

    __tablename__ = "workshop_registrations"
    __table_args__ = (UniqueConstraint("workshop_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class LoginAttempt(Base):
    """A sign-in attempt, kept as a record (the throttle counts in ``login_throttles``)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    success: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, index=True)


class LoginThrottle(Base):
    """Failed sign-ins for one account from one source: that source waits longer after each.

    Counted per account AND source so an attacker elsewhere never locks the owner out. The
    counter goes up (with a row lock) before the password is checked, so parallel guesses
    each see the previous ones.
    """

    __tablename__ = "login_throttles"
    __table_args__ = (
        UniqueConstraint("email", "source"),
        CheckConstraint("failures >= 0", name="failures_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    # The client address as resolved through the trusted proxies ("" when unknown).
    source: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # No sign-in is checked from this source for this account before this moment.
    blocked_until: Mapped[datetime | None] = mapped_column(AwareDateTime())

    def __repr__(self) -> str:
        return f"<LoginThrottle {self.email} {self.source} {self.failures}>"


class LoginAlert(Base):
    """When an account's owner was last told by email of repeated failed sign-ins (once per window)."""

    __tablename__ = "login_alerts"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(AwareDateTime())

    def __repr__(self) -> str:
        return f"<LoginAlert {self.email} {self.sent_at}>"


class StartupNameHold(Base):
    """A startup name someone asked to register with an address that already had an account.

    Registering with a new address takes the name (the startup is made); with an address
    that has an account nothing is made, so without this hold the name would stay free, and
    trying the name again would tell which kind of address the first one was. Held as a
    registered startup holds its name.
    """

    __tablename__ = "startup_name_holds"

    name_key: Mapped[str] = mapped_column(String(600), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<StartupNameHold {self.name_key}>"
