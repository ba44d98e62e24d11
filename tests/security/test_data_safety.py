"""Data safety: one transaction per request, SQLite WAL settings, export/import round trips."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

import models
from models import Challenge, Department, Startup, User
from portal import clock
from portal.commands import data as data_commands
from portal.database import db, make_engine
from portal.services import audit
from tests.helpers import sign_in

from .world import ROOT, World, db_state, record_figure, row_counts

CHALLENGE = {
    "title": "Appointment chatbot for dental clinics",
    "problem_statement": "Patients phone the clinic to book dental appointments and wait for a long time.",
    "domains": "smart_clinic",
    "functional_area": "dental_clinical",
    "duration_weeks": "8",
    "closing_on": (clock.today() + timedelta(days=30)).isoformat(),
    "language": "en",
    "tags": "chatbot",
    "action": "open",
}


# --- one request, one transaction ------------------------------------------------------------


def _fail_on(monkeypatch: pytest.MonkeyPatch, action_prefix: str) -> list[str]:
    """Make audit.record raise for the first action starting with ``action_prefix``."""
    real = audit.record
    seen: list[str] = []

    def record(actor, action, entity, before=None, after=None):  # type: ignore[no-untyped-def]
        seen.append(action)
        if action.startswith(action_prefix):
            db.flush()  # the rows of the use case so far are in the database's transaction
            raise RuntimeError("audit store unavailable")
        return real(actor, action, entity, before, after)

    monkeypatch.setattr(audit, "record", record)
    return seen


def test_failure_in_the_middle_of_a_use_case_leaves_no_partial_rows(app, client, make, monkeypatch):
    officer = make.user("officer")
    sign_in(client, officer, through_form=True)
    before = row_counts(app)
    seen = _fail_on(monkeypatch, "challenge.create")
    response = client.post("/challenges/new", data=CHALLENGE)
    assert seen == ["challenge.create"]  # the challenge had been flushed when the failure came
    assert response.status_code == 500
    assert "Traceback" not in response.get_data(as_text=True)
    assert row_counts(app) == before
    assert row_counts(app)["challenges"] == 0


def test_failed_registration_leaves_neither_startup_nor_account(app, client, monkeypatch):
    before = row_counts(app)
    seen = _fail_on(monkeypatch, "user.create")
    response = client.post("/register", data={
        "display_name": "Ada Chan", "email": "ada@example.hk", "startup_name": "CareBot Ltd", "size": "1-10",
        "password": "a-long-unique-passphrase", "confirm": "a-long-unique-passphrase",
    })
    assert seen == ["startup.register", "user.create"]
    assert response.status_code == 500
    assert row_counts(app) == before


def test_error_page_renders_after_a_failed_statement_for_a_signed_in_user(make, make_app):
    """After a database error the handler rolls back, so the page (which loads the user) still renders."""
    app = make_app()

    @app.get("/test-only/bad-sql")
    def bad_sql():  # type: ignore[no-untyped-def]
        db.execute(text("SELECT no_such_column FROM users"))
        return "unreachable"

    client = app.test_client()
    sign_in(client, make.user("officer"), through_form=True)
    response = client.get("/test-only/bad-sql")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "Reference" in body
    assert "no_such_column" not in body and "Traceback" not in body


# --- SQLite settings ------------------------------------------------------------------------


def test_sqlite_file_database_uses_wal_with_busy_timeout_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with engine.connect() as conn:
        pragmas = {name: conn.execute(text(f"PRAGMA {name}")).scalar()
                   for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")}
    engine.dispose()
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 15000, "foreign_keys": 1, "synchronous": 1}
    record_figure("sqlite_busy_timeout_ms", pragmas["busy_timeout"])


def test_sqlite_writer_waits_for_another_writer_instead_of_failing(tmp_path):
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    engine_a, engine_b = make_engine(url), make_engine(url, connect_args={"check_same_thread": False,
                                                                          "timeout": 0.2})
    with engine_a.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    import threading
    import time

    with engine_a.connect() as first:
        first.execute(text("BEGIN IMMEDIATE"))
        first.execute(text("INSERT INTO t VALUES (1)"))
        released = threading.Timer(0.5, first.commit)
        released.start()
        started = time.monotonic()
        with engine_b.begin() as second:  # busy_timeout (15 s) waits for the first writer
            second.execute(text("INSERT INTO t VALUES (2)"))
        waited = time.monotonic() - started
        released.join()
    with engine_a.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2
    engine_a.dispose()
    engine_b.dispose()
    assert waited >= 0.3


# --- export / import --------------------------------------------------------------------------


def _alembic() -> AlembicConfig:
    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.cmd_opts = None
    cfg.attributes["skip_logging"] = True
    return cfg


@pytest.fixture
def empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[callable]:  # type: ignore[valid-type]
    """``empty_database(kind)``: the URL of a new database migrated to head ("same" or "sqlite")."""
    made: list[tuple[str, str]] = []
    base = os.environ.get("TEST_DATABASE_URL", "")

    def _make(kind: str = "same") -> str:
        if kind == "same" and base.startswith("postgresql"):
            name = f"innomatch_io_{uuid.uuid4().hex[:8]}"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            made.append((base, name))
            url = make_url(base).set(database=name).render_as_string(hide_password=False)
        else:
            url = f"sqlite:///{tmp_path / f'import-{uuid.uuid4().hex[:6]}.db'}"
        monkeypatch.setenv("DATABASE_URL", url)
        command.upgrade(_alembic(), "head")
        return url

    yield _make
    for base_url, name in made:
        admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _run(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.jsonl"))}


def test_world_fills_every_table(app, world: World):
    empty = [name for name, n in row_counts(app).items() if n == 0]
    assert not empty, (
        f"tables without a row in the fixture world: {empty}; add rows in tests/security/world.py "
        "so the export/import round trip and the access matrix cover them"
    )


@pytest.mark.parametrize("kind", ["same", "sqlite"])
def test_export_import_round_trips_every_table(app, world: World, make_app, empty_database, tmp_path, kind):
    if kind == "sqlite" and not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("cross-database round trip: PostgreSQL to SQLite, only when the suite runs on PostgreSQL")
    source_counts, _digest = db_state(app)
    assert all(source_counts.values())
    _run(app, "export", str(tmp_path / "a"))
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert [t["name"] for t in manifest["tables"]] == [t.name for t in models.Base.metadata.sorted_tables]
    assert {t["name"]: t["rows"] for t in manifest["tables"]} == source_counts

    target = make_app(DATABASE_URL=empty_database(kind))
    output = _run(target, "import", str(tmp_path / "a"))
    assert f"Imported {sum(source_counts.values())} rows" in output
    assert db_state(target)[0] == source_counts
    _run(target, "export", str(tmp_path / "b"))
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first.keys() == second.keys() == {f"{t.name}.jsonl" for t in models.Base.metadata.sorted_tables}
    different = [name for name in first if first[name] != second[name]]
    assert not different, f"contents changed in the round trip: {different}"

    # Ids were kept, and new rows get fresh ids (PostgreSQL sequences were moved on).
    with target.app_context():
        highest = db.scalar(select(func.max(Department.id)))
        added = Department(code="NEW", name_en="New", name_zh="新")
        db.add(added)
        db.flush()
        assert added.id > highest
        startup = db.scalar(select(Startup).where(Startup.name == "Own Startup Ltd"))
        assert startup is not None and startup.id == world.startup
        db.rollback()
        db.remove()
    record_figure("export_import_tables", len(first))
    record_figure("export_import_rows", sum(source_counts.values()))


def test_import_refuses_a_database_that_is_not_empty(app, world: World, tmp_path):
    _run(app, "export", str(tmp_path / "a"))
    before = db_state(app)
    result = app.test_cli_runner().invoke(args=["import", str(tmp_path / "a")])
    assert result.exit_code != 0 and "not empty" in result.output
    assert db_state(app) == before


def test_export_refuses_a_directory_with_files(app, tmp_path):
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["export", str(tmp_path)])
    assert result.exit_code != 0 and (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_import_is_all_or_nothing(app, world: World, make_app, empty_database, tmp_path):
    _run(app, "export", str(tmp_path / "a"))
    users = tmp_path / "a" / "users.jsonl"
    lines = users.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[-1])
    broken["role"] = "emperor"  # violates a CHECK constraint half-way through the import
    users.write_text("\n".join([*lines[:-1], json.dumps(broken)]) + "\n", encoding="utf-8")
    target = make_app(DATABASE_URL=empty_database())
    fresh = db_state(target)[0]  # a migrated database: empty but for the corpus version counters
    assert not any(n for name, n in fresh.items() if name not in data_commands.SEEDED_BY_MIGRATIONS)
    result = target.test_cli_runner().invoke(args=["import", str(tmp_path / "a")])
    assert result.exit_code != 0
    assert db_state(target)[0] == fresh


def test_data_module_knows_every_column_type():
    for table in data_commands.tables():
        for column in table.columns:
            assert data_commands._kind(column) in ("plain", "datetime", "date", "binary")
    assert {User.__tablename__, Challenge.__tablename__} <= {t.name for t in data_commands.tables()}
