"""On PostgreSQL the substring searches can use their trigram indexes.

The planner picks a sequential scan on small tables, so each search's own SQL is
explained with sequential scans disabled: a query shape no index can serve (say,
``lower(name) LIKE ...`` against an index on ``name``) still shows a sequential scan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event

from portal.database import db
from portal.services import challenges, startups
from portal.services.challenges import ChallengeFilters


@pytest.fixture
def postgresql(ctx):  # type: ignore[no-untyped-def]
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only")
    return ctx


def plans(run: Callable[[], Any], table: str) -> list[str]:
    """EXPLAIN of each statement ``run`` sends that filters ``table`` with ILIKE."""
    sent: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if "ILIKE" in statement and f"FROM {table}" in statement:
            sent.append((statement, parameters))

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert sent, f"no ILIKE search on {table} was sent"
    conn = db.connection()
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return ["\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params)) for sql, params in sent]


def test_challenge_search_uses_the_trigram_indexes(postgresql, make):
    make.challenge(title="Tobacco control inspections", problem_statement="Inspectors visit shops.")
    for plan in plans(lambda: challenges.search_challenges(None, ChallengeFilters(q="tobacco")), "challenges"):
        assert "ix_challenges_title_trgm" in plan and "ix_challenges_problem_statement_trgm" in plan, plan


def test_startup_name_search_uses_the_trigram_index(postgresql, make):
    make.startup(name="Data Clinic Ltd")
    for plan in plans(lambda: startups.search_startups(text="clinic"), "startups"):
        assert "ix_startups_name_trgm" in plan, plan
