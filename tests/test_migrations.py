"""Migrations go up from empty to head and back to base, and match the models."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

import models

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A brand-new empty database of the kind the suite runs on."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base or not base.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"innomatch_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _alembic(url: str) -> AlembicConfig:
    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.cmd_opts = None
    cfg.attributes["skip_logging"] = True
    return cfg


def test_upgrade_to_head_then_downgrade_to_base(empty_database_url: str, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    cfg = _alembic(empty_database_url)
    command.upgrade(cfg, "head")
    engine = create_engine(empty_database_url)
    tables = set(inspect(engine).get_table_names())
    assert set(models.Base.metadata.tables) <= tables
    command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")  # and up again: downgrade left nothing behind
    engine.dispose()


def test_models_and_migrations_agree(empty_database_url: str, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    command.upgrade(_alembic(empty_database_url), "head")
    engine = create_engine(empty_database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "render_as_batch": conn.dialect.name == "sqlite",
                "include_object": models.db.include_in_autogenerate(conn.dialect.name),
            },
        )
        diff = compare_metadata(context, models.Base.metadata)
    engine.dispose()
    assert diff == []


def test_migration_history_has_one_head():
    script = ScriptDirectory.from_config(_alembic("sqlite://"))
    assert len(script.get_heads()) == 1


def test_the_newest_migrations_keep_every_row_down_and_up(empty_database_url: str, monkeypatch):
    """A migration that copies a table (SQLite's batch mode drops the old one) must not take
    the rows that point at it along: with the demo data at head, the newest migration down
    and up again leaves every table with the rows it had (the newest migrations, since 7 Dec 2026)."""
    from portal import create_app, database
    from portal.config import TestConfig
    from portal.database import db
    from portal.demo import seed

    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    cfg = _alembic(empty_database_url)
    command.upgrade(cfg, "head")
    app = create_app(TestConfig)
    app.config["DATABASE_URL"] = empty_database_url
    database.init_app(app)
    with app.test_request_context():
        seed()
        db.commit()
    app.extensions["innomatch_engine"].dispose()
    engine = create_engine(empty_database_url)

    def rows() -> dict[str, int]:
        with engine.connect() as conn:
            return {
                table: conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                for table in inspect(engine).get_table_names() if table != "alembic_version"
            }

    seeded = rows()
    assert seeded["challenge_domains"] > 0 and seeded["trials"] > 0 and seeded["proposals"] > 0
    # The newest few, which copy tables on SQLite (0018 invitations, 0019, 0021 to 0023 outcome
    # reports); a table the newest ones made is gone below them, every other keeps its rows.
    command.downgrade(cfg, "0017")
    below = rows()
    assert below == {table: n for table, n in seeded.items() if table in below}
    command.upgrade(cfg, "head")
    assert rows() == seeded
    # 0021: an outcome public before startups were asked to agree stays public (counted as agreed
    # when it was signed off); one the lab had unpublished is not agreed.
    with engine.connect() as conn:
        published = conn.execute(text(
            "SELECT count(*) FROM trial_outcome_reports WHERE signed_off_at IS NOT NULL AND unpublished_at IS NULL"
        )).scalar_one()
        agreed = conn.execute(text(
            "SELECT count(*) FROM trial_outcome_reports WHERE startup_agreed_at = signed_off_at"
            " AND unpublished_at IS NULL"
        )).scalar_one()
        conn.execute(text("UPDATE trial_outcome_reports SET unpublished_at = signed_off_at"
                          " WHERE id = (SELECT min(id) FROM trial_outcome_reports WHERE signed_off_at IS NOT NULL)"))
        conn.commit()
    assert published > 0 and agreed == published
    command.downgrade(cfg, "0020")
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        unagreed = conn.execute(text(
            "SELECT count(*) FROM trial_outcome_reports WHERE unpublished_at IS NOT NULL AND startup_agreed_at IS NULL"
        )).scalar_one()
    assert unagreed == 1
    engine.dispose()
