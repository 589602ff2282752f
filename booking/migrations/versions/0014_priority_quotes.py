"""priority quotes: validity, agreement recorded by a planner

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 21:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("priority_requests") as batch:
        batch.add_column(sa.Column("quote_valid_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("agreement_note", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("priority_requests") as batch:
        batch.drop_column("agreement_note")
        batch.drop_column("quote_valid_until")
