"""Documents attached to a challenge, a proposal or a trial (the file itself is in storage)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import AwareDateTime, Base, check_in, utcnow

if TYPE_CHECKING:
    from .user import User

#: The content types a document may have, decided by sniffing its bytes (never by the client).
DOCUMENT_TYPES = (
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "image/png",
    "image/jpeg",
)

#: Exactly one parent: a document belongs to one challenge, one proposal or one trial.
ONE_PARENT = (
    "(challenge_id IS NOT NULL AND proposal_id IS NULL AND trial_id IS NULL)"
    " OR (challenge_id IS NULL AND proposal_id IS NOT NULL AND trial_id IS NULL)"
    " OR (challenge_id IS NULL AND proposal_id IS NULL AND trial_id IS NOT NULL)"
)


class Document(Base):
    """A file attached to one challenge, proposal or trial.

    Three nullable foreign keys (one set, by a CHECK constraint) rather than a
    ``parent_type``/``parent_id`` pair: the database itself refuses a document whose parent
    does not exist, and deletes the rows with their parent (ON DELETE CASCADE). The stored
    file is removed after the commit by ``portal.services.documents``.
    """

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(ONE_PARENT, name="one_parent"),
        CheckConstraint(check_in("content_type", DOCUMENT_TYPES), name="content_type"),
        CheckConstraint("size_bytes > 0", name="size_bytes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int | None] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    trial_id: Mapped[int | None] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    # Random name in the document storage (portal/services/storage.py); never derived from the upload's name.
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    # The name people read: the upload's own name, cleaned (unicode kept), at most 200 characters.
    display_name: Mapped[str] = mapped_column(String(200))
    # From the file's bytes (portal/services/sniffing.py), one of DOCUMENT_TYPES.
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    uploaded_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Document {self.id} {self.content_type}>"
