"""ticket references unique per company

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 20:00:00

A reference was unique across all companies, so one company could take (and so learn of) another's
ticket reference. It is now unique within its company (uq_tickets_company_reference).

The old constraint was created unnamed: PostgreSQL named it tickets_reference_key, and batch mode
alters it there in place. SQLite cannot drop a constraint, and its batch rebuild (copy, drop, rename)
fails once bookings point at tickets: the drop orphans them and the rename never adopts them again.
So SQLite rebuilds by hand, in the order its documentation allows: keep the rows aside, drop, create
the table under its own name, put the rows back (which gives the bookings their tickets again).
Downgrading fails while two companies share a reference, since the old rule cannot hold then.
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

NEW = "uq_tickets_company_reference"
OLD = "tickets_reference_key"  # PostgreSQL's name for the unnamed UNIQUE (reference) of 0001
COLUMNS = "id, company_id, reference, priority, title, opened_at"


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(sa.UniqueConstraint("company_id", "reference", name=NEW))
        return
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_constraint(OLD, type_="unique")
        batch_op.create_unique_constraint(NEW, ["company_id", "reference"])


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(sa.UniqueConstraint("reference", name=OLD))
        return
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_constraint(NEW, type_="unique")
        batch_op.create_unique_constraint(OLD, ["reference"])


def _rebuild_sqlite(unique: sa.UniqueConstraint):
    """The tickets table again, with `unique` as its only uniqueness rule; rows, ids and bookings' links kept."""
    op.execute("PRAGMA defer_foreign_keys = ON")  # bookings have no ticket between the drop and the refill
    op.execute(f"CREATE TEMPORARY TABLE tickets_kept AS SELECT {COLUMNS} FROM tickets")
    op.drop_table("tickets")
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("priority IN ('bloquante', 'majeure', 'mineure', 'basse')", name="ck_tickets_priority"),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"]),
        sa.PrimaryKeyConstraint("id"),
        unique,
    )
    op.create_index("ix_tickets_company_id", "tickets", ["company_id"], unique=False)
    op.execute(f"INSERT INTO tickets ({COLUMNS}) SELECT {COLUMNS} FROM tickets_kept")
    op.execute("DROP TABLE tickets_kept")
