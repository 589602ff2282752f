"""Ticket references belong to their company: two companies may use the same one, neither sees the other's,
and the migration that made it so keeps the tickets and their bookings on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import psycopg
import pytest
import sqlalchemy as sa
import time_machine
from flask_migrate import downgrade, upgrade
from sqlalchemy.exc import IntegrityError

from booking import create_app
from booking.extensions import db
from booking.models import Booking, Ticket
from booking.services import tokens

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
TICKET = {"reference": "TCK-2026-001", "opened_at": "2026-12-02T08:30:00+01:00"}
_fresh = itertools.count()


def _callback(client, key, start: str, priority: str):
    return client.post(
        "/api/v1/bookings",
        headers={"Authorization": f"Bearer {key}"},
        json={"service": "callback", "start": start, "ticket": {**TICKET, "priority": priority}},
    )


def test_two_companies_use_the_same_reference_and_neither_sees_the_other(any_app):
    client = any_app.test_client()
    with time_machine.travel(NOW, tick=False):
        first, second = f.company("serenite"), f.company("confort")
        f.consultant(skills=("installation",))
        keys = [tokens.create(f.user("client", first)), tokens.create(f.user("client", second))]
        db.session.commit()
        mine = _callback(client, keys[0], "2026-12-03T10:00:00+01:00", "bloquante")
        theirs = _callback(client, keys[1], "2026-12-03T11:00:00+01:00", "mineure")
        assert mine.status_code == 201, mine.json
        assert theirs.status_code == 201, theirs.json  # was 404 "Aucun ticket « TCK-2026-001 » pour votre société"
        assert mine.json["ticket"]["id"] != theirs.json["ticket"]["id"]
        for key, booking, priority in ((keys[0], mine, "bloquante"), (keys[1], theirs, "mineure")):
            seen = client.get("/api/v1/callbacks", headers={"Authorization": f"Bearer {key}"}).json
            assert [(b["id"], b["ticket"]["priority"]) for b in seen] == [(booking.json["id"], priority)]
        again = _callback(client, keys[0], "2026-12-03T14:00:00+01:00", "bloquante")
        assert again.status_code == 201 and again.json["ticket"]["id"] == mine.json["ticket"]["id"]
    tickets = db.session.execute(sa.select(Ticket.company_id, Ticket.priority).order_by(Ticket.id)).all()
    assert tickets == [(first.id, "bloquante"), (second.id, "mineure")]


def test_a_reference_is_unique_within_its_company(any_app):
    first, second = f.company(), f.company()
    opened = datetime(2026, 12, 1, 9, tzinfo=UTC)
    db.session.add_all(
        [Ticket(company=c, reference="TCK-7", priority="majeure", opened_at=opened) for c in (first, second)]
    )
    db.session.commit()
    db.session.add(Ticket(company=first, reference="TCK-7", priority="basse", opened_at=opened))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    uniques = {tuple(u["column_names"]): u["name"] for u in sa.inspect(db.engine).get_unique_constraints("tickets")}
    assert uniques == {("company_id", "reference"): "uq_tickets_company_reference"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """The URL of a database with no schema yet."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    name = f"empty_{next(_fresh)}_{id(tmp_path) % 10_000}"
    with psycopg.connect(cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return cluster.url(name)


def _rows_at_revision_0010() -> tuple[int, int]:
    """A consultant, a company, a ticket and its callback written as the schema of revision 0010 has them
    (plain rows: today's models carry columns later revisions add)."""
    tables = sa.MetaData()
    now = datetime(2026, 11, 30, 9, tzinfo=UTC)

    def run(table: str, **row) -> int:
        return db.session.execute(
            sa.insert(sa.Table(table, tables, autoload_with=db.engine)).values(**row)
        ).inserted_primary_key[0]

    user = run(
        "users",
        email="c@test.example",
        name="C",
        role="consultant",
        password_hash="x",
        locale="fr",
        active=True,
        created_at=now,
    )
    consultant = run("consultants", user_id=user, skills=["comptabilite"], working_pattern={}, daily_cap=8)
    company = run(
        "companies",
        name="Client",
        tier="confort",
        contract_start=date(2026, 1, 1),
        environments=["production"],
        erp_version="12",
    )
    opened = datetime(2026, 12, 1, 9, tzinfo=UTC)
    ticket = run("tickets", company_id=company, reference="TCK-1", priority="majeure", title="", opened_at=opened)
    start = datetime(2026, 12, 3, 9, tzinfo=UTC)
    booking = run(
        "bookings",
        kind="callback",
        status="confirmed",
        start_at=start,
        end_at=start.replace(minute=30),
        consultant_id=consultant,
        company_id=company,
        ticket_id=ticket,
        notes="",
        ical_uid="u@test",
        sequence=0,
        booked_at=now,
        updated_at=now,
        pinned=False,
        beyond_commitment=False,
    )
    db.session.commit()
    return ticket, booking


def test_migration_keeps_tickets_and_their_bookings_both_ways(empty_database):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(revision="0010")
        ids = _rows_at_revision_0010()
        db.session.remove()
        upgrade()
        assert db.session.get(Booking, ids[1]).ticket_id == ids[0]
        db.session.remove()
        downgrade(revision="0010")
        uniques = [u["column_names"] for u in sa.inspect(db.engine).get_unique_constraints("tickets")]
        # read as rows: the model describes the head's bookings (columns added since, 0028's among them)
        kept = db.session.execute(sa.text("SELECT ticket_id FROM bookings WHERE id = :id"), {"id": ids[1]}).scalar()
        assert uniques == [["reference"]] and kept == ids[0]
        db.session.remove()
        upgrade()
        assert db.session.get(Booking, ids[1]).ticket.reference == "TCK-1"
        db.session.remove()
        db.engine.dispose()
