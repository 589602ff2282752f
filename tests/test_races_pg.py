"""No double booking and an hour bank that never goes negative, under real concurrency:
gunicorn with 4 workers on the real PostgreSQL, requests released together."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import date, datetime
from datetime import time as clock

import pytest
from sqlalchemy import func, select

from booking import create_app
from booking.extensions import db
from booking.models import Booking, Company, LedgerEntry
from booking.services import hour_bank, tokens
from calendars.worktime import PARIS

from . import factories as f
from .conftest import _pg_url
from .dates import contract_start, working_day
from .servers import gunicorn


@pytest.fixture(scope="module")
def server(pg_cluster, pg_template, tmp_path_factory):
    """gunicorn, 4 workers, on a fresh database of the real cluster."""
    url = _pg_url(pg_cluster, pg_template)
    process, base = gunicorn(url, tmp_path_factory.mktemp("gunicorn") / "log")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://")})
    yield base, app
    process.terminate()
    process.wait(10)


def release_together(requests: list[tuple[str, str, dict]]) -> list[tuple[int, str, dict]]:
    """POST every (url, token, body) at the same instant; return (status, content type, JSON body)."""
    barrier, results = threading.Barrier(len(requests)), [None] * len(requests)

    def post(index, url, token, body):
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                results[index] = (response.status, response.headers["Content-Type"], json.load(response))
        except urllib.error.HTTPError as error:
            results[index] = (error.code, error.headers["Content-Type"], json.load(error))

    threads = [threading.Thread(target=post, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def seed(app, tier: str, clients: int, skills=("installation",), consultants: int = 1):
    """`clients` contacts (one company each, or one Sérénité company), their tokens, and consultants."""
    with app.app_context():
        made = [f.consultant(skills=skills) for _ in range(consultants)]
        if tier == "serenite":
            company = f.company("serenite", contract_start=contract_start())
            users = [f.user("client", company) for _ in range(clients)]
        else:
            users = [f.user("client", f.company(tier)) for _ in range(clients)]
        raw = [tokens.create(u) for u in users]
        db.session.commit()
        return raw, [c.id for c in made], users[0].company_id


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_fifty_clients_one_slot_exactly_one_wins(server):
    base, app = server
    raw, (consultant_id,), _ = seed(app, "standard", 50)
    start = datetime.combine(working_day(4), clock(10), PARIS).isoformat()
    before = count(app, Booking, Booking.consultant_id == consultant_id)
    results = release_together([(f"{base}/api/v1/bookings", t, {"service": "erplib", "start": start}) for t in raw])
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [201] + [409] * 49
    for status, content_type, body in results:
        if status == 409:
            assert content_type == "application/problem+json" and "plus disponible" in body["detail"]
    assert count(app, Booking, Booking.consultant_id == consultant_id) == before + 1
    winner = next(body["id"] for status, _, body in results if status == 201)
    assert count(app, LedgerEntry, LedgerEntry.booking_id == winner) == 1


def test_a_two_hour_intervention_races_an_overlapping_session(server):
    base, app = server
    raw, (consultant_id,), _ = seed(app, "confort", 20)
    day = working_day(6)
    minor = datetime.combine(day, clock(14), PARIS).isoformat()
    session = datetime.combine(day, clock(15), PARIS).isoformat()
    requests = [
        (
            f"{base}/api/v1/bookings",
            t,
            {
                "service": "minor_update" if i % 2 else "erplib",
                "start": minor if i % 2 else session,
                "consultant_id": consultant_id,
            },
        )
        for i, t in enumerate(raw)
    ]
    results = release_together(requests)
    assert sorted(s for s, _, _ in results) == [201] + [409] * 19
    with app.app_context():
        booked = db.session.scalars(
            select(Booking).where(Booking.consultant_id == consultant_id, Booking.status == "confirmed")
        ).all()
        assert len(booked) == 1


def test_the_hour_bank_never_goes_negative_under_parallel_bookings(server):
    base, app = server
    raw, consultant_ids, company_id = seed(app, "serenite", 5, consultants=5)
    with app.app_context():
        company = db.session.get(Company, company_id)
        year = hour_bank.contract_year(company, date.today())
        hour_bank.ensure_grant(company, year)
        db.session.add(LedgerEntry(company_id=company_id, contract_year=year, kind="adjust", minutes=-555))
        db.session.commit()
    start = datetime.combine(working_day(8), clock(10), PARIS).isoformat()
    requests = [
        (f"{base}/api/v1/bookings", token, {"service": "erplib", "start": start, "consultant_id": cid})
        for token, cid in zip(raw, consultant_ids, strict=True)
    ]
    results = release_together(requests)
    assert [s for s, _, _ in results] == [201] * 5
    with app.app_context():
        company = db.session.get(Company, company_id)
        reserves = db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.company_id == company_id, LedgerEntry.kind == "reserve")
        ).all()
        assert sorted((e.minutes, e.billable_minutes) for e in reserves) == [(-45, 0)] + [(0, 45)] * 4
        assert hour_bank.balance(company, year) == 0
