"""login throttles per account and source, and the owner's failed sign-in alerts

Revision ID: 0004
Revises: 0005
Create Date: 2026-12-04 19:30:00

Sign-in throttling counted per account AND source (the client address through the trusted
proxies) with growing delays, instead of per account alone, which let anyone lock an owner
out. login_alerts remembers when an owner was last told of repeated failures.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.db

revision: str = '0004'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_throttles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', models.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('blocked_until', models.db.AwareDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('failures >= 0', name=op.f('ck_login_throttles_failures_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttles')),
    sa.UniqueConstraint('email', 'source', name=op.f('uq_login_throttles_email_source'))
    )
    op.create_table('login_alerts',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('sent_at', models.db.AwareDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('email', name=op.f('pk_login_alerts'))
    )


def downgrade() -> None:
    op.drop_table('login_alerts')
    op.drop_table('login_throttles')
