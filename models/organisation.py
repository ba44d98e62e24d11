"""Departments (and their units) and startups."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .db import AwareDateTime, Base, TimestampMixin, check_in, trigram_index
from .names import clean_name, name_key
from .vocabulary import STARTUP_SIZES

if TYPE_CHECKING:
    from .capability import Capability


class Department(Base):
    """A government department or one of its units (``parent`` is the department)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )

    parent: Mapped[Department | None] = relationship(remote_side=[id])

    @validates("name_en", "name_zh")
    def _clean_name(self, _key: str, value: str) -> str:
        return clean_name(value) if isinstance(value, str) else value

    def name(self, locale: str | None) -> str:
        """Return the department's name in ``locale``."""
        return self.name_zh if locale and locale.lower().startswith("zh") else self.name_en

    def __repr__(self) -> str:
        return f"<Department {self.code}>"


def _name_key_default(context: DefaultExecutionContext) -> str:
    """``name_key`` for rows inserted without the ORM (bulk inserts of the load-test seeding)."""
    return name_key(context.get_current_parameters()["name"])


class Startup(TimestampMixin, Base):
    """A company that offers capabilities for PoC trials."""

    __tablename__ = "startups"
    __table_args__ = (
        CheckConstraint(check_in("size", STARTUP_SIZES), name="size"),
        # The lab's startup list searches names anywhere (ILIKE '%...%').
        trigram_index("startups", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The name as names are compared (models.names.name_key: normalised, without invisible
    # characters, case-folded): "DocuLeaf\u200b AI" and "doculeaf ai" are the same startup.
    # Case folding can lengthen a name (ß -> ss), hence the room.
    name_key: Mapped[str] = mapped_column(String(600), unique=True, default=_name_key_default)
    website: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[str] = mapped_column(String(10), default="1-10")
    language: Mapped[str] = mapped_column(String(10), default="en")
    # Set only by a lab coordinator after checking the company's registration;
    # who did it is in the audit trail.
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    capabilities: Mapped[list[Capability]] = relationship(
        back_populates="startup", cascade="all, delete-orphan", order_by="Capability.id"
    )

    @validates("name")
    def _clean_name(self, _key: str, value: str) -> str:
        if isinstance(value, str):
            value = clean_name(value)
            self.name_key = name_key(value)
        return value

    def __repr__(self) -> str:
        return f"<Startup {self.id} {self.name!r}>"
