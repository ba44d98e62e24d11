"""Engine and request-scoped session.

One session per application context; routes (or CLI commands) commit once at the end
of a unit of work and services only flush. An exception rolls everything back.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask.globals import app_ctx
from sqlalchemy import CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.orm import Session, scoped_session, sessionmaker
from sqlalchemy.pool import StaticPool


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings InnoMatch relies on for ``url``."""
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            # One shared connection, so every session sees the same in-memory database.
            kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 15})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            if ":memory:" not in url and url not in ("sqlite://",):
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _scope() -> int:
    return id(app_ctx._get_current_object())  # type: ignore[attr-defined]  # a werkzeug LocalProxy method


def _new_session() -> Session:
    factory: sessionmaker[Session] = current_app.extensions["innomatch_db"]
    return factory()


#: The request-scoped session: ``from portal.database import db``.
db: scoped_session[Session] = scoped_session(_new_session, scopefunc=_scope)  # type: ignore[arg-type]  # any Session factory works; the stub asks for a sessionmaker


def init_app(app: Flask) -> None:
    """Bind an engine from ``DATABASE_URL`` and remove the session after each context."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["innomatch_engine"] = engine
    app.extensions["innomatch_db"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        db.remove()


def get_engine() -> Engine:
    """Return the current app's engine."""
    return current_app.extensions["innomatch_engine"]


def execute_update(statement: Executable) -> int:
    """Run an UPDATE (or DELETE) on the request's session; return how many rows it changed.

    The one place that reads ``rowcount``: a compare-and-set (``UPDATE ... WHERE
    counter < limit``) claims something exactly when this is 1.
    """
    result: CursorResult[Any] = db.execute(statement)  # type: ignore[assignment]  # DML gives a CursorResult
    return int(result.rowcount or 0)
