"""Rows appended to a change (services.appends): written before the transaction's next statement or at its commit,
together on PostgreSQL; what a reader of the transaction sees, a rollback and a locked() block's refusal are as
they were when each row was inserted at once. On SQLite and PostgreSQL."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import AuditEntry, OutboxMessage
from booking.services import appends, audit, locking, mail
from booking.services.errors import Conflict

from . import factories as f


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_transaction_reads_what_it_appended_and_a_rollback_drops_it(any_app):
    company = f.company()
    audit.record(None, "company.note", company, text="a")
    mail.queue(["a@client.example", "b@client.example"], "Sujet", "Corps")
    assert count(AuditEntry) == 1 and count(OutboxMessage) == 2  # the count is a statement: it writes them first
    audit.record(None, "company.note", company, text="b")
    db.session.rollback()
    assert count(AuditEntry) == 0 and count(OutboxMessage) == 0


def test_a_row_appended_after_a_commit_is_in_a_transaction_of_its_own(any_app):
    key = locking.company(f.company().id)
    db.session.commit()
    mail.queue(["dropped@client.example"], "Sujet", "Corps")  # no statement since the commit: no transaction yet
    db.session.rollback()
    mail.queue(["kept@client.example"], "Sujet", "Corps")  # committed by the block's first commit, as an insert was
    with pytest.raises(Conflict), locking.locked([key]):
        mail.queue(["refused@client.example"], "Sujet", "Corps")
        raise Conflict("refusé")  # the block's rollback: what it appended goes, what came before it stays
    db.session.rollback()
    assert db.session.scalars(select(OutboxMessage.recipient)).all() == ["kept@client.example"]


def test_a_commit_inside_a_block_is_refused_before_anything_is_written(any_app):
    company, nobody = f.company(), SimpleNamespace(id=999_999)  # a row whose write would fail (foreign key)
    db.session.commit()
    with pytest.raises(locking.LockContractError), locking.locked([locking.company(company.id)]):
        audit.record(nobody, "company.note", company, text="never")
        db.session.commit()
    assert count(AuditEntry) == 0


def test_every_row_is_written_with_its_values_whatever_their_number(any_app):
    company = f.company()
    db.session.commit()
    for rows in (2, 5, appends.CHAINED + 7):  # chained in one statement on PostgreSQL, then per table beyond CHAINED
        for n in range(rows):
            audit.record(None, "company.note", company, n=n, text="é")
            mail.queue([f"c{n}@client.example"], f"Sujet {n}", "Corps")
        db.session.commit()
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)).all()[-rows:]
        assert [e.details for e in entries] == [{"n": n, "text": "é"} for n in range(rows)]
        assert all(e.at is not None and e.object_id == company.id for e in entries)
        mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject.like("Sujet %"))).all()[-rows:]
        assert sorted(m.recipient for m in mails) == sorted(f"c{n}@client.example" for n in range(rows))
        assert all(m.attempts == 0 and m.error == "" and m.created_at is not None for m in mails)
        db.session.execute(OutboxMessage.__table__.delete())
        db.session.commit()
