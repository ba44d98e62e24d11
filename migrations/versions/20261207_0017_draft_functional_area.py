"""a draft challenge may have no functional area yet

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 10:00:00

Officers save a draft with as little as a title and fill it in later; a challenge needs its
functional area (with its problem statement and domains) only to open. The column's check
constraint still holds every value given (NULL passes a CHECK).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The same expression as models.challenge.SEARCH_TEXT_SQL, written out: a migration must not
# change when the model does.
SEARCH_TEXT_SQL = "lower(title || ' ' || problem_statement || ' ' || desired_outcomes)"


def _set_nullable(nullable: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("challenges", "functional_area", existing_type=sa.String(length=40), nullable=nullable)
        return
    # SQLite changes a column's NULL rule only by copying the table, and a copy cannot write
    # the stored generated column search_text: it is dropped with the copy and added again
    # (computed anew from the texts), as 0002 added it.
    with op.batch_alter_table("challenges", recreate="always") as batch:
        batch.drop_column("search_text")
        batch.alter_column("functional_area", existing_type=sa.String(length=40), nullable=nullable)
    with op.batch_alter_table("challenges", recreate="always") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), sa.Computed(SEARCH_TEXT_SQL, persisted=True)))


def upgrade() -> None:
    _set_nullable(True)


def downgrade() -> None:
    # A draft without an area cannot go back to a schema that requires one: it gets the
    # first area, which its officers can change.
    op.execute("UPDATE challenges SET functional_area = 'regulation' WHERE functional_area IS NULL")
    _set_nullable(False)
