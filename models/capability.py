"""Capabilities: a startup's products or solutions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .db import Base, DomainRow, RowValues, TagRow, TimestampMixin, check_in, trigram_index
from .names import clean_name
from .vocabulary import CONTENT_LANGUAGES

if TYPE_CHECKING:
    from .organisation import Startup


class Capability(TimestampMixin, Base):
    """A product or solution a startup can bring to a PoC trial."""

    __tablename__ = "capabilities"
    __table_args__ = (
        CheckConstraint("readiness BETWEEN 1 AND 9", name="readiness"),
        CheckConstraint(check_in("language", CONTENT_LANGUAGES), name="language"),
        # The recommender's corpus version reads max(updated_at) on every recommendation page.
        Index("ix_capabilities_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    startup_id: Mapped[int] = mapped_column(ForeignKey("startups.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    deployments: Mapped[str] = mapped_column(Text, default="")
    # Technology readiness level, 1 (idea) to 9 (proven in operation).
    readiness: Mapped[int] = mapped_column(Integer, default=5)
    language: Mapped[str] = mapped_column(String(10), default="en")

    startup: Mapped[Startup] = relationship(back_populates="capabilities")
    domain_rows: Mapped[list[CapabilityDomain]] = relationship(
        cascade="all, delete-orphan", order_by="CapabilityDomain.domain"
    )
    tag_rows: Mapped[list[CapabilityTag]] = relationship(
        cascade="all, delete-orphan", order_by=lambda: func.lower(CapabilityTag.tag)
    )

    domains = RowValues("domain_rows", "domain")
    technologies = RowValues("tag_rows", "tag")

    @validates("name")
    def _clean_name(self, _key: str, value: str) -> str:
        return clean_name(value) if isinstance(value, str) else value

    def __repr__(self) -> str:
        return f"<Capability {self.id} {self.name[:30]!r}>"


class CapabilityDomain(DomainRow, Base):
    """One of the six MoU domains a capability serves."""

    __tablename__ = "capability_domains"

    capability_id: Mapped[int] = mapped_column(
        ForeignKey("capabilities.id", ondelete="CASCADE"), primary_key=True
    )


class CapabilityTag(TagRow, Base):
    """A technology a capability uses (lower case)."""

    __tablename__ = "capability_tags"
    # The lab's startup list finds startups by a capability's technology tag ("ocr", "data").
    __table_args__ = (trigram_index("capability_tags", "tag"),)

    capability_id: Mapped[int] = mapped_column(
        ForeignKey("capabilities.id", ondelete="CASCADE"), primary_key=True
    )
