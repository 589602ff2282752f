"""priority_requests: a planner's refusal says why (shown to the client and mailed to them), and when it was made

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, as 0025: SQLite adds and drops a column in place, without rebuilding a table that plans point
# at. Requests refused before this migration keep no reason (none was asked for).
def upgrade():
    op.add_column("priority_requests", sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("priority_requests", sa.Column("refusal_reason", sa.String(length=500), nullable=True))


def downgrade():
    op.drop_column("priority_requests", "refusal_reason")
    op.drop_column("priority_requests", "refused_at")
