"""Pages of a list: one count, the page number clamped, one read of that page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func
from sqlalchemy.orm.interfaces import ORMOption

from ..database import db

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of results (``templates/challenges/_macros.html`` ``pagination`` renders it)."""

    items: list[T]
    total: int
    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_count(total: int, size: int) -> int:
    """How many pages ``total`` rows fill, at least one."""
    return max(1, -(-total // size))


def paginate(
    stmt: Select[Any], page: int, size: int, *, options: Sequence[ORMOption] = (), rows: bool = False
) -> Page[Any]:
    """One page of an ordered statement's results.

    Args:
        stmt: The statement, with its filters and order (no loader options, no GROUP BY
            or DISTINCT: the count reads the same FROM and WHERE).
        page: The page asked for; clamped to the pages there are, so any number is safe.
        size: Rows per page.
        options: Loader options for the page's rows (``selectinload(...)``).
        rows: Return result rows (several columns) instead of the first column's values.

    Returns:
        The page, with the total count and the number of pages.
    """
    # count(*) over the statement's own FROM and WHERE: its columns (correlated counts, say)
    # are not computed for rows that are only counted.
    total = db.scalar(stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)) or 0
    pages = page_count(total, size)
    page = min(max(page, 1), pages)
    query = stmt.options(*options).offset((page - 1) * size).limit(size)
    items = list(db.execute(query).all() if rows else db.scalars(query).all())
    return Page(items, total, page, pages)
