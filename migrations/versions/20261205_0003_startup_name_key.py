"""startups.name_key: startup names unique as people read them

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 09:00:00

"DocuLeaf\u200b AI" (a zero-width space) and "DocuLeaf AI" looked the same but were two
startups. name_key holds the name as names are compared (models.names.name_key: NFKC,
without zero-width and bidirectional control characters, white space collapsed,
case-folded) under a unique constraint. Existing rows are backfilled; if two existing
startups already share a key, the later one keeps its row with "#<id>" added to its key
(and a warning names both), so the upgrade never fails on old data.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# models.names written out: a migration must not change when the model does.
_INVISIBLE = [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C,
              0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]
_REMOVE = dict.fromkeys(_INVISIBLE)
_BLANKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _name_key(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).translate(_REMOVE)
    return _BLANKS.sub(" ", text).strip().casefold()


def upgrade() -> None:
    with op.batch_alter_table("startups") as batch:
        batch.add_column(sa.Column("name_key", sa.String(length=600), nullable=True))
    startups = sa.table("startups", sa.column("id", sa.Integer), sa.column("name", sa.String),
                        sa.column("name_key", sa.String))
    conn = op.get_bind()
    owners: dict[str, int] = {}
    for startup_id, name in conn.execute(sa.select(startups.c.id, startups.c.name).order_by(startups.c.id)):
        key = _name_key(name or "")
        if key in owners:
            log.warning("startups %s and %s have the same name as read; the later is kept as %r",
                        owners[key], startup_id, f"{key}#{startup_id}")
            key = f"{key}#{startup_id}"
        owners[key] = startup_id
        conn.execute(sa.update(startups).where(startups.c.id == startup_id).values(name_key=key))
    with op.batch_alter_table("startups") as batch:
        batch.alter_column("name_key", existing_type=sa.String(length=600), nullable=False)
        batch.create_unique_constraint(batch.f("uq_startups_name_key"), ["name_key"])


def downgrade() -> None:
    with op.batch_alter_table("startups") as batch:
        batch.drop_constraint(batch.f("uq_startups_name_key"), type_="unique")
        batch.drop_column("name_key")
