"""the lab can record a startup's agreement to publish an outcome given outside the service

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 19:40:00

A startup may agree to its outcome being published in writing (an email, a letter), or have no
member left on the service to agree there. A coordinator then records the agreement on its
behalf, saying how it was given; the note is kept beside the agreement and shown with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trial_outcome_reports") as batch:
        batch.add_column(sa.Column("startup_agreement_note", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("trial_outcome_reports") as batch:
        batch.alter_column("startup_agreement_note", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("trial_outcome_reports") as batch:
        batch.drop_column("startup_agreement_note")
