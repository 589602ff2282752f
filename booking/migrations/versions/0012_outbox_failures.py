"""outbox: failed mail visible, message ids

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 20:00:00

Mail given up after its last attempt is marked `failed_at` (planners see and retry it) instead of
staying unsent unseen. Unsent mail is composed again, so that it leaves with its stable Message-ID
and Date headers.
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_failed', ['failed_at'], unique=False)
    op.execute("UPDATE outbox SET raw = NULL WHERE sent_at IS NULL")


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_failed')
        batch_op.drop_column('failed_at')
