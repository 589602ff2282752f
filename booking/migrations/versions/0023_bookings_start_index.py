"""bookings: an index on start_at, for the team-wide week and dashboard queries (their window, not the history)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 04:10:00
"""
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    # Overlap queries bound start_at on both sides (models.bookings.overlapping): with this index, the
    # planners' week and the dashboard read their window's bookings rather than scanning every booking ever made.
    op.create_index('ix_bookings_start', 'bookings', ['start_at'], unique=False)


def downgrade():
    op.drop_index('ix_bookings_start', table_name='bookings')
