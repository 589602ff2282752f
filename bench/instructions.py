"""Instructions per booking (and per /healthz), counted by callgrind: repeatable to a fraction of a percent on a
machine whose speed drifts, which is how changes to the booking path were judged (docs/decisions.md, "Booking
throughput, second round"). The app runs in this process on a throwaway PostgreSQL with bench/load.py's data
and Redis rate limits; instrumentation is on around the measured requests only.

Run: .venv/bin/python bench/instructions.py [--bookings 100]   (needs valgrind; about a minute)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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

        def request(i: int) -> None:
            if what == "healthz":
                assert client.get("/healthz").status_code == 200
                return
            consultant, start = next(free)
            body = {"service": "erplib", "start": start.isoformat(), "consultant_id": consultant}
            headers = {"Authorization": f"Bearer {world['tokens'][i % CLIENTS]}"}
            assert client.post("/api/v1/bookings", json=body, headers=headers).status_code == 201

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


def measure(count: int, what: str) -> float:
    out = Path(tempfile.mkdtemp()) / "callgrind.out"
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", sys.executable, __file__]
        + ["--bookings", str(count), "--what", what],
        env={**os.environ, MEASURED: "1", "PYTHONHASHSEED": "0"},
        check=True,
        capture_output=True,
    )
    totals = next(line for line in out.read_text().splitlines() if line.startswith("totals:"))
    return int(totals.split()[1]) / count / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=100)
    parser.add_argument("--what", choices=("booking", "healthz"), default=None)
    args = parser.parse_args()
    if os.environ.get(MEASURED):
        child(args.bookings, args.what)
        return
    booking, healthz = measure(args.bookings, "booking"), measure(args.bookings, "healthz")
    print(
        f"instructions (callgrind, in process, PostgreSQL {args.bookings} requests each): booking "
        f"{booking:.2f} M, /healthz {healthz:.2f} M ({booking / healthz:.2f}×)"
    )


if __name__ == "__main__":
    main()
