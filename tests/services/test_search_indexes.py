"""On PostgreSQL the substring searches use their trigram indexes.

Each search's own SQL is explained on tables of a few thousand rows, where reading
every row costs more than the index for a rare word: a query shape no trigram index can
serve (say, ``lower(name) LIKE ...`` against an index on ``name``) shows a sequential
scan instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text

from models import Challenge, Startup
from portal.database import db
from portal.services import challenges, startups
from portal.services.challenges import ChallengeFilters


@pytest.fixture
def postgresql(ctx):  # type: ignore[no-untyped-def]
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only")
    return ctx


def plans(run: Callable[[], Any], table: str) -> list[str]:
    """EXPLAIN of each statement ``run`` sends that filters ``table`` with LIKE or ILIKE."""
    sent: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if "LIKE" in statement and f"FROM {table}" in statement:
            sent.append((statement, parameters))

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert sent, f"no LIKE search on {table} was sent"
    conn = db.connection()
    return ["\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params)) for sql, params in sent]


ROWS = 3000


def settle(table: str, indexes: list[str]) -> None:
    """What autovacuum would have done by now: fresh statistics, and the GIN indexes' pending
    lists (where bulk inserts wait) merged into the indexes."""
    db.execute(text(f"ANALYZE {table}"))
    for name in indexes:
        db.execute(text("SELECT gin_clean_pending_list(CAST(:name AS regclass))"), {"name": name})
FILLER = "Clinics need a better way to book appointments and keep patients informed. " * 6


def test_challenge_search_uses_the_trigram_indexes(postgresql, make):
    department = make.department()
    db.execute(insert(Challenge), [
        {"department_id": department.id, "title": f"Challenge {n}", "problem_statement": FILLER,
         "desired_outcomes": "Shorter waits.", "constraints": "", "functional_area": "dental_clinical",
         "status": "open", "language": "en", "duration_weeks": 12}
        for n in range(ROWS)
    ])
    make.challenge(department, title="Tobacco control inspections", problem_statement="Inspectors visit shops.")
    settle("challenges", ["ix_challenges_search_text_trgm"])
    for plan in plans(lambda: challenges.search_challenges(None, ChallengeFilters(q="tobacco")), "challenges"):
        assert "ix_challenges_search_text_trgm" in plan, plan


def test_startup_name_search_uses_the_trigram_index(postgresql, make):
    db.execute(insert(Startup), [{"name": f"Company {n:05d} Limited", "description": ""} for n in range(ROWS)])
    make.startup(name="Data Clinic Ltd")
    settle("startups", ["ix_startups_name_trgm"])
    for plan in plans(lambda: startups.search_startups(text="clinic"), "startups"):
        assert "ix_startups_name_trgm" in plan, plan


def test_startup_tag_search_uses_the_trigram_index(postgresql, make):
    from models import Capability, CapabilityTag

    db.execute(insert(Startup), [{"name": f"Company {n:05d} Limited", "description": ""} for n in range(ROWS)])
    first = db.scalar(select(Startup.id).order_by(Startup.id))
    db.execute(insert(Capability), [
        {"startup_id": first + n, "name": "Product", "description": "Software.", "deployments": "", "readiness": 5,
         "language": "en"} for n in range(ROWS)
    ])
    db.execute(insert(CapabilityTag), [{"capability_id": cid, "tag": f"technology {cid % 97} {k}"}
                                       for cid in db.scalars(select(Capability.id)) for k in range(8)])
    make.capability(make.startup(name="Reader Ltd"), name="Forms", technologies=["handwriting ocr"])
    settle("startups", ["ix_startups_name_trgm"])
    settle("capability_tags", ["ix_capability_tags_tag_trgm"])
    for plan in plans(lambda: startups.search_startups(text="handwriting"), "capabilities JOIN capability_tags"):
        assert "ix_capability_tags_tag_trgm" in plan, plan
