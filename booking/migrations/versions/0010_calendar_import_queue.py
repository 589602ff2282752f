"""calendar URL imports queued, with their status

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 20:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('external_calendars', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), server_default='done', nullable=False))
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('busy_count', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_external_calendars_status'), ['status'], unique=False)
        batch_op.create_check_constraint(
            'ck_external_calendar_status', "status IN ('pending', 'importing', 'done', 'error')")
    # Calendars imported before the queue existed: their counts, so the page shows them without loading rows.
    op.execute("UPDATE external_calendars SET busy_count = "
               "(SELECT count(*) FROM external_busy WHERE external_busy.calendar_id = external_calendars.id)")
    op.execute("UPDATE external_calendars SET status = 'error' WHERE error <> ''")


def downgrade():
    with op.batch_alter_table('external_calendars', schema=None) as batch_op:
        batch_op.drop_constraint('ck_external_calendar_status', type_='check')
        batch_op.drop_index(batch_op.f('ix_external_calendars_status'))
        batch_op.drop_column('busy_count')
        batch_op.drop_column('started_at')
        batch_op.drop_column('queued_at')
        batch_op.drop_column('status')
