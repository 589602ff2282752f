"""ledger entries: the price of their billable minutes at the rate consented to, so that a contract's new rates
do not re-price sessions already confirmed

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, as 0025 and 0026. Lines written before keep no amount: their bookings are priced at the rates
# in force, as they were until now (the rates they were consented at were not recorded).
def upgrade():
    op.add_column("ledger_entries", sa.Column("amount_eur", sa.Numeric(10, 2), nullable=True))


def downgrade():
    op.drop_column("ledger_entries", "amount_eur")
