"""Pages of a list: one count, the page number clamped, one read of that page; and the
patterns a list's text search matches lower-cased columns with, in every script Chinese
is written in."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Generic, TypeVar

import opencc
from sqlalchemy import ColumnElement, Select, SQLColumnExpression, func, or_
from sqlalchemy.orm.interfaces import ORMOption

from matcher.translate import HK_VARIANTS
from models.names import has_han

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


def contains_lowered(words: str) -> ColumnElement[str]:
    """The LIKE pattern (escape character ``\\``) that finds ``words`` anywhere in a column stored
    lower case: lower-cased by the database's own lower() (SQLite's folds ASCII only, like
    its generated columns), with ``%``, ``_`` and ``\\`` matched as themselves."""
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(f"%{escaped}%")


# Back to the Hong Kong variant forms (線 -> 綫, 衛 -> 衞, 著 -> 着): matcher.translate's
# table read the other way.
# (Not 衹, 菓, 綉: old forms Hong Kong does not prefer, which would only add patterns.)
_HK_FORMS = str.maketrans({
    standard: chr(hk) for hk, standard in HK_VARIANTS.items() if len(standard) == 1 and chr(hk) not in "衹菓綉"
})
# ASCII punctuation -> the full-width forms Chinese is written with (names keep them as typed,
# older rows hold ASCII: models.names), and back (NFKC).
_FULL_WIDTH = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in "()[]:;,!?%"})


@cache
def _converter(config: str) -> Callable[[str], str]:
    """OpenCC's converter of one configuration (``hk2s``: Hong Kong Traditional to
    Simplified; ``s2hk``, ``s2t``, ``s2tw``: Simplified to Hong Kong, OpenCC's standard and
    Taiwan Traditional), its dictionaries loaded once."""
    convert: Callable[[str], str] = opencc.OpenCC(f"{config}.json").convert
    return convert


#: The conversions :func:`spellings` uses.
CONVERSIONS = ("hk2s", "s2hk", "s2t", "s2tw")


def load_converters() -> None:
    """Load every conversion's dictionaries now: gunicorn's master does, before it forks, so
    the workers share one copy (about 45 MiB, most of it the phrase dictionaries that tell
    头发 頭髮 from 发展 發展) instead of each loading its own on its first Chinese search."""
    for config in CONVERSIONS:
        _converter(config)


@lru_cache(maxsize=256)
def spellings(words: str) -> tuple[str, ...]:
    """``words`` as typed, then as the other ways of writing Chinese write them.

    Hong Kong's public bodies write 衞生署 and 電綫, most keyboards give 衛生署 and 電線, and a
    company from the mainland writes 卫生署: a search for any of them finds the others. The
    words go to Simplified characters (OpenCC ``hk2s``) and from there to Hong Kong,
    OpenCC's standard and Taiwan Traditional, which OpenCC converts phrase by phrase (发展
    is 發展, 头发 is 頭髮). Words without Chinese characters are returned alone.
    """
    if not has_han(words):
        return (words,)
    simplified = _converter("hk2s")(words)
    traditional = [_converter(config)(simplified) for config in CONVERSIONS[1:]]
    # OpenCC's Hong Kong standard writes 線 and 著; Hong Kong's public bodies often write 綫, 着.
    hong_kong = [form.translate(_HK_FORMS) for form in traditional]
    forms = [words, simplified, *traditional, *hong_kong]
    if any(not c.isalnum() and not c.isspace() for c in words):
        # 康健（香港） and 康健(香港) find each other.
        forms += [unicodedata.normalize("NFKC", words), unicodedata.normalize("NFKC", words).translate(_FULL_WIDTH)]
    return tuple(dict.fromkeys(forms))


def contains_any(column: SQLColumnExpression[str], words: str, *, stored_lower: bool = True) -> ColumnElement[bool]:
    """``column`` holds ``words`` in any of their :func:`spellings`: one condition for each
    (one for words without Chinese), so an index of the column still serves each. A column
    stored lower case is matched with ``LIKE`` on the lower-cased words; otherwise
    (``stored_lower=False``) with ``ILIKE`` (lower() LIKE lower() on SQLite)."""
    if stored_lower:
        return or_(*(column.like(contains_lowered(form), escape="\\") for form in spellings(words)))
    return or_(*(column.icontains(form, autoescape=True) for form in spellings(words)))


def page_count(total: int, size: int) -> int:
    """How many pages ``total`` rows fill, at least one."""
    return max(1, -(-total // size))


def paginate(
    stmt: Select[Any], page: int, size: int, *, options: Sequence[ORMOption] = (), rows: bool = False,
    one_pass: bool = False,
) -> Page[Any]:
    """One page of an ordered statement's results.

    Args:
        stmt: The statement, with its filters and order (no loader options, no GROUP BY
            or DISTINCT: the count reads the same FROM and WHERE).
        page: The page asked for; clamped to the pages there are, so any number is safe.
        size: Rows per page.
        options: Loader options for the page's rows (``selectinload(...)``).
        rows: Return result rows (several columns) instead of the first column's values.
        one_pass: Read the page and the total in one query, each row carrying the total of
            the whole result (``count(*) OVER ()``), for a statement whose filter is costly
            (a text search reads every candidate row once, not twice). Past the last page it
            counts, then reads the last page.

    Returns:
        The page, with the total count and the number of pages.
    """
    page = max(page, 1)
    if one_pass:
        # An offset past any possible result is not sent (it could overflow the database's integers).
        found = _read(stmt.add_columns(func.count().over()), page, size, options) if (page - 1) * size < 2**31 else []
        if found or page == 1:
            total = int(found[0][-1]) if found else 0
            items = [tuple(row[:-1]) if rows else row[0] for row in found]
            return Page(items, total, page, page_count(total, size))
    # count(*) over the statement's own FROM and WHERE: its columns (correlated counts, say)
    # are not computed for rows that are only counted.
    total = db.scalar(stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)) or 0
    pages = page_count(total, size)
    page = min(page, pages)
    found = _read(stmt, page, size, options)
    return Page([row if rows else row[0] for row in found], total, page, pages)


def _read(stmt: Select[Any], page: int, size: int, options: Sequence[ORMOption]) -> list[Any]:
    return list(db.execute(stmt.options(*options).offset((page - 1) * size).limit(size)).all())
