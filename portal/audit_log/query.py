"""Filtering, paging, diffing and CSV export of audit events."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from models import AuditEvent, Base, User

from .. import clock
from ..audit_labels import field_label, value_label
from ..database import db
from ..services.paging import Page, paginate
from ..templating import colon, format_day_time

#: Cells starting with these are formulas to a spreadsheet; they get a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_CHUNK = 1000
#: Entity types that always appear in the filter, even before any event of that kind.
KNOWN_ENTITY_TYPES = (
    "challenge", "proposal", "trial", "user", "startup", "capability", "conflictofinterest", "dismissal",
)


@dataclass
class AuditFilters:
    """The log's filters; empty values mean "any"."""

    actor: str = ""
    #: The start of an action code ("trial." or "trial.approve"), or words of its label.
    action: str = ""
    #: The actions whose label (in the reader's language) has the words of ``action``.
    action_words: tuple[str, ...] = ()
    entity_type: str = ""
    entity_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


#: One page of events.
AuditPage = Page


def entity_types() -> list[str]:
    """Every entity type in the log, and the usual ones."""
    found = set(db.scalars(select(AuditEvent.entity_type).distinct()))
    return sorted(found | set(KNOWN_ENTITY_TYPES))


def _start_of(day: date) -> datetime:
    return clock.start_of_day(day)


def filtered(filters: AuditFilters) -> Select[Any]:
    """The events matching ``filters`` (no order)."""
    stmt = select(AuditEvent)
    actor = (filters.actor or "").strip()
    if actor:
        if actor.isascii() and actor.isdigit():
            stmt = stmt.where(AuditEvent.actor_id == int(actor))
        else:
            matching = select(User.id).where(
                or_(User.email.icontains(actor, autoescape=True), User.display_name.icontains(actor, autoescape=True))
            )
            stmt = stmt.where(AuditEvent.actor_id.in_(matching))
    if filters.action:
        by_code = AuditEvent.action.startswith(filters.action.strip(), autoescape=True)
        stmt = stmt.where(or_(by_code, AuditEvent.action.in_(filters.action_words)) if filters.action_words else by_code)
    if filters.entity_type:
        stmt = stmt.where(AuditEvent.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == filters.entity_id)
    if filters.date_from:
        stmt = stmt.where(AuditEvent.created_at >= _start_of(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(AuditEvent.created_at < _start_of(filters.date_to + timedelta(days=1)))
    return stmt


def search_events(filters: AuditFilters, page: int = 1, per_page: int = 20) -> AuditPage:
    """One page of the matching events, newest first; ``page`` is clamped to the pages there are."""
    return paginate(
        filtered(filters).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()),
        page, per_page, options=[selectinload(AuditEvent.actor)],
    )


_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def show(value: Any, entity_type: str | None = None) -> str:
    """A value of a before/after snapshot as text for people: a recorded moment in the
    reader's time zone and words ("4 Dec 2026, 14:05"), a day as a date, a record as
    "field: value" pairs in words (a document's "File type: PDF; Name: ..."); the CSV export
    keeps the stored values."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str):
        return _moment_or_day(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value) if value else "—"
    if isinstance(value, dict):
        return "; ".join(
            f"{field_label(key)}{colon()}{show(value_label(entity_type, key, item), entity_type)}"
            for key, item in sorted(value.items())
        ) or "—"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _moment_or_day(text: str) -> str:
    try:
        if _ISO_MOMENT.match(text):
            moment = datetime.fromisoformat(text)
            return format_day_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        if _ISO_DAY.match(text):
            return format_date(date.fromisoformat(text), "medium")
    except ValueError:
        pass
    return text


@cache
def person_fields() -> frozenset[str]:
    """The recorded fields that hold a user's id: every column of the schema that refers to
    ``users.id`` (``created_by_id``, ``coordinator_id``, ``user_id`` ...), read off the tables."""
    users = User.__table__.c.id
    return frozenset(
        column.name
        for table in Base.metadata.tables.values()
        for column in table.columns
        if any(key.references(users.table) and key.column is users for key in column.foreign_keys)
    )


def _person_id(key: str, value: Any) -> int | None:
    """The user id a recorded ``key: value`` holds, or None when it holds none."""
    if key.rsplit(".", 1)[-1] in person_fields() and isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def people(events: Iterable[AuditEvent]) -> dict[int, str]:
    """The users the events' recorded values refer to, as "name (email)", by id: one query
    for a page, so that a change of coordinator reads as who, not as a number."""
    ids = {
        uid
        for event in events
        for snapshot in (event.before or {}, event.after or {})
        for key, value in snapshot.items()
        if (uid := _person_id(key, value)) is not None
    }
    if not ids:
        return {}
    rows = db.execute(select(User.id, User.display_name, User.email).where(User.id.in_(ids)))
    return {uid: f"{name} ({email})" for uid, name, email in rows}


def named(key: str, value: Any, known: dict[int, str]) -> Any:
    """``value`` as a person when ``key`` holds a user's id and the user is known, else as it is."""
    uid = _person_id(key, value)
    return value if uid is None else known.get(uid, value)


def diff(event: AuditEvent) -> list[tuple[str, Any, Any, bool]]:
    """The fields of ``event`` as (field, before, after, changed), changed ones first."""
    before = event.before or {}
    after = event.after or {}
    rows = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        rows.append((key, old, new, old != new))
    return sorted(rows, key=lambda row: not row[3])


def safe_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _line(cells: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n").writerow([safe_cell(c) for c in cells])
    return buffer.getvalue()


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def csv_lines(filters: AuditFilters) -> Iterator[str]:
    """The matching events as CSV lines, oldest first, after a UTF-8 BOM (for Excel) and a header."""
    yield "\ufeff" + _line(
        [_("Id"), _("Time (UTC)"), _("Actor id"), _("Actor email"), _("Actor name"), _("Action"),
         _("Entity type"), _("Entity id"), _("Before"), _("After")]
    )
    stmt = filtered(filters).options(selectinload(AuditEvent.actor)).order_by(AuditEvent.id)
    last_id = 0
    while True:
        chunk = list(db.scalars(stmt.where(AuditEvent.id > last_id).limit(CSV_CHUNK)))
        if not chunk:
            return
        for e in chunk:
            yield _line([
                e.id, e.created_at.astimezone(UTC).isoformat(), e.actor_id,
                e.actor.email if e.actor else "", e.actor.display_name if e.actor else "",
                e.action, e.entity_type, e.entity_id, _json(e.before), _json(e.after),
            ])
        last_id = chunk[-1].id
