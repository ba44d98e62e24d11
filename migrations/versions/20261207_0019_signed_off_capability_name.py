"""a signed-off outcome keeps the capability's name as it was signed off

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 13:30:00

The showcase and a completed trial's page named the trial's capability by its current name,
so a startup renaming it afterwards rewrote a record the department had signed off. The
report now keeps the name (and its language) from the sign-off. Reports signed off before
this take the capability's name as it is now: the best record there is.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trial_outcome_reports") as batch:
        # Existing rows get an empty name first; the default is only for them.
        batch.add_column(sa.Column("capability_name", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("capability_language", sa.String(length=10), nullable=True))
    with op.batch_alter_table("trial_outcome_reports") as batch:
        batch.alter_column("capability_name", server_default=None)
    op.execute(
        "UPDATE trial_outcome_reports SET "
        "capability_name = COALESCE((SELECT capabilities.name FROM trials JOIN capabilities"
        " ON capabilities.id = trials.capability_id WHERE trials.id = trial_outcome_reports.trial_id), ''), "
        "capability_language = (SELECT capabilities.language FROM trials JOIN capabilities"
        " ON capabilities.id = trials.capability_id WHERE trials.id = trial_outcome_reports.trial_id) "
        "WHERE signed_off_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("trial_outcome_reports") as batch:
        batch.drop_column("capability_language")
        batch.drop_column("capability_name")
