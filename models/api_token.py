"""Personal access tokens for the public API."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import AwareDateTime, Base, check_in, utcnow
from .user import User
from .vocabulary import TOKEN_SCOPES


class ApiToken(Base):
    """A user's named API token. Only the SHA-256 of the secret is stored; it is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(check_in("scope", TOKEN_SCOPES), name="scope"),
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    # Hex SHA-256 of the whole secret ("imt_" + random); the secret itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The secret's first characters, so its owner can tell tokens apart ("imt_AbC1").
    prefix: Mapped[str] = mapped_column(String(12))
    # "read", or "write" (which includes read).
    scope: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(AwareDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix} {self.scope}>"
