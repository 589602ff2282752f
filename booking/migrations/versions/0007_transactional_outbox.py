"""transactional outbox: mail is queued with the change that causes it, composed and sent by the scheduler

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 09:50:00

A booking's transaction now only stores what each mail says (subject, text, the event as it was);
the scheduler's delivery job composes the MIME message (`raw`) and sends it, retrying with backoff.
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('raw', existing_type=sa.Text(), nullable=True)
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('event', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_unsent', ['sent_at', 'id'], unique=False)


def downgrade():
    op.execute("DELETE FROM outbox WHERE raw IS NULL")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_unsent')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('event')
        batch_op.drop_column('body')
        batch_op.alter_column('raw', existing_type=sa.Text(), nullable=False)
