"""indexes for substring search (PostgreSQL) and for the capability corpus version

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 07:40:00

The challenge search and the lab's startup list match words anywhere in a text
(ILIKE '%word%'). On PostgreSQL, pg_trgm GIN indexes let those searches read the
matching rows instead of every row. SQLite gets none of those: its tables are small.
Every recommendation page reads max(capabilities.updated_at) to know whether its fitted
corpus is current: an index makes that a lookup on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("challenges", "title"),
    ("challenges", "problem_statement"),
    ("challenges", "desired_outcomes"),
    ("startups", "name"),
]


def upgrade() -> None:
    op.create_index("ix_capabilities_updated_at", "capabilities", ["updated_at"])
    if op.get_bind().dialect.name != "postgresql":
        return
    # pg_trgm is a trusted extension: the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in INDEXES:
        op.create_index(
            f"ix_{table}_{column}_trgm", table, [column],
            postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    op.drop_index("ix_capabilities_updated_at", table_name="capabilities")
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in INDEXES:
        op.drop_index(f"ix_{table}_{column}_trgm", table_name=table)
    # The extension stays: other objects of the database may use it.
