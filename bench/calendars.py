"""Benchmark: a 2,000-event feed (built, and its 304 path), the import of a 5,000-event calendar
with recurrences, and two imports measured alone in a child process each (time and peak memory):
the worst case (a 230-byte file repeating every second, without end) and a 50,000-event feed.
Medians and p95, with ratios to /healthz in the same run.
Run: .venv/bin/python bench/calendars.py
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("SECRET_KEY", "bench")

from timing import line, timed  # noqa: E402  (bench/timing.py)

from calendars import importer  # noqa: E402

# The app is imported by `main` only: a child measuring an import's peak memory holds the importer
# and its libraries, not Flask, SQLAlchemy and OR-Tools.

EVENTS, IMPORTED, RUNS = 2000, 5000, 20
BIG_FEED = 50_000
# A child that outgrows this is stopped by the kernel (MemoryError) rather than the shared machine.
CHILD_MEMORY, CHILD_SECONDS = 3 * 1024**3, 120


def seed() -> str:
    from booking.extensions import db
    from booking.models import Booking, Company, Consultant, User
    from booking.models.types import utcnow
    from booking.services import availability, feeds

    company = Company(name="Bench", tier="standard", contract_start=date(2026, 1, 1), erp_version="12")
    consultant = Consultant(
        user=User(email="c@bench.example", name="C", role="consultant", password_hash="x"), skills=["comptabilite"]
    )
    db.session.add_all([company, consultant])
    db.session.flush()
    calendar, day, made = availability.calendar_for(consultant), utcnow().date() + timedelta(days=1), 0
    while made < EVENTS:
        for a, b in calendar.day_intervals(day):
            start = a
            while start + timedelta(minutes=45) <= b and made < EVENTS:
                db.session.add(
                    Booking(
                        kind="erplib",
                        status="confirmed",
                        start_at=start,
                        end_at=start + timedelta(minutes=45),
                        consultant_id=consultant.id,
                        company=company,
                    )
                )
                start, made = start + timedelta(minutes=45), made + 1
        day += timedelta(days=1)
    db.session.commit()
    return feeds.issue(None, consultant)


def recurring_calendar() -> bytes:
    """500 weekly series of 10 occurrences = 5,000 events, with exceptions and an override each."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN"]
    start = datetime(2027, 1, 4, 8, tzinfo=UTC)
    for n in range(IMPORTED // 10):
        first = start + timedelta(minutes=30 * (n % 16), days=n % 5)
        lines += [
            "BEGIN:VEVENT",
            f"UID:s{n}",
            "DTSTAMP:20261201T000000Z",
            f"DTSTART:{first:%Y%m%dT%H%M%SZ}",
            f"DTEND:{first + timedelta(minutes=25):%Y%m%dT%H%M%SZ}",
            "RRULE:FREQ=WEEKLY;COUNT=11",
            f"EXDATE:{first + timedelta(weeks=3):%Y%m%dT%H%M%SZ}",
            "SUMMARY:Série",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def worst_case() -> bytes:
    """230 bytes: an event repeating every second, without end (before issue 14, gigabytes)."""
    return (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\nUID:w\r\n"
        b"DTSTAMP:20261201T000000Z\r\nDTSTART:20260101T000000Z\r\nDURATION:PT1S\r\n"
        b"RRULE:FREQ=SECONDLY\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def big_feed(start: datetime) -> bytes:
    """A 50,000-event feed (like a busy team's shared calendar): one-hour events, 8 a day from `start`."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN"]
    for n in range(BIG_FEED):
        first = start + timedelta(days=n // 8, hours=8 + n % 8)
        lines += [
            "BEGIN:VEVENT",
            f"UID:f{n}@bench",
            "DTSTAMP:20261201T000000Z",
            f"DTSTART:{first:%Y%m%dT%H%M%SZ}",
            f"DTEND:{first + timedelta(minutes=50):%Y%m%dT%H%M%SZ}",
            f"SUMMARY:Réunion {n}",
            "DESCRIPTION:Ordre du jour\\, salle 3",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def child(case: str) -> None:
    """Run one import alone and print its time, peak memory and outcome as JSON (see `measured`)."""
    now = datetime.now(UTC).replace(microsecond=0)
    data = worst_case() if case == "worst" else big_feed(now - timedelta(days=7))
    window = (now - timedelta(days=7), now + timedelta(days=60))  # calendar_sync.window with the default horizon
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    before = _peak_mb()  # the importer's modules and the file
    started, outcome = time.perf_counter(), ""
    try:
        outcome = f"{len(importer.busy_from_bytes(data, *window))} busy spans"
    except MemoryError:
        outcome = f"MemoryError at {CHILD_MEMORY // 1024**2} MiB"
    except importer.CalendarImportError as error:
        outcome = f"refused: {error}"
    seconds = time.perf_counter() - started
    peak = _peak_mb()
    print(
        json.dumps(
            {"bytes": len(data), "seconds": seconds, "peak_mb": peak, "before_mb": before, "outcome": outcome[:160]}
        )
    )


def _peak_mb() -> float:
    """This process's peak resident memory: VmHWM (ru_maxrss would carry the parent's over exec)."""
    for line_ in Path("/proc/self/status").read_text().splitlines():
        if line_.startswith("VmHWM:"):
            return int(line_.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measured(case: str) -> dict:
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", case], capture_output=True, text=True, timeout=CHILD_SECONDS
        )
    except subprocess.TimeoutExpired:
        return {
            "bytes": 0,
            "seconds": CHILD_SECONDS,
            "peak_mb": float("nan"),
            "before_mb": float("nan"),
            "outcome": "still running: stopped",
        }
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from flask_migrate import upgrade

    from booking import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"})
    with app.app_context():
        upgrade()
        raw = seed()
    client = app.test_client()
    url = f"/calendars/{raw}.ics"
    started = time.perf_counter()
    first = client.get(url)
    cold = (time.perf_counter() - started) * 1000
    assert first.status_code == 200 and first.data.count(b"BEGIN:VEVENT") == EVENTS
    etag = first.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    full = timed(lambda: client.get(url), RUNS)
    not_modified = timed(lambda: client.get(url, headers={"If-None-Match": etag}), runs=100)
    base = statistics.median(timed(lambda: client.get("/healthz"), runs=100))
    data = recurring_calendar()
    window = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 7, 1, tzinfo=UTC))
    count = importer.read(data, *window).instances
    parse = timed(lambda: importer.busy_from_bytes(data, *window), runs=5)
    print(
        f"calendars benchmark — feed of {EVENTS} events ({len(first.data) // 1024} KiB), import of {count} "
        f"occurrences from {IMPORTED // 10} weekly series, {os.cpu_count()} cores, SQLite"
    )
    print(f"  {'GET feed, first build (cold cache)':<34} {cold:8.1f} ms (then kept per schedule version)")
    print(line("GET feed (200, same version)", full, base, 150))
    print(line("GET feed (304, If-None-Match)", not_modified, base, 5))
    print(line(f"import {count} occurrences", parse, base, 2000))
    print(f"  /healthz median {base:.2f} ms")
    for case, name in (("worst", "worst case (FREQ=SECONDLY)"), ("feed", f"import of a {BIG_FEED:,}-event feed")):
        result = measured(case)
        print(
            f"  {name:<34} {result['seconds']:8.2f} s   peak memory {result['peak_mb']:5.0f} MB "
            f"(+{result['peak_mb'] - result['before_mb']:.0f} MB for the import)   "
            f"({result['bytes']:,} bytes: {result['outcome']})"
        )
    print("  (each of the last two alone in a child process; target < 5 s and < 200 MB)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main()
