"""a department's request that the lab shortlist a proposal

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-04 19:30:00

An officer reading the proposals for their challenge can ask the lab coordinators to
shortlist one, with a note. The latest request is kept on the proposal (when, by whom,
the note) and shown on the review queue next to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = '0009'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("shortlist_requested_at", models.db.AwareDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("shortlist_requested_by_id", sa.Integer(), nullable=True))
        # Existing rows have no request: an empty note. The default is only for them.
        batch.add_column(sa.Column("shortlist_request_note", sa.Text(), nullable=False, server_default=""))
        batch.create_foreign_key(
            batch.f("fk_proposals_shortlist_requested_by_id_users"), "users",
            ["shortlist_requested_by_id"], ["id"], ondelete="SET NULL",
        )
    with op.batch_alter_table("proposals") as batch:
        batch.alter_column("shortlist_request_note", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.drop_constraint(batch.f("fk_proposals_shortlist_requested_by_id_users"), type_="foreignkey")
        batch.drop_column("shortlist_request_note")
        batch.drop_column("shortlist_requested_by_id")
        batch.drop_column("shortlist_requested_at")
