"""Panel scoring: a challenge's published evaluation criteria and the panel's scores."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, TimestampMixin

if TYPE_CHECKING:
    from .challenge import Challenge
    from .proposal import Proposal
    from .user import User


class EvaluationCriterion(Base):
    """One published criterion a challenge's proposals are scored against, with its weight.

    ``key`` names a criterion of the lab's template (its words come from ``portal.labels`` in
    the reader's language); a criterion the officer wrote or renamed has no key and keeps
    the ``name`` and ``description`` typed, in the challenge's language.
    """

    __tablename__ = "evaluation_criteria"
    __table_args__ = (
        UniqueConstraint("challenge_id", "position"),
        CheckConstraint("weight BETWEEN 1 AND 100", name="weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[int] = mapped_column(Integer)

    challenge: Mapped[Challenge] = relationship()

    def __repr__(self) -> str:
        return f"<EvaluationCriterion {self.id} {self.key or self.name[:20]!r} {self.weight}%>"


class PanelScore(TimestampMixin, Base):
    """A panel member's score (1 to 5) of one proposal against one criterion, with a comment."""

    __tablename__ = "panel_scores"
    __table_args__ = (
        UniqueConstraint("proposal_id", "criterion_id", "scorer_id"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("evaluation_criteria.id", ondelete="CASCADE"))
    scorer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")

    proposal: Mapped[Proposal] = relationship()
    criterion: Mapped[EvaluationCriterion] = relationship()
    scorer: Mapped[User] = relationship()

