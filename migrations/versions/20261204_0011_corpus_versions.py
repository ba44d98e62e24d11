"""recommender corpus versions and the change log that lets workers edit their rankers

Revision ID: 0011
Revises: 0012
Create Date: 2026-12-04 22:00:00

A transaction that changes a capability or a challenge bumps its corpus's version and
names the changed items, so each web worker reads only those rows instead of fitting the
whole corpus again. The counters start at 0 with an epoch of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = '0011'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    versions = op.create_table(
        "corpus_versions",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.String(length=32), nullable=False),
        sa.Column("updated_at", models.db.AwareDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('capability', 'challenge')", name=op.f("ck_corpus_versions_kind")),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_corpus_versions")),
    )
    op.create_table(
        "corpus_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column("created_at", models.db.AwareDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('capability', 'challenge')", name=op.f("ck_corpus_changes_kind")),
        sa.CheckConstraint("op IN ('upsert', 'delete', 'all')", name=op.f("ck_corpus_changes_op")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corpus_changes")),
    )
    op.create_index("ix_corpus_changes_kind_version", "corpus_changes", ["kind", "version"], unique=False)
    now = models.utcnow()
    op.bulk_insert(
        versions,
        [{"kind": kind, "version": 0, "epoch": uuid.uuid4().hex, "updated_at": now} for kind in ("capability", "challenge")],
    )


def downgrade() -> None:
    op.drop_index("ix_corpus_changes_kind_version", table_name="corpus_changes")
    op.drop_table("corpus_changes")
    op.drop_table("corpus_versions")
