"""Accounts of officers, startup members, coordinators and admins."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .db import AwareDateTime, Base, TimestampMixin, check_in, utcnow
from .names import clean_name
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
    # Two-step sign-in (TOTP, RFC 6238). The shared secret is stored encrypted (Fernet,
    # portal/services/mfa.py) and never shown after enrolment.
    mfa_secret: Mapped[str | None] = mapped_column(String(255))
    mfa_enabled_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # The last accepted 30-second step: a code of that step or an earlier one is a replay.
    mfa_last_step: Mapped[int | None] = mapped_column(Integer)
    # Wrong second-step codes, counted in one UPDATE so parallel guesses cannot slip past.
    mfa_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mfa_failed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    deactivated_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # When the user followed a link sent to ``email``; None until then (they may sign in, not propose).
    email_verified_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # Set when the account was closed or purged: the row stays (trials, audit) under a pseudonym.
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    department: Mapped[Department | None] = relationship()
    startup: Mapped[Startup | None] = relationship()

    @validates("display_name")
    def _clean_name(self, _key: str, value: str) -> str:
        # The name goes into email headers and every page: one line of visible text.
        return clean_name(value) if isinstance(value, str) else value

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
    def mfa_enabled(self) -> bool:
        """Whether the second sign-in step is set up."""
        return self.mfa_enabled_at is not None and self.mfa_secret is not None

    @property
    def mfa_required(self) -> bool:
        """Officers, coordinators and admins must use the second sign-in step."""
        return self.role in Role.SECOND_STEP

    @property
    def is_staff(self) -> bool:
        """Coordinators and admins: the lab's own people."""
        return self.role in Role.STAFF

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"
