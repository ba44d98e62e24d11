"""The service's one clock: what time it is, and what day it is in Hong Kong.

Every "now" and "today" in the portal comes from here. Instants are stored in UTC
(``now()``); dates people set and read (closing dates, milestone due dates, the audit
log's date filters, the statistics' months) are Hong Kong dates (``today()``,
``local()``, ``start_of_day()``). The zone is fixed rather than configured: the MoU's
deadlines are Hong Kong deadlines wherever the server runs, and Hong Kong has had no
daylight saving time since 1979.

Tests freeze this clock with ``time_machine.travel(...)``, which also stops the models'
column defaults (:func:`models.db.utcnow`), so one frozen instant holds everywhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from models.db import utcnow

#: The IANA name of the service's time zone (also Flask-Babel's display zone).
ZONE_NAME = "Asia/Hong_Kong"
ZONE = ZoneInfo(ZONE_NAME)

__all__ = ["ZONE", "ZONE_NAME", "local", "now", "start_of_day", "to_utc", "today"]


def now() -> datetime:
    """The current instant, timezone-aware, in UTC (the column defaults use the same)."""
    return utcnow()


def today() -> date:
    """Today's date in Hong Kong, whatever zone the server runs in."""
    return now().astimezone(ZONE).date()


def local(instant: datetime) -> datetime:
    """An aware instant as Hong Kong wall-clock time (still aware)."""
    return instant.astimezone(ZONE)


def start_of_day(day: date) -> datetime:
    """The UTC instant at which ``day`` begins in Hong Kong."""
    return datetime.combine(day, time.min, ZONE).astimezone(UTC)


def to_utc(wall_clock: datetime) -> datetime:
    """A naive Hong Kong wall-clock time (as typed in a form) as an aware UTC instant."""
    return wall_clock.replace(tzinfo=ZONE).astimezone(UTC)
