"""external calendars: what the last read imported, skipped and warned about; when it last read everything

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 07:50:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("external_calendars") as batch:
        batch.add_column(sa.Column("report", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("complete_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("external_calendars") as batch:
        batch.drop_column("complete_at")
        batch.drop_column("report")
