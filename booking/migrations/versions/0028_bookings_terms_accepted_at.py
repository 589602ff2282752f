"""bookings: when the client (or staff for them) last accepted the booking's terms on its day, the one record the
planned changes of formula read to know which tier a session was accepted under

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-09 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

# The past, read once: the latest of the booking's time, its `reserve` ledger lines (a confirmation, or a move
# that counted it again) and its audit rows `booking.confirm` (a hold confirmed) and `booking.reschedule` (a move,
# counted again or not). From now on the services write the column in the transaction that accepts the terms,
# and nothing reads the audit log for it. Holds and expired holds never accepted terms; a cancelled booking may
# have been a hold: they stay NULL (the rule reads confirmed bookings only).
BACKFILL = """
UPDATE bookings SET terms_accepted_at = (
    SELECT MAX(t) FROM (
        SELECT bookings.booked_at AS t
        UNION ALL
        SELECT ledger_entries.created_at FROM ledger_entries
        WHERE ledger_entries.booking_id = bookings.id AND ledger_entries.kind = 'reserve'
        UNION ALL
        SELECT audit_log.at FROM audit_log
        WHERE audit_log.object_type = 'booking' AND audit_log.object_id = bookings.id
          AND audit_log.action IN ('booking.confirm', 'booking.reschedule')
    ) AS times
)
WHERE status IN ('confirmed', 'completed', 'no_show', 'late_cancelled', 'prerequisites_missing')
"""


def upgrade():
    op.add_column('bookings', sa.Column('terms_accepted_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(BACKFILL)


def downgrade():
    op.drop_column('bookings', 'terms_accepted_at')
