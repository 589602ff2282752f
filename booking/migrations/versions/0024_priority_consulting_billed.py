"""priority consulting billed: the consulting's price fixed when its plan is applied, and when that was

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 20:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("priority_requests") as batch:
        batch.add_column(sa.Column("consulting_eur", sa.Numeric(10, 2), nullable=True))
        batch.add_column(sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("priority_requests") as batch:
        batch.drop_column("applied_at")
        batch.drop_column("consulting_eur")
