"""The corpus change log: every transaction that changes what ranking reads bumps the
corpus's version and names the changed items, in that same transaction.

One place, ORM session events (installed once per process by :func:`track_corpus_changes`,
from ``portal.subscribers.connect``), rather than a call in every service:

- ``after_flush`` notes the capabilities and challenges the flush inserted, changed or
  deleted, including through their domain and tag rows (a capability edited in the form,
  a challenge opened, closed or edited, a capability deleted), in ``session.info``;
- ``before_flush`` notes the capabilities of a startup being deleted (the database
  deletes them by cascade, which the ORM never sees);
- ``do_orm_execute`` notes a bulk INSERT, UPDATE or DELETE on those tables as op ``all``
  (the corpus is then fitted again, in the background);
- ``before_commit`` of the outermost transaction flushes, bumps each noted corpus's
  version (an upsert on ``corpus_versions``, locking its row until the commit, so that
  versions become visible in order) and writes one ``corpus_changes`` row per item;
- the end of the outermost transaction (commit or rollback) forgets what was noted: a
  rolled-back edit bumps nothing.

What is read at query time rather than fitted (a startup's verification, whether its
members confirmed an email address, proposals, dismissals) needs no version: rankings
read it on each request. A challenge passing its closing date changes no row; the
challenge corpus drops it when the Hong Kong date changes (``corpus.py``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from flask import has_request_context
from flask import session as web_session
from sqlalchemy import Table, delete, event, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from models import (
    Capability,
    CapabilityDomain,
    CapabilityTag,
    Challenge,
    ChallengeDomain,
    ChallengeTag,
    CorpusChange,
    CorpusVersion,
    Startup,
)
from models.vocabulary import CorpusKind, CorpusOp

from ... import clock
from ...database import db

#: ``session.info`` key of the noted changes: kind -> item id (None: all) -> op.
PENDING = "innomatch_corpus_changes"
#: Change rows older than this many versions are deleted (a worker that far behind fits
#: the corpus again in the background).
KEEP_VERSIONS = 5000
#: Pruning runs when a version is a multiple of this.
PRUNE_EVERY = 500
#: Key, in the signed-in person's web session, of the corpus versions their own edits made:
#: kind -> [epoch, version]. Their next pages wait for those versions (read your own edit);
#: other people's pages are served from the version a worker holds while it catches up.
OWN_VERSIONS = "corpus_versions"

#: Mapped class -> (corpus, the item id an instance stands for, whether it is the item itself).
TRACKED: dict[type[Any], tuple[CorpusKind, Callable[[Any], int | None], bool]] = {
    Capability: (CorpusKind.CAPABILITY, lambda o: o.id, True),
    CapabilityDomain: (CorpusKind.CAPABILITY, lambda o: o.capability_id, False),
    CapabilityTag: (CorpusKind.CAPABILITY, lambda o: o.capability_id, False),
    Challenge: (CorpusKind.CHALLENGE, lambda o: o.id, True),
    ChallengeDomain: (CorpusKind.CHALLENGE, lambda o: o.challenge_id, False),
    ChallengeTag: (CorpusKind.CHALLENGE, lambda o: o.challenge_id, False),
}
#: Tables whose bulk statements change a corpus.
TABLES: dict[Table, CorpusKind] = {
    cls.__table__: kind for cls, (kind, _id, _own) in TRACKED.items()
}

_installed = False
_lock = threading.Lock()


def _pending(session: Session) -> dict[CorpusKind, dict[int | None, CorpusOp]]:
    found: dict[CorpusKind, dict[int | None, CorpusOp]] = session.info.setdefault(PENDING, {})
    return found


def note(session: Session, kind: CorpusKind, item_id: int | None, op: CorpusOp) -> None:
    """Note that an item of a corpus changed in the session's transaction (a delete wins)."""
    items = _pending(session).setdefault(kind, {})
    if items.get(item_id) != CorpusOp.DELETE:
        items[item_id] = op


def _before_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    startups = [o.id for o in session.deleted if isinstance(o, Startup) and o.id is not None]
    if startups:
        with session.no_autoflush:
            for cap_id in session.scalars(select(Capability.id).where(Capability.startup_id.in_(startups))):
                note(session, CorpusKind.CAPABILITY, cap_id, CorpusOp.DELETE)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    for group, deleted in ((session.new, False), (session.dirty, False), (session.deleted, True)):
        for obj in group:
            tracked = TRACKED.get(type(obj))
            if tracked is None:
                continue
            if group is session.dirty and not session.is_modified(obj):
                continue
            kind, item_id, own = tracked
            ident = item_id(obj)
            if ident is not None:
                note(session, kind, ident, CorpusOp.DELETE if deleted and own else CorpusOp.UPSERT)


def _orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    kind = TABLES.get(table) if isinstance(table, Table) else None
    if kind is not None and table is not None and table.name != CorpusChange.__tablename__:
        note(state.session, kind, None, CorpusOp.ALL)


def _bump(session: Session, kind: CorpusKind) -> tuple[str, int]:
    """Add 1 to ``kind``'s version (creating its row at 1), locking the row; return its epoch and it."""
    now = clock.now()
    dialect = session.get_bind().dialect.name
    values = {"kind": kind.value, "version": 1, "epoch": uuid.uuid4().hex, "updated_at": now}
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(CorpusVersion).values(values)
    else:
        stmt = sqlite.insert(CorpusVersion).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["kind"], set_={"version": CorpusVersion.version + 1, "updated_at": now}
    ).returning(CorpusVersion.epoch, CorpusVersion.version)
    epoch, version = session.execute(stmt).one()
    return str(epoch), int(version)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.flush()  # what is still unflushed is noted by _after_flush (a no-op when clean)
    if not session.info.get(PENDING):
        return
    pending: dict[CorpusKind, dict[int | None, CorpusOp]] = session.info.pop(PENDING, {})
    now = clock.now()
    # One kind after the other in a fixed order: two transactions never wait on each other.
    for kind in sorted(pending):
        items = pending[kind]
        if not items:
            continue
        epoch, version = _bump(session, kind)
        _remember_own(kind, epoch, version)
        session.execute(
            insert(CorpusChange),
            [
                {"kind": kind.value, "version": version, "item_id": item_id, "op": op.value, "created_at": now}
                for item_id, op in sorted(items.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
            ],
        )
        if version % PRUNE_EVERY == 0:
            session.execute(
                delete(CorpusChange).where(
                    CorpusChange.kind == kind.value, CorpusChange.version <= version - KEEP_VERSIONS
                )
            )


def _remember_own(kind: CorpusKind, epoch: str, version: int) -> None:
    """Note in the web session (when there is one) that this person's edit made ``version``."""
    if has_request_context():
        own = dict(web_session.get(OWN_VERSIONS) or {})
        own[kind.value] = [epoch, version]
        web_session[OWN_VERSIONS] = own


def own_version(kind: CorpusKind, epoch: str | None) -> int:
    """The newest version of ``kind`` (of ``epoch``) that the current person's own edits made; 0 if none."""
    if not has_request_context():
        return 0
    found = (web_session.get(OWN_VERSIONS) or {}).get(kind.value)
    if not isinstance(found, list) or len(found) != 2 or found[0] != epoch:
        return 0
    return int(found[1]) if isinstance(found[1], int) else 0


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(PENDING, None)


def track_corpus_changes() -> None:
    """Install the session events on every ORM session of the process (once)."""
    global _installed
    with _lock:
        if _installed:
            return
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _orm_execute)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_transaction_end", _after_transaction_end)
        _installed = True


def current_version(kind: CorpusKind) -> tuple[str | None, int]:
    """``(epoch, version)`` of a corpus; ``(None, 0)`` before its first change."""
    row = db.execute(
        select(CorpusVersion.epoch, CorpusVersion.version).where(CorpusVersion.kind == kind.value)
    ).first()
    return (None, 0) if row is None else (str(row[0]), int(row[1]))


def changes_between(
    kind: CorpusKind, after: int, upto: int, limit: int
) -> list[tuple[int, int | None, CorpusOp]] | None:
    """The ``(version, item id, op)`` rows of versions ``after < v <= upto``, or None when
    they are more than ``limit`` or some were pruned (then fit the corpus again)."""
    rows = db.execute(
        select(CorpusChange.version, CorpusChange.item_id, CorpusChange.op)
        .where(CorpusChange.kind == kind.value, CorpusChange.version > after, CorpusChange.version <= upto)
        .order_by(CorpusChange.version, CorpusChange.id)
        .limit(limit + 1)
    ).all()
    if len(rows) > limit or {int(v) for v, _i, _o in rows} != set(range(after + 1, upto + 1)):
        return None
    return [(int(v), None if i is None else int(i), CorpusOp(o)) for v, i, o in rows]
