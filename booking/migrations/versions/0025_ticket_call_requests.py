"""tickets: a call asked for when no callback window fits before the take-charge deadline, and when it was made

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 04:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: SQLite adds and drops a column in place (3.35 and later), whereas a batch
# rebuild of `tickets` fails once bookings point at it (see 0011).
def upgrade():
    op.add_column("tickets", sa.Column("call_requested_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tickets", sa.Column("called_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("tickets", "called_at")
    op.drop_column("tickets", "call_requested_at")
