"""Faults on the production layout, on a PostgreSQL cluster of their own (it gets restarted):
- `make serve`'s runner starts gunicorn's 4 workers and the scheduler, and stops them all;
- kill -9 of the gunicorn worker applying a reshuffle plan, caught in the middle of its transaction;
- a PostgreSQL restart during a burst of bookings through gunicorn.
Afterwards: no partial plan, no lost confirmed booking, no booking without its ledger line, and the
app serves again without being restarted."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from booking import create_app
from booking.extensions import db
from booking.models import Booking, Compensation, LedgerEntry, PriorityRequest, ReshufflePlan, User
from booking.pgcluster import Cluster, free_port
from booking.services import priority, tokens
from calendars.worktime import PARIS

from . import factories as f
from .dates import contract_start, working_days
from .plans import computed
from .servers import children, gunicorn, wait_for


@pytest.fixture(scope="module")
def cluster():
    own = Cluster().start()
    yield own
    own.stop()


@pytest.fixture
def database(cluster, request):
    """A fresh migrated database on the module's cluster, and the app bound to it."""
    name = f"fault_{request.node.name.split('[')[0][-20:]}_{os.getpid()}"
    cluster.create_database(name)
    url = cluster.url(name)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RESHUFFLE_SECONDS": 2})
    with app.app_context():
        upgrade()
        yield url, app
        db.session.remove()
        db.engine.dispose()


def test_serve_runs_four_workers_and_the_scheduler_and_stops_them(database, tmp_path):
    url, _ = database
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "DATABASE_URL": url, "BIND": f"127.0.0.1:{port}", "SECRET_KEY": "serve-test"}
    runner = subprocess.Popen(
        [sys.executable, "-m", "booking.serve"], env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", runner, log, seconds=60)
        processes = children(runner.pid)
        commands = {pid: open(f"/proc/{pid}/cmdline").read().replace("\0", " ") for pid in processes}
        gunicorn_master = next(pid for pid, command in commands.items() if "gunicorn" in command)
        assert any("scheduler" in command for command in commands.values())
        deadline = time.monotonic() + 30
        while len(children(gunicorn_master)) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(children(gunicorn_master)) == 4
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(60)
    assert not [
        pid
        for pid in processes
        if os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z"
    ]


def _ready_plan(app) -> tuple[int, dict]:
    """A priority request whose plan moves several bookings; their positions before applying."""
    now = datetime.now(UTC)
    requester = f.user("client", f.company("serenite", contract_start=contract_start()))
    patient_company = f.company("confort")
    patient = f.user("client", patient_company)
    expert = f.consultant(skills=("migration",))
    f.consultant(skills=("comptabilite",))
    planner = f.user("planner")
    for day in working_days(13, after=1):  # the expert's mornings of the next weeks, booked long ago
        f.booking(
            expert,
            datetime.combine(day, clock(9), PARIS),
            company=patient_company,
            contact=patient,
            booked_at=now - timedelta(days=30),
        )
    db.session.commit()
    request = priority.request_consulting(requester, "migration", 1, "days", "Migration urgente", now)
    plan = computed(priority.decide(planner, request, True, now).id)
    assert plan.status == "ready", plan.error
    assert len(plan.plan["moves"]) >= 1
    before = {b.id: (b.consultant_id, b.start_at, b.status, b.sequence) for b in db.session.scalars(select(Booking))}
    return plan.id, before


class Browser:
    """A person's session with the real server: cookies, and the CSRF token of each form."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, form_page: str, data: dict, timeout: float = 60) -> int:
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.get(form_page)).group(1)
        body = urllib.parse.urlencode({**data, "csrf_token": token}).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=timeout) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


AGREED = {"agreement": "Accord du client par téléphone"}  # the planner's form, as a person fills it in


def _ignore_cut(function, *args) -> None:
    try:
        function(*args)
    except OSError:  # the worker died under the request: the connection is cut
        pass


def test_kill_9_of_the_worker_applying_a_plan_leaves_no_partial_plan(database, tmp_path):
    url, app = database
    plan_id, before = _ready_plan(app)
    request_id = db.session.get(ReshufflePlan, plan_id).request_id
    # the client's agreement was noted earlier: the apply's first write is then its bookings, not the note
    db.session.get(PriorityRequest, request_id).agreement_note = "Accord du client par téléphone"
    db.session.get(PriorityRequest, request_id).client_accepted_at = datetime.now(UTC)
    db.session.commit()
    planner = db.session.scalar(select(User.email).where(User.role == "planner"))
    server, base = gunicorn(url, tmp_path / "gunicorn.log", workers=1)
    try:
        (worker,) = children(server.pid)
        person = Browser(base)
        assert person.post("/login", "/login", {"email": planner, "password": f.PASSWORD}) == 200
        page = f"/planification/priorite/{request_id}"
        raw = url.replace("+psycopg", "")
        with psycopg.connect(raw) as blocker:
            # hold the request's row: the apply writes its bookings, then waits here, inside its transaction
            blocker.execute("SELECT id FROM priority_requests WHERE id = %s FOR UPDATE", (request_id,))
            applying = threading.Thread(
                target=_ignore_cut, args=(person.post, f"/planification/plans/{plan_id}/appliquer", page, AGREED, 120)
            )
            applying.start()
            with psycopg.connect(raw, autocommit=True) as watcher:
                deadline, rows = time.monotonic() + 60, []
                while not rows and time.monotonic() < deadline:
                    time.sleep(0.05)
                    rows = watcher.execute(
                        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query ILIKE 'UPDATE priority_requests%%'"
                    ).fetchall()
                assert rows, "the apply never reached the locked row"
                written = watcher.execute(
                    "SELECT count(*) FROM pg_locks WHERE pid = %s AND relation = "
                    "'bookings'::regclass AND mode = 'RowExclusiveLock'",
                    (rows[0][0],),
                ).fetchone()[0]
                assert written >= 1  # it had written bookings when it died
            os.kill(worker, signal.SIGKILL)
            applying.join(60)
            blocker.rollback()
        f.reread()
        after = {b.id: (b.consultant_id, b.start_at, b.status, b.sequence) for b in db.session.scalars(select(Booking))}
        assert after == before  # nothing moved, nothing created
        assert db.session.get(ReshufflePlan, plan_id).status == "ready"
        assert db.session.get(PriorityRequest, request_id).status != "applied"
        assert db.session.scalar(select(func.count()).select_from(Compensation)) == 0
        # gunicorn replaced its worker; the same plan applies cleanly, nothing restarted by hand
        deadline = time.monotonic() + 30
        while children(server.pid) in ([], [worker]) and time.monotonic() < deadline:
            time.sleep(0.2)
        wait_for(f"{base}/healthz", server, tmp_path / "gunicorn.log")
        again = Browser(base)
        assert again.post("/login", "/login", {"email": planner, "password": f.PASSWORD}) == 200
        assert again.post(f"/planification/plans/{plan_id}/appliquer", page, AGREED) == 200
    finally:
        server.terminate()
        server.wait(10)
    f.reread()
    assert db.session.get(ReshufflePlan, plan_id).status == "applied"
    assert db.session.scalar(select(func.count()).select_from(Compensation)) >= 1


def _post(url: str, token: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)
    except OSError as error:  # the connection itself failed
        return 0, {"detail": str(error)}


def test_postgresql_restart_during_a_burst_of_bookings(database, cluster, tmp_path):
    url, app = database
    clients, per_client = 6, 12
    consultants = [f.consultant().id for _ in range(clients)]
    raw = [tokens.create(f.user("client", f.company("confort"))) for _ in range(clients)]
    db.session.commit()
    server, base = gunicorn(url, tmp_path / "gunicorn.log", RATELIMIT_BOOKING="1000 per minute")
    results: list[tuple[int, dict]] = []
    days = working_days(3, after=5)  # two days of the burst, one for the booking after the recovery

    def burst(index: int) -> None:
        for n in range(per_client):  # distinct slots per client and consultant: every refusal is a fault
            day = days[n // 6]
            start = datetime.combine(day, clock((9, 10, 11, 14, 15, 16)[n % 6]), PARIS)
            results.append(
                _post(
                    f"{base}/api/v1/bookings",
                    raw[index],
                    {"service": "erplib", "start": start.isoformat(), "consultant_id": consultants[index]},
                )
            )
            time.sleep(0.05)

    try:
        threads = [threading.Thread(target=burst, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(0.4)
        cluster.restart()
        for thread in threads:
            thread.join()
        statuses = [status for status, _ in results]
        assert len(statuses) == clients * per_client
        assert set(statuses) <= {201, 503}, [b for s, b in results if s not in (201, 503)][
            :3
        ]  # refused during the outage, never a 500
        assert 503 in statuses and 201 in statuses  # the restart fell inside the burst
        print(f"burst: {statuses.count(201)} booked, {statuses.count(503)} refused during the restart")
        # recovered without restarting gunicorn
        day = days[2]
        status, body = _post(
            f"{base}/api/v1/bookings",
            raw[0],
            {
                "service": "erplib",
                "consultant_id": consultants[0],
                "start": datetime.combine(day, clock(15), PARIS).isoformat(),
            },
        )
        assert status == 201, body
    finally:
        server.terminate()
        server.wait(10)
    f.reread()
    created = [body["id"] for status, body in results if status == 201] + [body["id"]]
    for booking_id in created:  # every 201 is a confirmed booking
        assert db.session.get(Booking, booking_id).status == "confirmed"
    confirmed = db.session.scalars(select(Booking.id).where(Booking.status == "confirmed")).all()
    lines = set(db.session.scalars(select(LedgerEntry.booking_id)))
    assert set(confirmed) <= lines  # no booking without its ledger line
