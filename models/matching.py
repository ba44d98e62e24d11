"""Recommender state kept in the database: cached embeddings, feedback, learned weights."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .db import AwareDateTime, Base, utcnow


class Embedding(Base):
    """A text's vector under one model, so an unchanged text is never encoded twice."""

    __tablename__ = "embeddings"
    __table_args__ = (UniqueConstraint("model", "text_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    # sha256 of model id and text (matcher.text_hash).
    text_hash: Mapped[str] = mapped_column(String(64))
    dim: Mapped[int] = mapped_column(Integer)
    # Little-endian float32 bytes.
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class Dismissal(Base):
    """A user's 'not relevant' on one recommendation, hidden from that user afterwards."""

    __tablename__ = "dismissals"
    __table_args__ = (
        UniqueConstraint("user_id", "challenge_id", "startup_id"),
        CheckConstraint("direction IN ('for_challenge', 'for_startup')", name="direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    startup_id: Mapped[int] = mapped_column(ForeignKey("startups.id", ondelete="CASCADE"), index=True)
    # for_challenge: an officer dismissed a startup; for_startup: a startup dismissed a challenge.
    direction: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    # Component scores at the time, for the learning step.
    components: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class RankerVersion(Base):
    """A set of fusion weights learnt from decisions (``flask matcher train``)."""

    __tablename__ = "ranker_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(40), unique=True)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON)
    examples: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
