"""idempotency keys recoverable after a crash: who holds a pending key, and since when

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 20:00:00

A pending key whose request died (kill -9, database restart) is taken over by a retry once its lease
has run out; keys pending before this revision have no claimed_at, so the next retry takes them over.
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('idempotent_requests') as batch:
        batch.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('attempt', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('idempotent_requests') as batch:
        batch.drop_column('attempt')
        batch.drop_column('claimed_at')
