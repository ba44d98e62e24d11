"""Alembic environment: the URL comes from the caller's connection, -x url=..., or DATABASE_URL."""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context

import models
from portal.config import Config
from portal.database import make_engine

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = models.Base.metadata


def _url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "DATABASE_URL", Config.DATABASE_URL
    )


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
        include_object=models.db.include_in_autogenerate(connection.dialect.name),
    )


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    """Run the migrations on ``connection``.

    SQLite runs them with foreign keys off: a batch migration copies a table and drops the
    old one, and with foreign keys on (``make_engine`` turns them on) that DROP first deletes
    every row, cascading to every row that points at them (a challenge's domains, proposals,
    trials...). Afterwards no row may point nowhere (``PRAGMA foreign_key_check``), and the
    keys are on again.
    """
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Outside any transaction: SQLite ignores the pragma inside one.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
        if broken:
            raise RuntimeError(f"after the migrations {len(broken)} rows point at rows that are not there: {broken[:5]}")


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
