"""Instructions per booking, per week of availability and per consultant feed (each beside /healthz), counted by
callgrind: repeatable to a fraction of a percent on a machine whose speed drifts, which is how changes to these
paths were judged (docs/decisions.md, "Booking throughput, second round"). The app runs in this process on a
throwaway PostgreSQL with bench/load.py's data and Redis rate limits; instrumentation is on around the measured
requests only. The availability requests are bench/load.py's (one week, its clients' tokens in turn) and, as
there, the cached listing serves them once computed: this counts the requests the cache answers.

The booking's re-check under its locks is counted the same way at 50 and at 400 consultants, on
bench/availability.py's data (SQLite, seeded outside valgrind): the same 20 starts of each team, five times,
each from a fresh session. Wall time at those sizes differs with the machine's caches and drift; the count
says whether the re-check does more work for a larger team.

Run: .venv/bin/python bench/instructions.py [--bookings 100] [--sizes 50 400]   (needs valgrind; about 4 min)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the other bench scripts

MEASURED = "BENCH_INSTRUCTIONS_CHILD"


def child(count: int, what: str) -> None:
    """Under callgrind: warm up, then switch instrumentation on for `count` requests."""
    from load import CLIENTS, seed, slots  # bench/load.py

    from booking import create_app
    from booking.pgcluster import Cluster
    from tests.servers import redis_server

    cluster = Cluster().start()
    redis, store = redis_server(Path(tempfile.mkdtemp()))
    try:
        cluster.create_database("load")
        url = cluster.url("load")
        world = seed(create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load"}))
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "load",
                "RATELIMIT_BOOKING": "100000 per minute",
                "RATELIMIT_STORAGE_URI": store,
            }
        )
        client, free = app.test_client(), slots(world["consultants"])

        first = date.today() + timedelta(days=7)  # bench/load.py's week

        def request(i: int) -> None:
            if what == "healthz":
                assert client.get("/healthz").status_code == 200
                return
            if what == "feed":
                assert client.get(f"/calendars/{world['feed']}.ics").status_code == 200
                return
            if what == "availability":
                week = f"/api/v1/availability?service=erplib&start={first}&end={first + timedelta(days=6)}"
                headers = {"Authorization": f"Bearer {world['tokens'][i % CLIENTS]}"}
                assert client.get(week, headers=headers).status_code == 200
                return
            consultant, start = next(free)
            body = {"service": "erplib", "start": start.isoformat(), "consultant_id": consultant}
            headers = {"Authorization": f"Bearer {world['tokens'][i % CLIENTS]}"}
            assert client.post("/api/v1/bookings", json=body, headers=headers).status_code == 201

        # As gunicorn's workers do once the app is loaded (booking/gunicorn_conf.py): without it, whether a full
        # collection of the app's objects falls inside the counted requests decided ±7 % of a booking's count.
        gc.collect()
        gc.freeze()
        for i in range(30):
            request(i)
        switch = ["callgrind_control", "-i"]
        subprocess.run([*switch, "on", str(os.getpid())], check=True, capture_output=True)
        for i in range(count):
            request(i)
        subprocess.run([*switch, "off", str(os.getpid())], check=True, capture_output=True)
    finally:
        redis.terminate()
        cluster.stop()


RECHECK_ROUNDS = 5


def seed_team(size: int) -> Path:
    """bench/availability.py's team of `size` in a SQLite file, with the 20 starts its re-check is timed on."""
    import availability as bench  # bench/availability.py

    from booking import create_app
    from booking.extensions import db
    from booking.services import availability

    path = Path(tempfile.mkdtemp()) / "team.db"
    with create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}).app_context():
        from flask_migrate import upgrade

        upgrade()
        company = bench.seed(size)
        found = availability.slots("erplib", company, *availability.local_range(bench.FIRST, bench.LAST), bench.NOW)
        sample = random.Random(size).sample(found, 20)
        starts = [(slot.start.isoformat(), slot.end.isoformat(), slot.consultant_id) for slot in sample]
        path.with_suffix(".json").write_text(json.dumps({"company": company.id, "starts": starts}))
        db.session.remove()
    return path


def child_recheck(path: Path) -> None:
    """Under callgrind: each start re-checked once, then instrumentation on for the measured rounds."""
    import availability as bench  # bench/availability.py

    from booking import create_app
    from booking.extensions import db
    from booking.models import Company
    from booking.services import availability

    data = json.loads(path.with_suffix(".json").read_text())
    slots = [availability.Slot(datetime.fromisoformat(a), datetime.fromisoformat(b), c) for a, b, c in data["starts"]]
    with create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}).app_context():
        company = db.session.get(Company, data["company"])

        def rounds(count: int) -> None:
            nonlocal company
            for _ in range(count):
                for slot in slots:
                    company = bench.fresh(company)  # as a request starts: nothing loaded yet
                    bench.recheck(company, slot)

        rounds(1)
        switch = ["callgrind_control", "-i"]
        subprocess.run([*switch, "on", str(os.getpid())], check=True, capture_output=True)
        rounds(RECHECK_ROUNDS)
        subprocess.run([*switch, "off", str(os.getpid())], check=True, capture_output=True)


def measure(count: int, what: str, team: Path | None = None) -> float:
    out = Path(tempfile.mkdtemp()) / "callgrind.out"
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", sys.executable, __file__]
        + ["--bookings", str(count), "--what", what]
        + (["--team", str(team)] if team else []),
        env={**os.environ, MEASURED: "1", "PYTHONHASHSEED": "0"},
        check=True,
        capture_output=True,
    )
    totals = next(line for line in out.read_text().splitlines() if line.startswith("totals:"))
    shutil.rmtree(out.parent)
    if team:
        shutil.rmtree(team.parent)
    return int(totals.split()[1]) / count / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=100)
    parser.add_argument("--sizes", type=int, nargs=2, default=[50, 400], help="teams whose re-checks are compared")
    parser.add_argument("--what", choices=("booking", "healthz", "availability", "feed", "recheck"), default=None)
    parser.add_argument("--team", type=Path, default=None)
    args = parser.parse_args()
    if os.environ.get(MEASURED):
        if args.what == "recheck":
            child_recheck(args.team)
        else:
            child(args.bookings, args.what)
        return
    counts = {what: measure(args.bookings, what) for what in ("booking", "healthz", "availability", "feed")}
    print(
        f"instructions (callgrind, in process, PostgreSQL {args.bookings} requests each): "
        + ", ".join(f"{what} {count:.2f} M ({count / counts['healthz']:.2f}×)" for what, count in counts.items())
    )
    small, large = (measure(20 * RECHECK_ROUNDS, "recheck", seed_team(size)) for size in args.sizes)
    print(
        f"re-check under the booking's locks (SQLite, bench/availability.py's data, {20 * RECHECK_ROUNDS} each): "
        f"{small:.3f} M at {args.sizes[0]} consultants, {large:.3f} M at {args.sizes[1]} ({large / small:.3f}×)"
    )


if __name__ == "__main__":
    main()
