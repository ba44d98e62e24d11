"""Challenges: business needs posted by department officers."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Computed, Date, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .db import (
    AwareDateTime,
    Base,
    DomainRow,
    RowValues,
    TagRow,
    TimestampMixin,
    check_in,
    trigram_index,
    utcnow,
)
from .names import clean_name
from .vocabulary import (
    AREA_KEYS,
    CHALLENGE_STATUSES,
    CONTENT_LANGUAGES,
    ChallengeStatus,
)

if TYPE_CHECKING:
    from .organisation import Department, Startup
    from .user import User


#: The generated ``challenges.search_text`` column (the same SQL on SQLite and PostgreSQL).
SEARCH_TEXT_SQL = "lower(title || ' ' || problem_statement || ' ' || desired_outcomes)"


class Challenge(TimestampMixin, Base):
    """A department's business need, open to proposals while its status is ``open``."""

    __tablename__ = "challenges"
    __table_args__ = (
        CheckConstraint(check_in("status", CHALLENGE_STATUSES), name="status"),
        CheckConstraint(check_in("functional_area", AREA_KEYS), name="functional_area"),
        CheckConstraint(check_in("language", CONTENT_LANGUAGES), name="language"),
        CheckConstraint("duration_weeks BETWEEN 1 AND 104", name="duration_weeks"),
        # The challenge search looks for its words anywhere in search_text (LIKE '%...%').
        trigram_index("challenges", "search_text"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    problem_statement: Mapped[str] = mapped_column(Text)
    desired_outcomes: Mapped[str] = mapped_column(Text, default="")
    constraints: Mapped[str] = mapped_column(Text, default="")
    # What the search reads: the searchable texts, lower-cased once when written (a plain LIKE
    # over them is several times faster than ILIKE over the three columns). Kept by the
    # database; never loaded with the row.
    search_text: Mapped[str] = mapped_column(
        Text, Computed(SEARCH_TEXT_SQL, persisted=True), deferred=True
    )
    # None only on a draft: a challenge needs its area (and its problem and domains) to open.
    functional_area: Mapped[str | None] = mapped_column(String(40))
    # Expected length of the proof-of-concept trial.
    duration_weeks: Mapped[int] = mapped_column(Integer, default=12)
    closing_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=ChallengeStatus.DRAFT, index=True)
    language: Mapped[str] = mapped_column(String(10), default="en")
    opened_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    department: Mapped[Department] = relationship()
    created_by: Mapped[User | None] = relationship()
    domain_rows: Mapped[list[ChallengeDomain]] = relationship(
        cascade="all, delete-orphan", order_by="ChallengeDomain.domain"
    )
    tag_rows: Mapped[list[ChallengeTag]] = relationship(
        cascade="all, delete-orphan", order_by=lambda: func.lower(ChallengeTag.tag)
    )

    domains = RowValues("domain_rows", "domain")
    tags = RowValues("tag_rows", "tag")

    @validates("title")
    def _clean_title(self, _key: str, value: str) -> str:
        return clean_name(value) if isinstance(value, str) else value

    def __repr__(self) -> str:
        return f"<Challenge {self.id} {self.status} {self.title[:30]!r}>"


class ChallengeDomain(DomainRow, Base):
    """One of the six MoU domains a challenge is tagged with."""

    __tablename__ = "challenge_domains"

    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True
    )


class ChallengeTag(TagRow, Base):
    """A technology tag on a challenge (lower case)."""

    __tablename__ = "challenge_tags"

    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True
    )


class ChallengeFollow(Base):
    """A user following a challenge to hear about its changes."""

    __tablename__ = "challenge_follows"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True
    )


class ChallengeQuestion(Base):
    """A startup's question on a challenge and the department's answer.

    The question is seen by the challenge's department and the lab (and the asking
    startup); once answered, the department may publish the answer on the challenge page,
    where it is shown without the asker's name. The lab may hide a question with a reason.
    """

    __tablename__ = "challenge_questions"
    __table_args__ = (
        CheckConstraint(check_in("question_language", CONTENT_LANGUAGES), name="question_language"),
        CheckConstraint(
            "answer_language IS NULL OR " + check_in("answer_language", CONTENT_LANGUAGES), name="answer_language"
        ),
        # Only an answered question can be published.
        CheckConstraint("published_at IS NULL OR answered_at IS NOT NULL", name="published_answered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    # The asking startup and member; kept out of everything public.
    startup_id: Mapped[int | None] = mapped_column(ForeignKey("startups.id", ondelete="SET NULL"), index=True)
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text)
    # Language of the question and of the answer, each as written (for lang="").
    question_language: Mapped[str] = mapped_column(String(10), default="en")
    answer: Mapped[str | None] = mapped_column(Text)
    answer_language: Mapped[str | None] = mapped_column(String(10))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # On the challenge page for everyone who may see the challenge, without the asker's name.
    published_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    hidden_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    hidden_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, index=True)

    challenge: Mapped[Challenge] = relationship()
    startup: Mapped[Startup | None] = relationship()
    asked_by: Mapped[User | None] = relationship(foreign_keys=[asked_by_id])

    @property
    def answered(self) -> bool:
        """Whether the department has answered."""
        return self.answered_at is not None

    @property
    def published(self) -> bool:
        """Whether the answer is on the public challenge page (published and not hidden)."""
        return self.published_at is not None and self.hidden_at is None

    @property
    def hidden(self) -> bool:
        """Whether the lab hid the question."""
        return self.hidden_at is not None

    def __repr__(self) -> str:
        return f"<ChallengeQuestion {self.id} challenge={self.challenge_id}>"
