"""Proposals: a startup's expression of interest in a challenge."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import AwareDateTime, Base, TimestampMixin, check_in
from .vocabulary import PROPOSAL_STATUSES, ProposalStatus

if TYPE_CHECKING:
    from .capability import Capability
    from .challenge import Challenge
    from .organisation import Startup
    from .user import User


class Proposal(TimestampMixin, Base):
    """A short pitch offering one capability for one challenge (one per startup and challenge)."""

    __tablename__ = "proposals"
    __table_args__ = (
        UniqueConstraint("challenge_id", "startup_id"),
        CheckConstraint(check_in("status", PROPOSAL_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    startup_id: Mapped[int] = mapped_column(ForeignKey("startups.id", ondelete="CASCADE"), index=True)
    capability_id: Mapped[int] = mapped_column(ForeignKey("capabilities.id", ondelete="CASCADE"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    pitch: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=ProposalStatus.SUBMITTED)
    # The department's request that the lab shortlist this proposal (the latest one counts).
    shortlist_requested_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    shortlist_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    shortlist_request_note: Mapped[str] = mapped_column(Text, default="")

    challenge: Mapped[Challenge] = relationship()
    startup: Mapped[Startup] = relationship()
    capability: Mapped[Capability] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    shortlist_requested_by: Mapped[User | None] = relationship(foreign_keys=[shortlist_requested_by_id])

    def __repr__(self) -> str:
        return f"<Proposal {self.id} {self.status}>"
