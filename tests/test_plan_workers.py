"""Reshuffles computed by the scheduler's worker processes, with real processes: gunicorn, `flask scheduler`
and its workers on a real PostgreSQL, `flask serve` (make run) on SQLite. The web request only queues the
plan; two planners' plans run at once; a worker or a whole scheduler killed with -9 mid-run leaves the plan
to be computed again, never `running` for ever."""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from booking import create_app
from booking.extensions import db
from booking.models import PriorityRequest, ReshufflePlan, User
from booking.pgcluster import free_port
from booking.services import priority
from calendars.worktime import PARIS

from . import factories as f
from .conftest import _pg_url
from .dates import contract_start, working_days
from .servers import children, gunicorn, wait_for
from .test_faults_pg import Browser

FLASK = os.path.join(os.path.dirname(sys.executable), "flask")
ROOT = Path(__file__).resolve().parent.parent
SOLVER_SECONDS = 4  # each plan's CP-SAT time in the scheduler's workers


@pytest.fixture
def pg(pg_cluster, pg_template):
    """A fresh migrated PostgreSQL database and the app bound to it, in an app context."""
    url = _pg_url(pg_cluster, pg_template)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RESHUFFLE_SECONDS": SOLVER_SECONDS})
    with app.app_context():
        yield url
        db.session.remove()
        db.engine.dispose()


def _world(requesters: int = 1) -> dict:
    """An expert booked every morning of the coming weeks (long ago), a spare consultant, Sérénité clients
    asking for a day of priority consulting each, and as many planners."""
    now = datetime.now(UTC)
    patient_company = f.company("confort")
    patient = f.user("client", patient_company)
    expert = f.consultant(skills=("migration",))
    f.consultant(skills=("comptabilite",))
    for day in working_days(13, after=1):
        f.booking(
            expert,
            datetime.combine(day, clock(9), PARIS),
            company=patient_company,
            contact=patient,
            booked_at=now - timedelta(days=30),
        )
    requesters_ = [f.user("client", f.company("serenite", contract_start=contract_start())) for _ in range(requesters)]
    planners = [f.user("planner") for _ in range(requesters)]
    db.session.commit()
    requests = [
        priority.request_consulting(r, "migration", 1, "days", f"Migration urgente {n}", now)
        for n, r in enumerate(requesters_)
    ]
    return {"requests": [r.id for r in requests], "planners": [p.email for p in planners]}


def _scheduler(url: str, log: Path, **env) -> subprocess.Popen:
    """`flask scheduler` (production's process) in a process group of its own, with its workers."""
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "plan-workers",
        "RESHUFFLE_SECONDS": str(SOLVER_SECONDS),
        **env,
    }
    return subprocess.Popen(
        [FLASK, "--app", "wsgi", "scheduler"],
        env=environment,
        cwd=ROOT,
        start_new_session=True,
        stdout=open(log, "a"),
        stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def _plans(ids) -> list[ReshufflePlan]:
    f.reread()
    return [db.session.get(ReshufflePlan, plan_id) for plan_id in ids]


def _until(condition, seconds: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} within {seconds} s" + (f":\n{log.read_text()[-3000:]}" if log else ""))


def _pid(plan: ReshufflePlan) -> int:
    return int(plan.worker.rsplit(":", 1)[1])


@contextmanager
def _instances_held(url: str):
    """Building a plan's instance reads imported busy time: held in ACCESS EXCLUSIVE mode here, a worker that
    claimed a plan waits in the middle of its computation, beating, for as long as the test needs (CP-SAT alone
    may prove a small plan optimal before a test could catch it running)."""
    with psycopg.connect(url.replace("+psycopg", "")) as holder:
        holder.execute("LOCK TABLE external_busy IN ACCESS EXCLUSIVE MODE")
        yield
        holder.rollback()


def _computing(plan_ids, log: Path) -> list[ReshufflePlan]:
    """The plans once each is claimed by a worker that has beaten since: mid-computation, alive."""

    def caught():
        plans = _plans(plan_ids)
        return plans if all(p.status == "running" and p.heartbeat_at > p.started_at for p in plans) else None

    return _until(caught, 120, "the plans claimed, their workers beating", log)


def test_two_planners_start_reshuffles_at_once_both_queued_then_computed_side_by_side(pg, tmp_path):
    world = _world(requesters=2)
    server, base = gunicorn(pg, tmp_path / "gunicorn.log", workers=2, RESHUFFLE_SECONDS=str(SOLVER_SECONDS))
    scheduler, workers = None, set()
    try:
        planners = [Browser(base) for _ in world["planners"]]
        for person, email in zip(planners, world["planners"], strict=True):
            assert person.post("/login", "/login", {"email": email, "password": f.PASSWORD}) == 200
        pages = [f"/planification/priorite/{request_id}" for request_id in world["requests"]]
        answers, together = {}, threading.Barrier(2)

        def accept(n: int) -> None:
            together.wait()
            started = time.monotonic()
            status = planners[n].post(f"{pages[n]}/decision", pages[n], {"decision": "accept"})
            answers[n] = (status, time.monotonic() - started)

        threads = [threading.Thread(target=accept, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        # the web answered (and showed the request's page) without computing anything: nothing computes here
        assert [answers[n][0] for n in range(2)] == [200, 200]
        assert all(seconds < SOLVER_SECONDS for _, seconds in answers.values()), answers
        plans = db.session.scalars(select(ReshufflePlan).order_by(ReshufflePlan.id)).all()
        assert [(p.status, p.attempts, p.progress) for p in plans] == [("queued", 0, {})] * 2
        page = html.unescape(planners[1].get(pages[1]))
        assert "En attente d'un calculateur" in page and "plan_progress.js" in page
        states = [json.loads(planners[n].get(f"/planification/plans/{plans[n].id}/etat")) for n in range(2)]
        assert [(s["status"], s["ahead"], s["done"]) for s in states] == [("queued", 0, False), ("queued", 1, False)]
        time.sleep(2)
        assert [p.status for p in _plans(p.id for p in plans)] == ["queued", "queued"]  # still: no web thread

        log = tmp_path / "scheduler.log"
        with _instances_held(pg):
            scheduler = _scheduler(pg, log, RESHUFFLE_WORKERS="2")
            both = _computing([p.id for p in plans], log)  # at the same time, each in its own process
            workers = {_pid(p) for p in both}
            assert len(workers) == 2 and workers <= set(children(scheduler.pid))
            running = json.loads(planners[0].get(f"/planification/plans/{plans[0].id}/etat"))
            assert (running["status"], running["limit"], running["done"]) == ("running", SOLVER_SECONDS, False)
            assert "écoulées sur" in running["text"]

        def finished():
            found = _plans(p.id for p in plans)
            return found if all(p.status not in ("queued", "running") for p in found) else None

        done = _until(finished, 120, "both plans computed", log)
        assert [(p.status, p.attempts) for p in done] == [("ready", 1), ("ready", 1)], [p.error for p in done]
        # side by side, in two processes of the scheduler (neither the scheduler itself nor a web worker)
        assert max(p.started_at for p in done) < min(p.finished_at for p in done)
        assert {_pid(p) for p in done} == workers
        ended = json.loads(planners[0].get(f"/planification/plans/{plans[0].id}/etat"))
        assert (ended["status"], ended["done"]) == ("ready", True)
        assert "Plan proposé" in planners[0].get(pages[0])
    finally:
        if scheduler:
            _stop(scheduler)
        server.terminate()
        server.wait(10)
    _until(lambda: not [pid for pid in workers if _alive(pid)], 30, "the workers stopped with their scheduler")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_worker_killed_mid_run_is_replaced_and_the_plan_computed_again(pg, tmp_path):
    world = _world()
    planner = db.session.scalar(select(User).where(User.email == world["planners"][0]))
    request = db.session.get(PriorityRequest, world["requests"][0])
    plan_id = priority.decide(planner, request, True, datetime.now(UTC)).id
    log = tmp_path / "scheduler.log"
    scheduler = _scheduler(pg, log, RESHUFFLE_WORKERS="1")
    try:
        with _instances_held(pg):
            (plan,) = _computing([plan_id], log)
            victim = _pid(plan)
            assert victim in children(scheduler.pid)
            os.kill(victim, signal.SIGKILL)
        (plan,) = _until(
            lambda: [p for p in _plans([plan_id]) if p.status not in ("queued", "running")],
            120,
            "the plan computed again",
            log,
        )
        assert (plan.status, plan.attempts) == ("ready", 2), plan.error
        assert _pid(plan) != victim and _pid(plan) in children(scheduler.pid)  # its replacement
        assert "interrupted" in log.read_text() and "code -9" in log.read_text()
    finally:
        _stop(scheduler)


def test_a_scheduler_killed_with_its_workers_leaves_the_plan_to_another(pg, tmp_path):
    world = _world()
    planner = db.session.scalar(select(User).where(User.email == world["planners"][0]))
    request = db.session.get(PriorityRequest, world["requests"][0])
    plan_id = priority.decide(planner, request, True, datetime.now(UTC)).id
    log = tmp_path / "scheduler.log"
    first = _scheduler(pg, log, RESHUFFLE_WORKERS="1")
    try:
        with _instances_held(pg):
            _computing([plan_id], log)
            os.killpg(first.pid, signal.SIGKILL)  # the host goes: scheduler, worker and all
            first.wait(10)
    finally:
        _stop(first)
    (plan,) = _plans([plan_id])
    assert plan.status == "running"  # as the dead worker left it: only another scheduler can tell
    second = _scheduler(pg, log, RESHUFFLE_WORKERS="1", RESHUFFLE_STALE_SECONDS="5")
    try:
        (plan,) = _until(
            lambda: [p for p in _plans([plan_id]) if p.status not in ("queued", "running")],
            120,
            "the plan reclaimed and computed",
            log,
        )
        assert (plan.status, plan.attempts) == ("ready", 2), plan.error
        assert _pid(plan) in children(second.pid)
    finally:
        _stop(second)


def test_make_run_s_server_computes_plans_itself(sqlite_template, tmp_path):
    """`make run` is one process (`flask serve`, SQLite): its scheduler and workers run beside the pages."""
    path = tmp_path / "planner.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{path}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RESHUFFLE_SECONDS": SOLVER_SECONDS})
    port, log = free_port(), tmp_path / "serve.log"
    with app.app_context():
        world = _world()
        planner = db.session.scalar(select(User).where(User.email == world["planners"][0]))
        request = db.session.get(PriorityRequest, world["requests"][0])
        plan_id = priority.decide(planner, request, True, datetime.now(UTC)).id
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "make-run", "RESHUFFLE_SECONDS": str(SOLVER_SECONDS)}
        server = subprocess.Popen(
            [FLASK, "--app", "wsgi", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            start_new_session=True,
            stdout=open(log, "w"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", server, log)
            (plan,) = _until(
                lambda: [p for p in _plans([plan_id]) if p.status not in ("queued", "running")],
                120,
                "the plan computed by make run's server",
                log,
            )
            assert plan.status == "ready", plan.error
            assert _pid(plan) in children(server.pid)
        finally:
            _stop(server)
        db.session.remove()
        db.engine.dispose()
