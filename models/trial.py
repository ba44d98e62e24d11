"""PoC trials and what is tracked about them."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
    select,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import AwareDateTime, Base, TimestampMixin, check_in, utcnow
from .vocabulary import TRIAL_OUTCOMES, TRIAL_STATES, TrialState

if TYPE_CHECKING:
    from .capability import Capability
    from .challenge import Challenge
    from .organisation import Startup
    from .proposal import Proposal
    from .user import User


class Trial(TimestampMixin, Base):
    """A proof-of-concept pairing of a challenge with a startup's capability."""

    __tablename__ = "trials"
    __table_args__ = (
        UniqueConstraint("challenge_id", "startup_id"),
        CheckConstraint(check_in("status", TRIAL_STATES), name="status"),
        CheckConstraint(
            "outcome IS NULL OR (status = 'completed' AND " + check_in("outcome", TRIAL_OUTCOMES) + ")",
            name="outcome",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    startup_id: Mapped[int] = mapped_column(ForeignKey("startups.id", ondelete="CASCADE"), index=True)
    capability_id: Mapped[int | None] = mapped_column(ForeignKey("capabilities.id", ondelete="SET NULL"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default=TrialState.PROPOSED, index=True)
    outcome: Mapped[str | None] = mapped_column(String(12))
    # Reason given with the latest decision (approval, rejection, withdrawal).
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    department_confirmed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    startup_accepted_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    started_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # Optimistic lock: a concurrent move on a stale row fails instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (read by SQLAlchemy once)

    challenge: Mapped[Challenge] = relationship()
    startup: Mapped[Startup] = relationship()
    capability: Mapped[Capability | None] = relationship()
    proposal: Mapped[Proposal | None] = relationship()
    transitions: Mapped[list[TrialTransition]] = relationship(
        back_populates="trial", cascade="all, delete-orphan", order_by="TrialTransition.id"
    )
    milestones: Mapped[list[Milestone]] = relationship(
        cascade="all, delete-orphan", order_by="Milestone.due_on"
    )
    kpis: Mapped[list[Kpi]] = relationship(cascade="all, delete-orphan", order_by="Kpi.id")
    notes: Mapped[list[TrialNote]] = relationship(cascade="all, delete-orphan", order_by="TrialNote.id")
    report: Mapped[OutcomeReport | None] = relationship(cascade="all, delete-orphan")

    @hybrid_property
    def waits_for_department(self) -> bool:
        """Whether the trial waits for its department: to confirm it takes part in an approved
        trial, or to sign off a completed trial's outcome report (again, after the lab
        unpublished it). Also a SQL condition, so lists can put these first."""
        if self.status == TrialState.APPROVED:
            return self.department_confirmed_at is None
        return self.status == TrialState.COMPLETED and self.report is not None and not self.report.sign_off_stands

    @waits_for_department.inplace.expression
    @classmethod
    def _waits_for_department_expression(cls) -> ColumnElement[bool]:
        unsigned = select(OutcomeReport.id).where(OutcomeReport.trial_id == cls.id, ~OutcomeReport.sign_off_stands)
        return or_(
            and_(cls.status == TrialState.APPROVED, cls.department_confirmed_at.is_(None)),
            and_(cls.status == TrialState.COMPLETED, unsigned.exists()),
        )

    def __repr__(self) -> str:
        return f"<Trial {self.id} {self.status}>"


class TrialTransition(Base):
    """One move of a trial's state machine: who, when, why."""

    __tablename__ = "trial_transitions"
    __table_args__ = (
        CheckConstraint(check_in("to_state", TRIAL_STATES), name="to_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    trial: Mapped[Trial] = relationship(back_populates="transitions")
    actor: Mapped[User | None] = relationship()


class Milestone(Base):
    """A dated milestone of a trial."""

    __tablename__ = "trial_milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    # A milestone that will not be reached is waived, with the reason, so the trial can complete.
    waived_on: Mapped[date | None] = mapped_column(Date)
    waiver_reason: Mapped[str] = mapped_column(Text, default="")

    @property
    def settled(self) -> bool:
        """Done or waived: it no longer stands in the way of completing the trial."""
        return self.done_on is not None or self.waived_on is not None


class Kpi(Base):
    """A KPI agreed at approval, with its measured result at completion."""

    __tablename__ = "trial_kpis"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(200))
    result: Mapped[str | None] = mapped_column(String(200))


class TrialNote(Base):
    """A free-text note on a trial's progress."""

    __tablename__ = "trial_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    # Language of the body (BCP 47); None means the challenge's language.
    language: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    author: Mapped[User | None] = relationship()


class OutcomeReport(TimestampMixin, Base):
    """The structured outcome of a completed trial; the startup can read it."""

    __tablename__ = "trial_outcome_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), unique=True)
    summary: Mapped[str] = mapped_column(Text)
    lessons: Mapped[str] = mapped_column(Text, default="")
    recommendation: Mapped[str] = mapped_column(Text, default="")
    # Language of the text (BCP 47); None means the challenge's language.
    language: Mapped[str | None] = mapped_column(String(10))
    # Public on the showcase, open data and the API only once the department signs it off and
    # then the startup agrees to it being published, and until the lab unpublishes it (with the
    # reason; the startup is then asked again for the report as put right).
    signed_off_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    startup_agreed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    startup_agreed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # How the startup agreed, when a coordinator recorded an agreement given outside the service
    # (empty when a member of the startup agreed on the trial's page).
    startup_agreement_note: Mapped[str] = mapped_column(Text, default="")
    unpublished_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    unpublish_reason: Mapped[str] = mapped_column(Text, default="")
    # When a coordinator last put the text right (before the department's sign-off, or after the
    # lab unpublished it); the department then signs it off again.
    corrected_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # The capability as it was named when the department signed the outcome off: the signed-off
    # record (and the showcase) stay as signed even if the startup renames it later.
    capability_name: Mapped[str] = mapped_column(String(200), default="")
    capability_language: Mapped[str | None] = mapped_column(String(10))

    signed_off_by: Mapped[User | None] = relationship(foreign_keys=[signed_off_by_id])

    @hybrid_property
    def sign_off_stands(self) -> bool:
        """Signed off by the department, and not unpublished by the lab since."""
        return self.signed_off_at is not None and self.unpublished_at is None

    @sign_off_stands.inplace.expression
    @classmethod
    def _sign_off_stands_expression(cls) -> ColumnElement[bool]:
        return and_(cls.signed_off_at.is_not(None), cls.unpublished_at.is_(None))

    @property
    def corrected_this_round(self) -> bool:
        """Corrected by the lab since it last unpublished the report (or, never unpublished,
        at all): the department signs off the report as corrected."""
        return self.corrected_at is not None and (self.unpublished_at is None or self.corrected_at >= self.unpublished_at)

    @property
    def awaiting_startup(self) -> bool:
        """Signed off, and waiting for the startup's agreement to be published."""
        return self.sign_off_stands and self.startup_agreed_at is None

    @hybrid_property
    def published(self) -> bool:
        """Signed off by the department, agreed by the startup and not unpublished by the lab."""
        return self.sign_off_stands and self.startup_agreed_at is not None

    @published.inplace.expression
    @classmethod
    def _published_expression(cls) -> ColumnElement[bool]:
        return and_(cls.sign_off_stands, cls.startup_agreed_at.is_not(None))
