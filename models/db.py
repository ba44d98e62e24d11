"""Declarative base, naming convention and shared column helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import DDL, CheckConstraint, DateTime, Index, MetaData, String, event, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

from .vocabulary import DOMAIN_KEYS

# Named constraints make Alembic migrations reproducible across SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every InnoMatch model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __repr__(self) -> str:
        ident = getattr(self, "id", None)
        return f"<{type(self).__name__} id={ident!r}>"


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class AwareDateTime(TypeDecorator[datetime]):
    """Store UTC; always hand back aware datetimes whatever the backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class TimestampMixin:
    """created_at / updated_at maintained by SQLAlchemy."""

    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        AwareDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class RowValues:
    """A list of strings kept as child rows, one value a row: ``domains = RowValues("domain_rows",
    "domain")`` reads ``[row.domain for row in self.domain_rows]`` and, when set, replaces the rows
    with one new row per distinct value, in the order given (the rows' class is the one the
    relationship maps). Read on the class, it is the descriptor itself."""

    def __init__(self, rows: str, field: str) -> None:
        self.rows = rows
        self.field = field

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> RowValues: ...
    @overload
    def __get__(self, obj: object, owner: type[Any]) -> list[str]: ...
    def __get__(self, obj: object | None, owner: type[Any]) -> RowValues | list[str]:
        if obj is None:
            return self
        return [getattr(row, self.field) for row in getattr(obj, self.rows)]

    def __set__(self, obj: object, values: list[str]) -> None:
        row_class = inspect(type(obj)).relationships[self.rows].mapper.class_
        setattr(obj, self.rows, [row_class(**{self.field: v}) for v in dict.fromkeys(values)])


def check_in(column: str, values: tuple[str, ...] | list[str]) -> str:
    """SQL text for a CHECK constraint limiting ``column`` to ``values``."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


class DomainRow:
    """A child row naming one of the six MoU domains (a parent's ``domains``); the subclass
    declares the parent key, which comes first in the primary key."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (CheckConstraint(check_in("domain", DOMAIN_KEYS), name="domain"),)

    domain: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class TagRow:
    """A child row holding one lower-case technology tag (a parent's tag list, made with
    :func:`distinct_tags`); the subclass declares the parent key, which comes first in the
    primary key. Lower case so that searches match with a plain ``LIKE`` (four times faster
    than ``ILIKE`` on PostgreSQL's tag rows); pages show a listed tag in its English form
    ("OCR", ``portal/data/technologies.tsv``)."""

    tag: Mapped[str] = mapped_column(String(60), primary_key=True, index=True)


def distinct_tags(tags: Iterable[object]) -> list[str]:
    """A tag list as stored: each tag lower case with its spaces collapsed, blanks and
    non-strings dropped, each tag once, in the order first typed."""
    return list(dict.fromkeys(" ".join(t.split()).lower() for t in tags if isinstance(t, str) and t.strip()))


def trigram_index(table: str, column: str) -> Index:
    """A PostgreSQL trigram (pg_trgm) GIN index on ``column``, which ``ILIKE '%text%'``
    searches use instead of reading every row; not created on SQLite, whose tables are small."""
    return Index(
        f"ix_{table}_{column}_trgm", column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"}
    ).ddl_if(dialect="postgresql")


# Trigram indexes need the pg_trgm extension (a trusted extension: the database owner may
# create it). Migrations create it too; this covers metadata.create_all (the tests).
event.listen(
    Base.metadata, "before_create", DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql")
)


def include_in_autogenerate(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object`` for ``dialect``: leaves out the objects declared for
    other dialects only (``ddl_if``), which Alembic itself does not check."""

    def include(obj: Any, _name: str | None, _type: str, _reflected: bool, _compare_to: Any) -> bool:
        only = getattr(obj, "_ddl_if", None)
        return only is None or only.dialect is None or only.dialect == dialect

    return include
