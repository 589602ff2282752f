"""schedule version: a counter every change to what availability reads bumps

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 08:05:00

Availability listings are cached per process under this version, so a change made by any process
or host is seen at once. PostgreSQL bumps it at commit (deferred constraint triggers), so the row
lock is taken last and held for an instant: no deadlock with the advisory locks, no long waits.
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ("bookings", "absences", "external_busy", "consultants", "users")


def upgrade():
    op.create_table('schedule_versions',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('value', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    op.execute("INSERT INTO schedule_versions (id, value) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION bump_schedule_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN UPDATE schedule_versions SET value = value + 1 WHERE id = 1; RETURN NULL; END $$")
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
        op.execute("DROP FUNCTION bump_schedule_version()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_bump_schedule_version_{event}")
    op.drop_table('schedule_versions')
