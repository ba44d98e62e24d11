"""an outcome goes public only with the startup's agreement as well as the department's sign-off

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 16:20:00

The showcase, open data and the API name the startup beside a trial's results, so a report
is now public only once a member of the trial's startup has agreed to it being published as
well as an officer of the department signing it off (in either order). Reports that are
public now stay public: they count as agreed when they were signed off, and a startup that
wants one taken off asks the lab, who can unpublish it with a reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trial_outcome_reports") as batch:
        batch.add_column(sa.Column("startup_agreed_at", models.db.AwareDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("startup_agreed_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_trial_outcome_reports_startup_agreed_by_id_users"), "users",
            ["startup_agreed_by_id"], ["id"], ondelete="SET NULL",
        )
    # What is on the showcase now stays there.
    op.execute(
        "UPDATE trial_outcome_reports SET startup_agreed_at = signed_off_at "
        "WHERE signed_off_at IS NOT NULL AND unpublished_at IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("trial_outcome_reports") as batch:
        batch.drop_constraint(batch.f("fk_trial_outcome_reports_startup_agreed_by_id_users"), type_="foreignkey")
        batch.drop_column("startup_agreed_by_id")
        batch.drop_column("startup_agreed_at")
