"""trigram index on capability tags (PostgreSQL)

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-05 05:00:00

The lab's startup list matches a word in startups' names or in their capabilities' technology
tags with ILIKE '%word%': the names had a pg_trgm GIN index (0002), the tags were read whole
(64,000 rows at 10,000 startups, a third of the page's time). SQLite gets no trigram index.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0016'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_capability_tags_tag_trgm", "capability_tags", ["tag"],
        postgresql_using="gin", postgresql_ops={"tag": "gin_trgm_ops"},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_capability_tags_tag_trgm", table_name="capability_tags")
