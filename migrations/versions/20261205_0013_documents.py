"""documents attached to challenges, proposals and trials

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-05 00:00:00

One table for the three kinds of parent: three nullable foreign keys, exactly one of them
set (CHECK), each ON DELETE CASCADE, so the database itself keeps a document with an
existing parent and removes it with that parent. The files are in the document storage
under ``storage_key`` (portal/services/storage.py), not in the database.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = '0013'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=True),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("trial_id", sa.Integer(), nullable=True),
        sa.Column("storage_key", sa.String(length=80), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.db.AwareDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            '(challenge_id IS NOT NULL AND proposal_id IS NULL AND trial_id IS NULL) OR (challenge_id IS NULL AND proposal_id IS NOT NULL AND trial_id IS NULL) OR (challenge_id IS NULL AND proposal_id IS NULL AND trial_id IS NOT NULL)',
            name=op.f("ck_documents_one_parent"),
        ),
        sa.CheckConstraint(
            "content_type IN ('application/pdf', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'application/vnd.openxmlformats-officedocument.presentationml.presentation', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'image/png', 'image/jpeg')",
            name=op.f("ck_documents_content_type"),
        ),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_documents_size_bytes")),
        sa.ForeignKeyConstraint(["challenge_id"], ["challenges.id"], name=op.f("fk_documents_challenge_id_challenges"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], name=op.f("fk_documents_proposal_id_proposals"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["trial_id"], ["trials.id"], name=op.f("fk_documents_trial_id_trials"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f("fk_documents_uploaded_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_documents_storage_key")),
    )
    with op.batch_alter_table("documents") as batch:
        batch.create_index(batch.f("ix_documents_challenge_id"), ["challenge_id"], unique=False)
        batch.create_index(batch.f("ix_documents_proposal_id"), ["proposal_id"], unique=False)
        batch.create_index(batch.f("ix_documents_trial_id"), ["trial_id"], unique=False)
        batch.create_index(batch.f("ix_documents_uploaded_by_id"), ["uploaded_by_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_index(batch.f("ix_documents_uploaded_by_id"))
        batch.drop_index(batch.f("ix_documents_trial_id"))
        batch.drop_index(batch.f("ix_documents_proposal_id"))
        batch.drop_index(batch.f("ix_documents_challenge_id"))
    op.drop_table("documents")
