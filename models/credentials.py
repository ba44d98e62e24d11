"""Credentials besides the password: recovery codes of the second sign-in step, staff invitations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import AwareDateTime, Base, check_in, utcnow
from .organisation import Department, Startup
from .user import User
from .vocabulary import UI_LOCALES, Role

#: Roles an admin may invite: the lab's staff and departments' officers (startups register).
INVITABLE_ROLES = (Role.OFFICER, Role.COORDINATOR, Role.ADMIN)
#: Every role an invitation may carry: the staff roles an admin invites to, and a startup's
#: member, invited by a member of that startup (``startup_id`` says which).
INVITATION_ROLES = (*INVITABLE_ROLES, Role.STARTUP)


class RecoveryCode(Base):
    """A single-use code that stands in for the authenticator app once (stored as a keyed hash)."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # HMAC-SHA256 of the normalised code with the service's MFA key (hex).
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id} user={self.user_id} used={self.used_at is not None}>"


class Invitation(Base):
    """An invitation to an account: an admin's to an officer, coordinator or admin, or a startup
    member's to a colleague, to join that startup. A single-use link that expires."""

    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint(check_in("role", INVITATION_ROLES), name="role"),
        CheckConstraint(check_in("locale", UI_LOCALES), name="locale"),
        CheckConstraint("email = lower(email)", name="email_lower"),
        CheckConstraint(
            "(role = 'officer' AND department_id IS NOT NULL) OR (role <> 'officer' AND department_id IS NULL)",
            name="department",
        ),
        CheckConstraint(
            "(role = 'startup' AND startup_id IS NOT NULL) OR (role <> 'startup' AND startup_id IS NULL)",
            name="startup",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    startup_id: Mapped[int | None] = mapped_column(ForeignKey("startups.id", ondelete="CASCADE"), index=True)
    locale: Mapped[str] = mapped_column(String(12), default="en")
    # SHA-256 of the link's token (hex): the token itself is only ever in the email.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    department: Mapped[Department | None] = relationship()
    startup: Mapped[Startup | None] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    def is_pending(self, now: datetime) -> bool:
        """Neither accepted, revoked nor expired at ``now``."""
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now

    @property
    def second_step_required(self) -> bool:
        """Whether the invited role must set up two-step verification (as ``User.mfa_required``)."""
        return self.role in Role.SECOND_STEP

    def __repr__(self) -> str:
        return f"<Invitation {self.id} {self.role}>"
