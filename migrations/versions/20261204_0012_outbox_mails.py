"""the mail outbox (outbox_mails): every email written in the transaction that causes it

Revision ID: 0012
Revises: 0015
Create Date: 2026-12-04 22:30:00

Emails were sent from the web process right after the commit and lost when the mail server
failed. They are now rows of outbox_mails, delivered and retried by a job (portal/jobs.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.db

revision: str = '0012'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'outbox_mails',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('recipient', sa.String(length=254), nullable=False),
        sa.Column('to_header', sa.String(length=600), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body_text', sa.Text(), nullable=False),
        sa.Column('body_html', sa.Text(), nullable=True),
        sa.Column('locale', sa.String(length=20), nullable=False),
        sa.Column('message_id', sa.String(length=300), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', models.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column('locked_until', models.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('created_at', models.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', models.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column('request_id', sa.String(length=128), nullable=True),
        sa.CheckConstraint('attempts >= 0', name=op.f('ck_outbox_mails_attempts')),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed')", name=op.f('ck_outbox_mails_status')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_mails')),
    )
    op.create_index(
        'ix_outbox_mails_status_next_attempt_at', 'outbox_mails', ['status', 'next_attempt_at'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_outbox_mails_status_next_attempt_at', table_name='outbox_mails')
    op.drop_table('outbox_mails')
