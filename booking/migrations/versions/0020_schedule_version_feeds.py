"""schedule version: also bumped by what the iCal feeds show beside bookings (companies, tickets, prerequisites)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 14:00:00

Feeds are rendered once per schedule version and their bytes served from memory in each process: the
version must move, in the same transaction, with everything a feed shows. Bookings, consultants and users
bump it already (0006); a company's name, a ticket's reference or priority and a ticked prerequisite now do
too. Same triggers as 0006: deferred to the commit on PostgreSQL, immediate on SQLite.
"""
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

TABLES = ("companies", "tickets", "prerequisite_checks")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"CREATE CONSTRAINT TRIGGER {table}_bump_schedule_version AFTER INSERT OR UPDATE OR DELETE "
                       f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_schedule_version()")
    else:
        for table in TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_bump_schedule_version_{event.lower()} AFTER {event} ON {table} "
                           "BEGIN UPDATE schedule_versions SET value = value + 1 WHERE id = 1; END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_bump_schedule_version ON {table}")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_bump_schedule_version_{event}")
