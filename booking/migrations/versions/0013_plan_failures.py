"""reshuffle plans: a computation that raises is failed with its reason; interrupted ones are retried a few times

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 20:00:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reshuffle_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='1'))


def downgrade():
    with op.batch_alter_table('reshuffle_plans', schema=None) as batch_op:
        batch_op.drop_column('attempts')
