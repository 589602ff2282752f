"""reshuffle plans queued by the web and computed by the scheduler's workers: claim, heartbeat, worker

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 13:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

OLD = "status IN ('running', 'ready', 'failed', 'applied', 'stale')"
NEW = "status IN ('queued', 'running', 'ready', 'failed', 'applied', 'stale')"


def upgrade():
    with op.batch_alter_table('reshuffle_plans', schema=None) as batch_op:
        batch_op.drop_constraint('ck_reshuffle_status', type_='check')
        batch_op.create_check_constraint('ck_reshuffle_status', NEW)
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('worker', sa.String(length=120), server_default='', nullable=False))
        batch_op.alter_column('attempts', server_default='0')
        batch_op.create_index(batch_op.f('ix_reshuffle_plans_status'), ['status'], unique=False)
    # Plans left `running` by a web worker's thread have no heartbeat: the scheduler reclaims them (as
    # abandoned) from their creation time, and computes them again.


def downgrade():
    op.execute("UPDATE reshuffle_plans SET status = 'running' WHERE status = 'queued'")
    with op.batch_alter_table('reshuffle_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reshuffle_plans_status'))
        batch_op.alter_column('attempts', server_default='1')
        batch_op.drop_column('worker')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('started_at')
        batch_op.drop_constraint('ck_reshuffle_status', type_='check')
        batch_op.create_check_constraint('ck_reshuffle_status', OLD)
