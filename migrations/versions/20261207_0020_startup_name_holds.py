"""startup names held by registrations that made no account; invited accounts confirmed

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 14:00:00

A registration whose address already has an account makes nothing, so the startup name it
gave stayed free, while a registration from a new address takes its name: trying the name
again told which kind the first address was. Such a name is now held as a registered
startup's is.

Accounts made by accepting an invitation are confirmed: following the emailed link proved
the address (until now they were left unconfirmed, which now keeps them from API tokens and
workshop places).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.db

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "startup_name_holds",
        sa.Column("name_key", sa.String(length=600), nullable=False),
        sa.Column("created_at", models.db.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name_key", name=op.f("pk_startup_name_holds")),
    )
    op.execute(
        "UPDATE users SET email_verified_at = (SELECT MIN(invitations.accepted_at) FROM invitations"
        " WHERE invitations.user_id = users.id AND invitations.accepted_at IS NOT NULL) "
        "WHERE email_verified_at IS NULL AND EXISTS (SELECT 1 FROM invitations"
        " WHERE invitations.user_id = users.id AND invitations.accepted_at IS NOT NULL)"
    )


def downgrade() -> None:
    # The confirmations stay: they were true.
    op.drop_table("startup_name_holds")
