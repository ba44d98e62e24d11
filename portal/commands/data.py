"""``flask export PATH`` and ``flask import PATH``: every table, as JSON lines, in a directory.

The directory holds ``manifest.json`` (format, schema revision, tables in foreign-key
order with their row counts) and one ``<table>.jsonl`` per table, rows ordered by primary
key. Values are plain JSON; dates and times are ISO 8601 (UTC), binary columns base64.

Import goes into an empty, migrated database (``flask db upgrade`` first): tables in
foreign-key order, ids preserved, all in one transaction; columns that point into their own
table are filled in a second pass; PostgreSQL sequences are moved past the highest id.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask
from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    Table,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.types import TypeDecorator

import models

from ..database import get_engine

FORMAT = "innomatch-export/1"
BATCH = 1000


def tables() -> list[Table]:
    """Every table of the models, parents before children."""
    return list(models.Base.metadata.sorted_tables)


def _kind(column: Any) -> str:
    col_type = column.type
    if isinstance(col_type, TypeDecorator):
        col_type = col_type.impl if not isinstance(col_type.impl, type) else col_type.impl()
    if isinstance(col_type, DateTime):
        return "datetime"
    if isinstance(col_type, Date):
        return "date"
    if isinstance(col_type, LargeBinary):
        return "binary"
    return "plain"


def _encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if kind == "date":
        return value.isoformat()
    if kind == "binary":
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _decode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "binary":
        return base64.b64decode(value)
    return value


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _kinds(table: Table) -> dict[str, str]:
    """The stored columns of ``table`` and how each is written; generated columns (such as
    ``challenges.search_text``) are left out: the database computes them again on import."""
    return {c.name: _kind(c) for c in table.columns if c.computed is None}


def _rows(conn: Connection, table: Table) -> Iterator[dict[str, Any]]:
    kinds = _kinds(table)
    query = select(*(table.c[name] for name in kinds)).order_by(*table.primary_key.columns)
    for row in conn.execution_options(yield_per=BATCH).execute(query).mappings():
        yield {name: _encode(kinds[name], row[name]) for name in kinds}


def export_data(conn: Connection, target: Path) -> dict[str, int]:
    """Write every table to ``target`` (a new or empty directory); return the row counts."""
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise click.ClickException(f"{target} is not empty.")
    counts: dict[str, int] = {}
    for table in tables():
        n = 0
        with (target / f"{table.name}.jsonl").open("w", encoding="utf-8", newline="\n") as out:
            for row in _rows(conn, table):
                out.write(json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
                n += 1
        counts[table.name] = n
    manifest = {
        "format": FORMAT,
        "revision": _revision(conn),
        "exported_at": datetime.now(UTC).isoformat(),
        "dialect": conn.dialect.name,
        "tables": [{"name": t.name, "rows": counts[t.name]} for t in tables()],
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return counts


def _self_references(table: Table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


def _read(source: Path, table: Table) -> Iterator[dict[str, Any]]:
    kinds = _kinds(table)
    path = source / f"{table.name}.jsonl"
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            raw = json.loads(line)
            unknown = set(raw) - set(kinds)
            if unknown:
                raise click.ClickException(f"{path.name}:{number}: unknown columns {sorted(unknown)}")
            yield {name: _decode(kind, raw.get(name)) for name, kind in kinds.items()}


def reset_sequences(conn: Connection) -> None:
    """Move every PostgreSQL id sequence past the highest id in its table."""
    for table in tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        sequence = conn.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table.name, "column": pk[0].name}
        ).scalar()
        if sequence:
            highest = conn.execute(select(func.max(pk[0]))).scalar()
            conn.execute(
                text("SELECT setval(CAST(:seq AS regclass), :value, :called)"),
                {"seq": sequence, "value": highest or 1, "called": highest is not None},
            )


#: Tables whose rows the migrations write (the recommender's corpus version counters): an
#: empty, migrated database has them, and an import replaces them with the exported ones.
SEEDED_BY_MIGRATIONS = frozenset({"corpus_versions"})


def import_data(conn: Connection, source: Path) -> dict[str, int]:
    """Load an export into the (empty, migrated) database of ``conn``; return the row counts."""
    manifest_path = source / "manifest.json"
    if not manifest_path.is_file():
        raise click.ClickException(f"{manifest_path} not found: is {source} an InnoMatch export?")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise click.ClickException(f"Unknown export format {manifest.get('format')!r}.")
    here = _revision(conn)
    if manifest.get("revision") and here and manifest["revision"] != here:
        raise click.ClickException(
            f"The export is of schema {manifest['revision']}, this database is at {here}: migrate to match first."
        )
    known = {t.name for t in tables()}
    listed = {t["name"] for t in manifest.get("tables", [])}
    if listed - known:
        raise click.ClickException(f"The export has tables this version does not know: {sorted(listed - known)}")
    busy = [
        t.name for t in tables()
        if t.name not in SEEDED_BY_MIGRATIONS and conn.execute(select(func.count()).select_from(t)).scalar()
    ]
    if busy:
        raise click.ClickException(f"The database is not empty ({', '.join(busy)}): import needs an empty one.")
    for table in tables():
        if table.name in SEEDED_BY_MIGRATIONS and table.name in listed:
            conn.execute(table.delete())  # the export's rows replace the ones the migrations wrote
    counts: dict[str, int] = {}
    for table in tables():
        if table.name not in listed:
            counts[table.name] = 0
            continue
        later = _self_references(table)
        deferred: list[dict[str, Any]] = []
        batch: list[dict[str, Any]] = []
        n = 0
        for row in _read(source, table):
            if later and any(row[c] is not None for c in later):
                deferred.append({"_pk": [row[c.name] for c in table.primary_key.columns],
                                 **{c: row[c] for c in later}})
                row = {**row, **{c: None for c in later}}
            batch.append(row)
            n += 1
            if len(batch) >= BATCH:
                conn.execute(table.insert(), batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
        for link in deferred:
            where = [col == value for col, value in zip(table.primary_key.columns, link.pop("_pk"))]
            conn.execute(table.update().where(*where).values(**link))
        counts[table.name] = n
        expected = next((t["rows"] for t in manifest["tables"] if t["name"] == table.name), n)
        if n != expected:
            raise click.ClickException(f"{table.name}: the manifest lists {expected} rows, the file has {n}.")
    if conn.dialect.name == "postgresql":
        reset_sequences(conn)
    return counts


def register(app: Flask) -> None:
    @app.cli.command("export")
    @click.argument("path", type=click.Path(file_okay=False, path_type=Path))
    def export_command(path: Path) -> None:
        """Write every table to the directory PATH (JSON lines, one file per table)."""
        engine = get_engine()
        options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
        with engine.connect().execution_options(**options) as conn, conn.begin():
            counts = export_data(conn, path)
        click.echo(f"Exported {sum(counts.values())} rows from {len(counts)} tables to {path}.")

    @app.cli.command("import")
    @click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
    def import_command(path: Path) -> None:
        """Load the export in directory PATH into this (empty, migrated) database."""
        with get_engine().begin() as conn:
            counts = import_data(conn, path)
        click.echo(f"Imported {sum(counts.values())} rows into {len(counts)} tables from {path}.")
