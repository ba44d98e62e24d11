"""staff two-step sign-in (TOTP secret, replay step, throttle, recovery codes), invitations, deactivation

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-04 19:19:55

users gains the encrypted TOTP secret, the last accepted time step (replay refusal), the
wrong-code counter and the moment of deactivation; recovery_codes holds keyed hashes of
single-use codes; invitations holds admins' invitations (only a hash of the link's token).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.db


revision: str = '0006'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('locale', sa.String(length=12), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.db.AwareDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', models.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', models.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(role = 'officer' AND department_id IS NOT NULL) OR (role <> 'officer' AND department_id IS NULL)", name=op.f('ck_invitations_department')),
    sa.CheckConstraint("locale IN ('en', 'zh_Hant_HK')", name=op.f('ck_invitations_locale')),
    sa.CheckConstraint("role IN ('officer', 'coordinator', 'admin')", name=op.f('ck_invitations_role')),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_invitations_email_lower')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_invitations_department_id_departments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_invitations_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitations_token_hash'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitations_email'), ['email'], unique=False)

    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', models.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.db.AwareDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    sa.UniqueConstraint('user_id', 'code_hash', name=op.f('uq_recovery_codes_user_id_code_hash'))
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mfa_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('mfa_enabled_at', models.db.AwareDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('mfa_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('mfa_failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('mfa_failed_at', models.db.AwareDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deactivated_at', models.db.AwareDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deactivated_at')
        batch_op.drop_column('mfa_failed_at')
        batch_op.drop_column('mfa_failures')
        batch_op.drop_column('mfa_last_step')
        batch_op.drop_column('mfa_enabled_at')
        batch_op.drop_column('mfa_secret')

    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))

    op.drop_table('recovery_codes')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitations_email'))

    op.drop_table('invitations')
