"""Benchmark: one month of erplib slots for 50 consultants with 2,000 existing bookings.

Prints median and p95 in-process and through the HTTP endpoint (Flask test client), each with
its ratio to a trivial endpoint (/healthz) measured in the same run. Run: .venv/bin/python bench/availability.py
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("SECRET_KEY", "bench")

from flask_migrate import upgrade  # noqa: E402
from timing import line, timed  # noqa: E402  (bench/timing.py)

from booking import create_app  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.models import Booking, Company, Consultant, User  # noqa: E402
from booking.services import availability, tokens  # noqa: E402

CONSULTANTS, BOOKINGS, RUNS = 50, 2000, 30
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)  # Monday 08:00 in Paris


def seed() -> tuple[Company, str]:
    rng = random.Random(7)
    company = Company(name="Bench", tier="serenite", contract_start=date(2026, 1, 1), erp_version="12")
    contact = User(email="bench@bench.example", name="Bench", role="client", company=company, password_hash="x")
    consultants = [Consultant(user=User(email=f"c{n}@bench.example", name=f"C{n}", role="consultant",
                                        password_hash="x"), skills=["comptabilite"], daily_cap=8)
                   for n in range(CONSULTANTS)]
    db.session.add_all([company, contact, *consultants])
    db.session.flush()
    calendars = {c.id: availability.calendar_for(c) for c in consultants}
    taken: dict[int, list] = {c.id: [] for c in consultants}
    made = 0
    while made < BOOKINGS:
        consultant = rng.choice(consultants)
        day = NOW.date() + timedelta(days=rng.randrange(28))
        blocks = calendars[consultant.id].day_intervals(day)
        if not blocks:
            continue
        a, b = rng.choice(blocks)
        start = a + timedelta(minutes=15 * rng.randrange(int((b - a).total_seconds() // 900) - 2))
        end = start + timedelta(minutes=45)
        if any(start < e and s < end for s, e in taken[consultant.id]):
            continue
        taken[consultant.id].append((start, end))
        db.session.add(Booking(kind="erplib", status="confirmed", start_at=start, end_at=end,
                               consultant_id=consultant.id, company=company, booked_at=NOW - timedelta(days=20)))
        made += 1
    raw = tokens.create(contact)
    db.session.commit()
    return company, raw


def main() -> None:
    path = Path(tempfile.mkdtemp()) / "bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
        company, raw = seed()
        start, end = availability.local_range(date(2026, 12, 1), date(2026, 12, 28))
        found = availability.slots("erplib", company, start, end, NOW)
        in_process = timed(lambda: availability.slots("erplib", company, start, end, NOW), RUNS)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}
    url = "/api/v1/availability?service=erplib&start=2026-12-01&end=2026-12-28"
    assert client.get(url, headers=headers).status_code == 200
    http = timed(lambda: client.get(url, headers=headers), RUNS)
    trivial = timed(lambda: client.get("/healthz"), RUNS)
    base = statistics.median(trivial)
    print(f"availability benchmark — {CONSULTANTS} consultants, {BOOKINGS} bookings, 4 weeks, "
          f"{len(found)} slot starts, {RUNS} runs, {os.cpu_count()} cores, SQLite")
    print(line("in-process slots()", in_process, base, 100))
    print(line("HTTP /api/v1/availability", http, base))
    print(line("HTTP /healthz (baseline)", trivial, base))


if __name__ == "__main__":
    main()
