"""Faults on the production layout, on a PostgreSQL cluster of their own (it gets restarted):
- `make serve`'s runner starts gunicorn's 4 workers and the scheduler, and stops them all;
- kill -9 of the process applying a reshuffle plan, caught in the middle of its transaction;
- a PostgreSQL restart during a burst of bookings through gunicorn.
Afterwards: no partial plan, no lost confirmed booking, no booking without its ledger line, and the
app serves again without being restarted."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import date, datetime, time as clock, timedelta, timezone

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from booking import create_app
from booking.extensions import db
from booking.models import Booking, Compensation, LedgerEntry, PriorityRequest, ReshufflePlan
from booking.pgcluster import Cluster, free_port
from booking.services import priority, tokens
from calendars.worktime import PARIS, WorkCalendar

from . import factories as f
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


def _working_day(after: int) -> date:
    calendar, day = WorkCalendar(), date.today() + timedelta(days=after)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def test_serve_runs_four_workers_and_the_scheduler_and_stops_them(database, tmp_path):
    url, _ = database
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "DATABASE_URL": url, "BIND": f"127.0.0.1:{port}", "SECRET_KEY": "serve-test"}
    runner = subprocess.Popen([sys.executable, "-m", "booking.serve"], env=env, stdout=open(log, "w"),
                              stderr=subprocess.STDOUT)
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
    assert not [pid for pid in processes if os.path.exists(f"/proc/{pid}") and
                open(f"/proc/{pid}/stat").read().split()[2] != "Z"]


def _ready_plan(app) -> tuple[int, dict]:
    """A priority request whose plan moves several bookings; their positions before applying."""
    now = datetime.now(timezone.utc)
    requester = f.user("client", f.company("serenite", contract_start=date(2026, 1, 1)))
    patient_company = f.company("confort")
    patient = f.user("client", patient_company)
    expert = f.consultant(skills=("migration",))
    f.consultant(skills=("comptabilite",))
    planner = f.user("planner")
    for offset in range(1, 20):
        day = date.today() + timedelta(days=offset)
        start = datetime.combine(day, clock(9), PARIS)
        if WorkCalendar().is_working_day(day):
            f.booking(expert, start, company=patient_company, contact=patient, booked_at=now - timedelta(days=30))
    db.session.commit()
    request = priority.request_consulting(requester, "migration", 1, "days", "Migration urgente", now)
    plan = priority.decide(planner, request, True, now)
    deadline = time.monotonic() + 60
    while plan.status == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        db.session.rollback()
        plan = db.session.get(ReshufflePlan, plan.id)
    assert plan.status == "ready", plan.error
    assert len(plan.plan["moves"]) >= 1
    before = {b.id: (b.consultant_id, b.start_at, b.status, b.sequence) for b in db.session.scalars(select(Booking))}
    return plan.id, before


APPLY = """
import sys
from datetime import datetime, timezone
from booking import create_app
from booking.extensions import db
from booking.models import ReshufflePlan, User
from booking.services import priority
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1]})
with app.app_context():
    plan = db.session.get(ReshufflePlan, int(sys.argv[2]))
    planner = db.session.scalar(db.select(User).where(User.role == "planner"))
    priority.apply(planner, plan, datetime.now(timezone.utc))
    print("applied")
"""


def test_kill_9_while_applying_a_plan_leaves_no_partial_plan(database):
    url, app = database
    plan_id, before = _ready_plan(app)
    request_id = db.session.get(ReshufflePlan, plan_id).request_id
    raw = url.replace("+psycopg", "")
    with psycopg.connect(raw) as blocker:
        # hold the request's row: the apply writes its bookings, then waits here, inside its transaction
        blocker.execute("SELECT id FROM priority_requests WHERE id = %s FOR UPDATE", (request_id,))
        worker = subprocess.Popen([sys.executable, "-c", APPLY, url, str(plan_id)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        with psycopg.connect(raw, autocommit=True) as watcher:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                waiting = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                          "AND query ILIKE 'UPDATE priority_requests%%'").fetchone()[0]
                if waiting:
                    break
                assert worker.poll() is None, worker.stdout.read().decode()
                time.sleep(0.05)
            assert waiting, "the apply never reached the locked row"
            moved_in_flight = watcher.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                                              "WHERE a.wait_event_type = 'Lock' AND l.relation = "
                                              "'bookings'::regclass AND l.mode = 'RowExclusiveLock'").fetchone()[0]
            assert moved_in_flight >= 1  # it had written bookings when it died
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        blocker.rollback()
    db.session.rollback()
    after = {b.id: (b.consultant_id, b.start_at, b.status, b.sequence) for b in db.session.scalars(select(Booking))}
    assert after == before  # nothing moved, nothing created
    assert db.session.get(ReshufflePlan, plan_id).status == "ready"
    assert db.session.get(PriorityRequest, request_id).status != "applied"
    assert db.session.scalar(select(func.count()).select_from(Compensation)) == 0
    # the same plan applies cleanly afterwards: no restart, no cleanup needed
    done = subprocess.run([sys.executable, "-c", APPLY, url, str(plan_id)], capture_output=True, text=True, timeout=120)
    assert "applied" in done.stdout, done.stderr[-2000:]
    db.session.rollback()
    assert db.session.get(ReshufflePlan, plan_id).status == "applied"
    assert db.session.scalar(select(func.count()).select_from(Compensation)) >= 1


def _post(url: str, token: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
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
    first = _working_day(5)

    def burst(index: int) -> None:
        for n in range(per_client):  # distinct slots per client and consultant: every refusal is a fault
            day = first + timedelta(days=7 * (n // 6))
            start = datetime.combine(day, clock((9, 10, 11, 14, 15, 16)[n % 6]), PARIS)
            results.append(_post(f"{base}/api/v1/bookings", raw[index],
                                 {"service": "erplib", "start": start.isoformat(), "consultant_id": consultants[index]}))
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
        assert set(statuses) <= {201, 503}, [b for s, b in results if s not in (201, 503)][:3]  # refused during the outage, never a 500
        assert 503 in statuses and 201 in statuses  # the restart fell inside the burst
        print(f"burst: {statuses.count(201)} booked, {statuses.count(503)} refused during the restart")
        # recovered without restarting gunicorn
        day = first + timedelta(days=21)
        status, body = _post(f"{base}/api/v1/bookings", raw[0], {"service": "erplib", "consultant_id": consultants[0],
                                                                   "start": datetime.combine(day, clock(15), PARIS).isoformat()})
        assert status == 201, body
    finally:
        server.terminate()
        server.wait(10)
    db.session.rollback()
    created = [body["id"] for status, body in results if status == 201] + [body["id"]]
    for booking_id in created:  # every 201 is a confirmed booking
        assert db.session.get(Booking, booking_id).status == "confirmed"
    confirmed = db.session.scalars(select(Booking.id).where(Booking.status == "confirmed")).all()
    lines = set(db.session.scalars(select(LedgerEntry.booking_id)))
    assert set(confirmed) <= lines  # no booking without its ledger line
