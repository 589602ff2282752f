"""Benchmark: `decide` on a refused instant (it stops at the first blocking rule) against the troubleshooter
(`why_not`, every rule of every consultant), with `decide` on a free instant as the baseline, same process.
50 consultants, 2,000 bookings (the seed of bench/availability.py). Run: .venv/bin/python bench/why_not.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("SECRET_KEY", "bench")

from availability import NOW, seed  # noqa: E402  (bench/availability.py)
from flask_migrate import upgrade  # noqa: E402
from timing import line, timed  # noqa: E402

from booking import create_app  # noqa: E402
from booking.services import availability  # noqa: E402
from calendars.worktime import PARIS  # noqa: E402

RUNS = 30


def main() -> None:
    path = Path(tempfile.mkdtemp()) / "bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context(), app.test_request_context():
        upgrade()
        company, _ = seed()
        start, end = availability.local_range(date(2026, 12, 7), date(2026, 12, 11))
        free = availability.slots("erplib", company, start, end, NOW)[0].start
        refused = datetime(2026, 12, 8, 12, 0, tzinfo=PARIS)  # over lunch: closed for every consultant
        assert not isinstance(availability.decide("erplib", company, refused, NOW), availability.Slot)
        base = timed(lambda: availability.decide("erplib", company, free, NOW), RUNS)
        first = timed(lambda: availability.decide("erplib", company, refused, NOW), RUNS)
        every = timed(lambda: availability.why_not("erplib", company, refused, NOW), RUNS)
    median = statistics.median(base)
    print(f"why-not benchmark — 50 consultants, 2,000 bookings, {RUNS} runs, {os.cpu_count()} cores, SQLite")
    print(line("decide, free instant (baseline)", base, median).replace("/healthz", "baseline"))
    print(line("decide, refused instant (first rule)", first, median).replace("/healthz", "baseline"))
    print(line("why_not, refused instant (every rule)", every, median).replace("/healthz", "baseline"))


if __name__ == "__main__":
    main()
