"""Write audit events with before/after values."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from models import AuditEvent

from ..database import db


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: Any, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Return the JSON-safe values of ``fields`` on ``obj``."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def record(
    actor: Any,
    action: str,
    entity: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event for ``action`` on ``entity`` by ``actor`` (None for the system)."""
    # Routes pass ``current_user``: name the user behind the proxy, not the proxy's class.
    unwrap = getattr(entity, "_get_current_object", None)
    if callable(unwrap):
        entity = unwrap()
    if before is not None and after is not None:
        # Keep only what changed, so the log reads as a diff.
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        action=action,
        entity_type=type(entity).__name__.lower(),
        entity_id=getattr(entity, "id", None),
        before=before,
        after=after,
    )
    db.add(event)
    return event
