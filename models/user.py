"""Accounts of officers, startup members, coordinators and admins."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import AwareDateTime, Base, TimestampMixin, check_in, utcnow
from .organisation import Department, Startup
from .vocabulary import (
    NOTIFICATION_PREFS,
    ROLE_ADMIN,
    ROLE_OFFICER,
    ROLE_STARTUP,
    ROLES,
    UI_LOCALES,
    NotificationPref,
    Role,
)


def new_session_token() -> str:
    """Return a fresh random token that identifies a user's live sessions."""
    return secrets.token_urlsafe(24)


class User(TimestampMixin, Base):
    """A person who signs in. Officers belong to a department, startup members to a startup."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(check_in("role", ROLES), name="role"),
        CheckConstraint(check_in("locale", UI_LOCALES), name="locale"),
        CheckConstraint(check_in("notify", NOTIFICATION_PREFS), name="notify"),
        # Emails are stored lower-cased so the unique constraint is case-insensitive.
        CheckConstraint("email = lower(email)", name="email_lower"),
        CheckConstraint(
            "(role = 'officer' AND department_id IS NOT NULL AND startup_id IS NULL)"
            " OR (role = 'startup' AND startup_id IS NOT NULL AND department_id IS NULL)"
            " OR (role IN ('coordinator', 'admin') AND startup_id IS NULL AND department_id IS NULL)",
            name="membership",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(120))
    locale: Mapped[str] = mapped_column(String(12), default="en")
    role: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    startup_id: Mapped[int | None] = mapped_column(
        ForeignKey("startups.id", ondelete="CASCADE"), index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Rotated on sign-out and password change: sessions carrying an old token are refused.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    notify: Mapped[str] = mapped_column(String(12), default=NotificationPref.IMMEDIATE)
    last_login_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    # When the user followed a link sent to ``email``; None until then (they may sign in, not propose).
    email_verified_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # Set when the account was closed or purged: the row stays (trials, audit) under a pseudonym.
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    department: Mapped[Department | None] = relationship()
    startup: Mapped[Startup | None] = relationship()

    # Flask-Login protocol, kept here so the model needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_officer(self) -> bool:
        return self.role == ROLE_OFFICER

    @property
    def is_startup(self) -> bool:
        return self.role == ROLE_STARTUP

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @property
    def is_staff(self) -> bool:
        """Coordinators and admins: the lab's own people."""
        return self.role in Role.STAFF

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"
