"""back office: company activity and notes, contract periods (history and planned tier changes),
main contacts, set-password links

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 07:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (SQLite has it): rebuilding these tables would trip the foreign keys that point at them.
    op.add_column("companies", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("companies", sa.Column("notes", sa.Text(), nullable=False, server_default=""))
    op.add_column("users", sa.Column("main_contact", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "contract_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("tier IN ('standard', 'confort', 'serenite')", name="ck_contract_periods_tier"),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "starts_on", name="uq_contract_periods_start"),
    )
    op.create_index("ix_contract_periods_company_id", "contract_periods", ["company_id"])
    # Every existing contract becomes its first period: the history starts with the contract.
    op.execute("INSERT INTO contract_periods (company_id, starts_on, tier, note, created_at) "
               "SELECT id, contract_start, tier, '', CURRENT_TIMESTAMP FROM companies")
    op.create_table(
        "password_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_password_links_user_id", "password_links", ["user_id"])


def downgrade():
    op.drop_index("ix_password_links_user_id", table_name="password_links")
    op.drop_table("password_links")
    op.drop_index("ix_contract_periods_company_id", table_name="contract_periods")
    op.drop_table("contract_periods")
    # Plain DROP COLUMN (SQLite since 3.35), for the same reason as the ADD COLUMN above.
    op.execute("ALTER TABLE users DROP COLUMN main_contact")
    op.execute("ALTER TABLE companies DROP COLUMN notes")
    op.execute("ALTER TABLE companies DROP COLUMN active")
