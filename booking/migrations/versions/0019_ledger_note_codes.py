"""ledger note codes: the hour bank's notes stored as codes, shown in the reader's language

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 12:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# (French text written until now, code written from now on); a grant's note repeated its kind: now empty
NOTES = [("Dotation de l'année contractuelle", ""), ("Annulation dans les délais", "timely_cancel"),
         ("Déplacé sur une autre année contractuelle", "other_contract_year")]
_UPDATE = sa.text("UPDATE ledger_entries SET note = :new WHERE note = :old")


def upgrade():
    for text, code in NOTES:
        op.execute(_UPDATE.bindparams(old=text, new=code))


def downgrade():
    for text, code in NOTES:
        if code:
            op.execute(_UPDATE.bindparams(old=code, new=text))
    op.execute(sa.text("UPDATE ledger_entries SET note = :text WHERE kind = 'grant' AND note = ''")
               .bindparams(text=NOTES[0][0]))
