"""account tokens (password reset, email verification), users.email_verified_at and closed_at

Revision ID: 0005
Revises: 0007
Create Date: 2026-12-04 19:30:00

Single-use emailed links live in account_tokens (only a SHA-256 of each secret). Accounts
that exist before this revision count as verified from their creation: they were made by
the lab or registered before verification existed, and locking them out of proposing on
upgrade would surprise them. New accounts start unverified.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.db

revision: str = '0005'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'account_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=20), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('created_at', models.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', models.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column('used_at', models.db.AwareDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("purpose IN ('reset_password', 'verify_email')", name=op.f('ck_account_tokens_purpose')),
        sa.CheckConstraint('expires_at > created_at', name=op.f('ck_account_tokens_expiry')),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_account_tokens_user_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_account_tokens_token_hash')),
    )
    op.create_index('ix_account_tokens_user_purpose', 'account_tokens', ['user_id', 'purpose'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', models.db.AwareDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', models.db.AwareDateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET email_verified_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
        batch_op.drop_column('email_verified_at')
    op.drop_index('ix_account_tokens_user_purpose', table_name='account_tokens')
    op.drop_table('account_tokens')
