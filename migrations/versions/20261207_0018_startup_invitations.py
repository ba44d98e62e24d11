"""a startup's members invite colleagues to join it

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 13:00:00

An invitation may now carry the startup role, with the startup it joins: a member of a
startup invites a colleague, who chooses a password through the same single-use link as
invited staff do. Only a startup invitation names a startup.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out: a migration must not change when the model does.
STAFF_ROLES = "role IN ('officer', 'coordinator', 'admin')"
ALL_ROLES = "role IN ('officer', 'coordinator', 'admin', 'startup')"
STARTUP_RULE = "(role = 'startup' AND startup_id IS NOT NULL) OR (role <> 'startup' AND startup_id IS NULL)"


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("startup_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_invitations_startup_id_startups"), "startups", ["startup_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_index(batch.f("ix_invitations_startup_id"), ["startup_id"])
        batch.drop_constraint(batch.f("ck_invitations_role"), type_="check")
        batch.create_check_constraint("role", ALL_ROLES)
        batch.create_check_constraint("startup", STARTUP_RULE)


def downgrade() -> None:
    # A startup's invitations have no place in the older schema.
    op.execute("DELETE FROM invitations WHERE startup_id IS NOT NULL")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_constraint(batch.f("ck_invitations_startup"), type_="check")
        batch.drop_constraint(batch.f("ck_invitations_role"), type_="check")
        batch.create_check_constraint("role", STAFF_ROLES)
        batch.drop_index(batch.f("ix_invitations_startup_id"))
        batch.drop_constraint(batch.f("fk_invitations_startup_id_startups"), type_="foreignkey")
        batch.drop_column("startup_id")
