"""outcome sign-off: waived milestones, and outcome reports the department signs off

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 20:30:00

A milestone that will not be reached can be waived with a reason, so the trial can
complete. An outcome report is public only once an officer of the challenge's department
signs it off, and until the lab unpublishes it with a reason. Reports that exist already
were public before, so they count as signed off when they were last changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trial_milestones") as batch:
        batch.add_column(sa.Column("waived_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("waiver_reason", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("trial_milestones") as batch:
        batch.alter_column("waiver_reason", server_default=None)
    with op.batch_alter_table("trial_outcome_reports") as batch:
        batch.add_column(sa.Column("signed_off_at", models.db.AwareDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("signed_off_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("unpublished_at", models.db.AwareDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("unpublish_reason", sa.Text(), nullable=False, server_default=""))
        batch.create_foreign_key(
            batch.f("fk_trial_outcome_reports_signed_off_by_id_users"), "users",
            ["signed_off_by_id"], ["id"], ondelete="SET NULL",
        )
    with op.batch_alter_table("trial_outcome_reports") as batch:
        batch.alter_column("unpublish_reason", server_default=None)
    # What was on the showcase before stays there.
    op.execute("UPDATE trial_outcome_reports SET signed_off_at = updated_at")


def downgrade() -> None:
    with op.batch_alter_table("trial_outcome_reports") as batch:
        batch.drop_constraint(batch.f("fk_trial_outcome_reports_signed_off_by_id_users"), type_="foreignkey")
        batch.drop_column("unpublish_reason")
        batch.drop_column("unpublished_at")
        batch.drop_column("signed_off_by_id")
        batch.drop_column("signed_off_at")
    with op.batch_alter_table("trial_milestones") as batch:
        batch.drop_column("waiver_reason")
        batch.drop_column("waived_on")
