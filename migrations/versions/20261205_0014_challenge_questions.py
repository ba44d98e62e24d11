"""challenge questions: startups ask, the department answers and may publish, the lab may hide

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 00:00:00

One row per question a startup asks on a challenge, with the department's answer (each
text with its own language), when the answer was published on the challenge page
(without the asker's name), and when, by whom and why the lab hid it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.db

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('challenge_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Integer(), nullable=False),
    sa.Column('startup_id', sa.Integer(), nullable=True),
    sa.Column('asked_by_id', sa.Integer(), nullable=True),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('question_language', sa.String(length=10), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answer_language', sa.String(length=10), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', models.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('published_at', models.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('hidden_at', models.db.AwareDateTime(timezone=True), nullable=True),
    sa.Column('hidden_by_id', sa.Integer(), nullable=True),
    sa.Column('hidden_reason', sa.Text(), nullable=False),
    sa.Column('created_at', models.db.AwareDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("answer_language IS NULL OR answer_language IN ('en', 'zh-Hant')", name=op.f('ck_challenge_questions_answer_language')),
    sa.CheckConstraint("question_language IN ('en', 'zh-Hant')", name=op.f('ck_challenge_questions_question_language')),
    sa.CheckConstraint('published_at IS NULL OR answered_at IS NOT NULL', name=op.f('ck_challenge_questions_published_answered')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_challenge_questions_answered_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['asked_by_id'], ['users.id'], name=op.f('fk_challenge_questions_asked_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['challenge_id'], ['challenges.id'], name=op.f('fk_challenge_questions_challenge_id_challenges'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hidden_by_id'], ['users.id'], name=op.f('fk_challenge_questions_hidden_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['startup_id'], ['startups.id'], name=op.f('fk_challenge_questions_startup_id_startups'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_challenge_questions'))
    )
    op.create_index(op.f('ix_challenge_questions_challenge_id'), 'challenge_questions', ['challenge_id'], unique=False)
    op.create_index(op.f('ix_challenge_questions_created_at'), 'challenge_questions', ['created_at'], unique=False)
    op.create_index(op.f('ix_challenge_questions_startup_id'), 'challenge_questions', ['startup_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_challenge_questions_startup_id'), table_name='challenge_questions')
    op.drop_index(op.f('ix_challenge_questions_created_at'), table_name='challenge_questions')
    op.drop_index(op.f('ix_challenge_questions_challenge_id'), table_name='challenge_questions')
    op.drop_table('challenge_questions')
