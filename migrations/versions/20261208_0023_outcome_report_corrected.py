"""the lab can correct an outcome report that is not signed off, and the page says when

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 00:10:00

A report the lab unpublished (or one the department has not signed off yet) can have its
summary, lessons and recommendation put right by a coordinator; the department then signs it
off again. When it was last corrected is kept beside the sign-off, shown on the trial's page and
used to tell the department once per correction round.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.db

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trial_outcome_reports") as batch:
        batch.add_column(sa.Column("corrected_at", models.db.AwareDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trial_outcome_reports") as batch:
        batch.drop_column("corrected_at")
