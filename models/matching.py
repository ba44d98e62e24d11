"""Recommender state kept in the database: cached embeddings, feedback, learned weights."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .db import AwareDateTime, Base, check_in, utcnow
from .vocabulary import CorpusKind, CorpusOp


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


class CorpusVersion(Base):
    """The version of one recommender corpus, bumped by every transaction that changes what
    its ranking reads (``portal/services/recommendations/changes.py``), in that transaction.

    A worker holding an older version reads the :class:`CorpusChange` rows after it and
    edits its fitted ranker with those items only. The row is locked from the bump to the
    commit, so versions become visible in order. ``epoch`` is drawn when the row is
    created: a counter wiped and created again (a restored or emptied database) starts a
    new series that no worker mistakes for its own.
    """

    __tablename__ = "corpus_versions"
    __table_args__ = (CheckConstraint(check_in("kind", [k.value for k in CorpusKind]), name="kind"),)

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    epoch: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class CorpusChange(Base):
    """One item of a corpus changed in version ``version`` (``item_id`` None with op ``all``:
    a bulk statement, after which workers fit the corpus again in the background)."""

    __tablename__ = "corpus_changes"
    __table_args__ = (
        CheckConstraint(check_in("kind", [k.value for k in CorpusKind]), name="kind"),
        CheckConstraint(check_in("op", [o.value for o in CorpusOp]), name="op"),
        Index("ix_corpus_changes_kind_version", "kind", "version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int | None] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
