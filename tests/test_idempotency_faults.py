"""Idempotency keys under real faults: kill -9 of the gunicorn worker and a PostgreSQL restart while a
booking's answer is being written, a crash of the SQLite app process mid-request or just before its
answer leaves. Afterwards the same POST with the same key completes the booking or replays its answer
(the same id) — never a key stuck "in progress", never a booking whose id the client cannot learn."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from datetime import time as clock

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from booking import create_app
from booking.extensions import db
from booking.models import Booking, IdempotentRequest
from booking.pgcluster import Cluster
from booking.services import tokens
from calendars.worktime import PARIS

from . import factories as f
from .dates import working_day
from .servers import app_process, children, gunicorn

LEASE = "2"  # seconds: IDEMPOTENCY_LEASE_SECONDS of the servers under test


@pytest.fixture(scope="module")
def cluster():
    """A cluster of this module's own: one test restarts it."""
    own = Cluster().start()
    yield own
    own.stop()


@pytest.fixture
def pg_database(cluster, request):
    """A fresh migrated database on the module's cluster, and the app bound to it."""
    name = f"idem_{request.node.name[-20:]}_{os.getpid()}"
    cluster.create_database(name)
    app = create_app({"SQLALCHEMY_DATABASE_URI": cluster.url(name)})
    with app.app_context():
        upgrade()
        yield cluster.url(name), app
        db.session.remove()
        db.engine.dispose()


def _world() -> dict:
    """A Confort client (no hour bank: nothing else to lock) and a consultant; a booking request for them."""
    company = f.company("confort")
    consultant = f.consultant()
    token = tokens.create(f.user("client", company))
    start = datetime.combine(working_day(), clock(10), PARIS)  # past the notice, inside the horizon
    world = {
        "company_id": company.id,
        "token": token,
        "body": {"service": "erplib", "start": start.isoformat(), "consultant_id": consultant.id},
    }
    db.session.commit()  # and no transaction left open, that the restart would cut
    return world


def _post(base: str, world: dict, key: str) -> tuple[int, dict, dict]:
    """POST the booking with this Idempotency-Key: status (0: the connection was cut), headers, JSON body."""
    request = urllib.request.Request(
        f"{base}/api/v1/bookings",
        data=json.dumps(world["body"]).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {world['token']}",
            "Idempotency-Key": key,
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.load(error)
    except OSError as error:  # the process died under the request
        return 0, {}, {"detail": str(error)}


def _retry_until_answered(base: str, world: dict, key: str, seconds: float = 30) -> tuple[int, dict, dict]:
    """What a client does: the same request again while it is told to wait (409, 503) or cut off."""
    deadline = time.monotonic() + seconds
    while True:
        status, headers, body = _post(base, world, key)
        if status not in (0, 409, 503) or time.monotonic() > deadline:
            return status, headers, body
        time.sleep(0.3)


def _check_one_booking_answered(base: str, world: dict, key: str) -> None:
    status, _, body = _retry_until_answered(base, world, key)
    assert status == 201, body
    status, headers, again = _post(base, world, key)
    assert status == 201 and again == body and headers["Idempotent-Replayed"] == "true"
    f.reread()
    booked = db.session.scalars(select(Booking).where(Booking.company_id == world["company_id"])).all()
    assert [(b.id, b.status) for b in booked] == [(body["id"], "confirmed")]
    saved = db.session.scalar(select(IdempotentRequest).where(IdempotentRequest.key == key))
    assert (saved.status, saved.body["id"]) == (201, body["id"])


def _wait_for_lock(watcher, statement: str) -> int:
    """The backend waiting for a lock while running `statement`."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = watcher.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE %s", (statement + "%",)
        ).fetchone()
        if row:
            return row[0]
        time.sleep(0.02)
    raise AssertionError(f"no backend waited on a lock in {statement!r}")


def _fault_while_the_answer_is_written(url: str, base: str, world: dict, key: str, fault) -> int:
    """Send the booking and catch its request where the booking is written and its answer not yet:
    a test connection holds the key's row, the request waits for it; then `fault()`. Returns the
    status the first request got."""
    raw, answers = url.replace("+psycopg", ""), []
    company_lock, key_lock = psycopg.connect(raw), psycopg.connect(raw)
    try:
        with psycopg.connect(raw, autocommit=True) as watcher:
            # first the booking's row is written and its company's foreign-key check waits: the key is
            # claimed by then, so its row can be held before the request gets to writing its answer
            company_lock.execute("SELECT id FROM companies WHERE id = %s FOR UPDATE", (world["company_id"],))
            sending = threading.Thread(target=lambda: answers.append(_post(base, world, key)))
            sending.start()
            _wait_for_lock(watcher, "INSERT INTO bookings")
            key_lock.execute("SELECT id FROM idempotent_requests WHERE key = %s FOR UPDATE", (key,))
            company_lock.rollback()
            pid = _wait_for_lock(watcher, "UPDATE idempotent_requests")
            written = watcher.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = %s AND relation = "
                "'bookings'::regclass AND mode = 'RowExclusiveLock'",
                (pid,),
            ).fetchone()[0]
            assert written == 1  # the booking is written: only its answer is missing
        fault()
        sending.join(60)
    finally:
        for conn in (company_lock, key_lock):
            try:
                conn.close()
            except psycopg.Error:  # cut by the restart
                pass
    return answers[0][0]


def test_kill_9_of_the_worker_writing_the_answer_then_the_retry_completes_the_booking(pg_database, tmp_path):
    url, _ = pg_database
    world = _world()
    log = tmp_path / "gunicorn.log"
    server, base = gunicorn(url, log, workers=1, IDEMPOTENCY_LEASE_SECONDS=LEASE, LOCK_TIMEOUT_SECONDS="60")
    try:
        (worker,) = children(server.pid)
        first = _fault_while_the_answer_is_written(url, base, world, "k-kill", lambda: os.kill(worker, signal.SIGKILL))
        assert first == 0  # the client never got an answer
        f.reread()
        assert db.session.scalars(select(Booking.id)).all() == []  # the booking died with its answer
        _check_one_booking_answered(base, world, "k-kill")  # on gunicorn's new worker
    finally:
        server.terminate()
        server.wait(10)


def test_postgresql_restart_while_the_answer_is_written_then_the_retry_completes_the_booking(
    pg_database, cluster, tmp_path
):
    url, _ = pg_database
    world = _world()
    server, base = gunicorn(
        url, tmp_path / "gunicorn.log", workers=1, IDEMPOTENCY_LEASE_SECONDS=LEASE, LOCK_TIMEOUT_SECONDS="60"
    )
    try:
        first = _fault_while_the_answer_is_written(url, base, world, "k-restart", cluster.restart)
        # Usually the database goes away under it: "retry in a few seconds". A fast shutdown ends every backend
        # at once, so the test's lock may go first and the request commit in the last instant: then its answer
        # was committed with it. Either way, never a 500, and the retry below finds exactly one booking.
        assert first in (503, 201)
        _check_one_booking_answered(base, world, "k-restart")  # the same gunicorn, not restarted
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def sqlite_url(app):
    """The SQLite file of the `app` fixture, for a server process of its own."""
    db.session.commit()
    return app.config["SQLALCHEMY_DATABASE_URI"]


def test_sqlite_app_killed_while_writing_the_answer_then_the_retry_completes_the_booking(sqlite_url, tmp_path):
    world = _world()
    log = tmp_path / "app.log"
    crashing, base = app_process(sqlite_url, log, CRASH_AT="^UPDATE idempotent_requests SET status")
    try:
        assert _post(base, world, "k-crash")[0] == 0
        assert crashing.wait(10) == -signal.SIGKILL
    finally:
        crashing.kill()
    f.reread()
    assert db.session.scalars(select(Booking.id)).all() == []  # the booking died with its answer
    restarted, base = app_process(sqlite_url, log, IDEMPOTENCY_LEASE_SECONDS=LEASE)
    try:
        _check_one_booking_answered(base, world, "k-crash")
    finally:
        restarted.terminate()
        restarted.wait(10)


def test_sqlite_app_killed_before_its_answer_left_then_the_retry_replays_it(sqlite_url, tmp_path):
    world = _world()
    log = tmp_path / "app.log"
    crashing, base = app_process(sqlite_url, log, CRASH_AFTER_ANSWER="/api/v1/bookings")
    try:
        assert _post(base, world, "k-unsent")[0] == 0
        assert crashing.wait(10) == -signal.SIGKILL
    finally:
        crashing.kill()
    restarted, base = app_process(sqlite_url, log, IDEMPOTENCY_LEASE_SECONDS=LEASE)
    try:
        status, headers, body = _post(base, world, "k-unsent")  # at once: the answer was kept with the booking
        assert status == 201 and headers["Idempotent-Replayed"] == "true", body
        _check_one_booking_answered(base, world, "k-unsent")
    finally:
        restarted.terminate()
        restarted.wait(10)
