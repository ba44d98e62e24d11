"""Single-use links sent by email: password reset and email-address verification."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .db import AwareDateTime, Base, check_in, utcnow
from .vocabulary import TOKEN_PURPOSES


class AccountToken(Base):
    """One emailed link. Only the SHA-256 of the secret is stored, so a leaked table opens nothing."""

    __tablename__ = "account_tokens"
    __table_args__ = (
        CheckConstraint(check_in("purpose", TOKEN_PURPOSES), name="purpose"),
        CheckConstraint("expires_at > created_at", name="expiry"),
        Index("ix_account_tokens_user_purpose", "user_id", "purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))
    # Hex SHA-256 of the random secret in the link (the secret itself is never stored).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # For email verification: the address the link was sent to (becomes the sign-in email).
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime())
    # Set when the link is followed, or when a newer link or a password change makes it void.
    used_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    def __repr__(self) -> str:
        return f"<AccountToken {self.id} {self.purpose} user={self.user_id}>"
