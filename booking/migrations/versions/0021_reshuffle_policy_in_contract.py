"""contract versions carry the reshuffle compensation policy ([reshuffle]), which moved from code to the contract

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 10:30:00
"""
import tomllib

from alembic import op
import sqlalchemy as sa

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# The policy the code applied until now (booking/services/reshuffle.py's POLICY), written as the file has it:
# a version an admin applied before keeps pricing moves exactly as it did.
SECTION = """
[reshuffle]                  # priority consulting and absence repair: what moving a booking costs
freeze_hours = 48                       # bookings starting within this many hours never move
compensated_if_booked_days_before = 14  # only bookings made at least this many days ago are compensated
# [business days of notice under, factor]: a move with less notice costs the kind's amount times the factor
short_notice_factor = [[2, 3.0], [5, 2.0], [10, 1.5]]

[reshuffle.compensation_eur]  # euros paid by the requester to the moved client, per service kind
erplib = 60
callback = 0
minor_update = 250
major_install = 900
major_install_test = 600
priority_consulting = 900

[reshuffle.weights]  # after compensation, the solver prefers fewer moves, then fewer consultant changes
moved = 100
consultant_change = 20
displacement_hour = 1
"""

versions = sa.table("contract_versions", sa.column("id", sa.Integer), sa.column("text", sa.Text))


def upgrade():
    connection = op.get_bind()
    for version_id, text in connection.execute(sa.select(versions.c.id, versions.c.text)).all():
        if "reshuffle" in tomllib.loads(text):
            continue
        connection.execute(versions.update().where(versions.c.id == version_id)
                           .values(text=text.rstrip("\n") + "\n" + SECTION))


def downgrade():
    pass  # the previous code ignores a [reshuffle] table: the versions stay readable as they are
