"""locking: a lock not granted within the timeout is a 503 with Retry-After (never a hung worker),
and locked() refuses unsaved changes instead of committing them unseen."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import time_machine
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Booking, Company
from booking.services import bookings, locking, tokens

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
START = "2026-12-08T10:00:00+01:00"  # the next Tuesday: past the notice, before the cut-off
TIMEOUT = 1  # seconds, LOCK_TIMEOUT_SECONDS in these tests
SAFETY = 20  # seconds after which the blocker lets go anyway: code that waits forever then fails, not hangs


@pytest.fixture
def world(any_app):
    any_app.config["LOCK_TIMEOUT_SECONDS"] = TIMEOUT
    with time_machine.travel(NOW, tick=False):
        company = f.company("confort")
        consultant = f.consultant()
        client = f.user("client", company)
        key = tokens.create(client)
        db.session.commit()
        # the token's use is recorded once a minute: now, before any blocker
        assert any_app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        ids = {"company_id": company.id, "consultant_id": consultant.id, "email": client.email}
        db.session.remove()
        db.engine.dispose()  # SQLite: new connections take the busy timeout from LOCK_TIMEOUT_SECONDS
        yield {"app": any_app, "key": key, **ids}


class Blocker:
    """Another connection that holds a lock (PostgreSQL: advisory or row lock; SQLite: the write lock)
    and lets go after SAFETY seconds at the latest."""

    def __init__(self, app):
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
        else:
            self.conn = psycopg.connect(url.replace("+psycopg", ""))
        self.timer = threading.Timer(SAFETY, self.release)

    def hold(self, pg_statement: str, *params) -> Blocker:
        self.conn.execute("BEGIN IMMEDIATE") if self.sqlite else self.conn.execute(pg_statement, params)
        self.timer.start()
        return self

    def release(self) -> None:
        self.timer.cancel()
        try:
            self.conn.rollback()
        except Exception:  # already released by the timer
            pass

    def close(self) -> None:
        self.release()
        self.conn.close()


def _post(client, world, path="/api/v1/bookings", **headers):
    return client.post(
        path,
        json={"service": "erplib", "start": START, "consultant_id": world["consultant_id"]},
        headers={"Authorization": f"Bearer {world['key']}", **headers},
    )


def _bookings() -> int:
    return db.session.scalar(select(func.count()).select_from(Booking))


def test_a_booking_behind_a_held_lock_is_a_503_with_retry_after_and_its_key_is_free_again(world):
    app, client = world["app"], world["app"].test_client()
    company_lock = locking.company(world["company_id"])
    blocker = Blocker(app).hold("SELECT pg_advisory_xact_lock(%s, %s)", *company_lock)
    try:
        with time_machine.travel(NOW, tick=False):
            started = time.monotonic()
            refused = _post(client, world, **{"Idempotency-Key": "k-503"})
            waited = time.monotonic() - started
    finally:
        blocker.close()
    assert refused.status_code == 503, refused.get_data(as_text=True)
    assert waited < TIMEOUT + 3  # not the blocker's SAFETY seconds
    # (the booking rate limit may stretch Retry-After to its own window's end, never shorten it)
    assert refused.mimetype == "application/problem+json" and int(refused.headers["Retry-After"]) >= TIMEOUT
    assert "réessayez dans quelques secondes" in refused.json["detail"]
    assert _bookings() == 0
    with time_machine.travel(NOW, tick=False):  # the same key at once: done, not "still in progress"
        again = _post(client, world, **{"Idempotency-Key": "k-503"})
    assert again.status_code == 201 and _bookings() == 1, again.json


def test_a_change_behind_a_row_lock_is_a_503(pg_app):
    pg_app.config["LOCK_TIMEOUT_SECONDS"] = TIMEOUT
    with time_machine.travel(NOW, tick=False):
        company = f.company("confort")
        client_user = f.user("client", company)
        booking = f.booking(
            f.consultant(), datetime(2026, 12, 8, 9, 0, tzinfo=UTC), company=company, contact=client_user
        )
        key, booking_id = tokens.create(client_user), booking.id
        db.session.commit()
        blocker = Blocker(pg_app).hold("SELECT id FROM bookings WHERE id = %s FOR UPDATE", booking_id)
        try:
            started = time.monotonic()
            refused = pg_app.test_client().post(
                f"/api/v1/bookings/{booking_id}/cancel", headers={"Authorization": f"Bearer {key}"}
            )
            waited = time.monotonic() - started
        finally:
            blocker.close()
    assert refused.status_code == 503 and refused.headers["Retry-After"] == str(TIMEOUT) and waited < TIMEOUT + 3
    f.reread()
    assert db.session.get(Booking, booking_id).status == "confirmed"


def test_a_page_behind_a_held_lock_is_a_clear_503_page(world):
    app, client = world["app"], world["app"].test_client()
    with time_machine.travel(NOW, tick=False):
        assert client.post("/login", data={"email": world["email"], "password": f.PASSWORD}).status_code == 302
        blocker = Blocker(app).hold("SELECT pg_advisory_xact_lock(%s, %s)", *locking.company(world["company_id"]))
        try:
            page = client.post("/portail/reserver/erplib", data={"start": START})
        finally:
            blocker.close()
    assert page.status_code == 503 and int(page.headers["Retry-After"]) >= TIMEOUT
    text = page.get_data(as_text=True)
    assert "Service momentanément indisponible" in text and "rien n&#39;a été enregistré" in text
    assert _bookings() == 0


def test_locked_refuses_unsaved_changes_rather_than_commit_them(app):
    company = f.company("confort", name="Avant")
    db.session.commit()
    company_id = company.id
    company.name = "Après"
    with pytest.raises(locking.PendingChanges):
        with locking.locked([]):
            pass
    db.session.rollback()
    db.session.add(
        Company(
            name="Nouvelle", tier="standard", contract_start=NOW.date(), erp_version="12.1", environments=["production"]
        )
    )
    with pytest.raises(locking.PendingChanges):
        with locking.locked([locking.company(company_id)]):
            pass
    db.session.rollback()
    assert db.session.scalars(select(Company.name)).all() == ["Avant"]


@pytest.mark.parametrize("key", [None, "k-expired"])
def test_an_expired_hold_is_released_and_refused_through_the_api(any_app, key):
    """The refusal follows the block that wrote it: the hold is expired in the database and the answer is a
    409, with or without an idempotency key (whose hold on the commit must not roll the expiry back)."""
    with time_machine.travel(NOW, tick=False):
        company = f.company("confort")
        consultant = f.consultant()
        client_user = f.user("client", company)
        token = tokens.create(client_user)
        db.session.commit()
        held = bookings.book(
            client_user, "erplib", datetime.fromisoformat(START), NOW, consultant_id=consultant.id, hold=True
        )
        held_id = held.id
        db.session.remove()
    headers = {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        refused = any_app.test_client().post(f"/api/v1/bookings/{held_id}/confirm", headers=headers)
    assert refused.status_code == 409 and refused.json["code"] == "hold_expired", refused.json
    assert (
        refused.json["detail"]
        == "La réservation provisoire a expiré : le créneau a été libéré, choisissez-en un autre."
    )
    f.reread()
    assert db.session.get_one(Booking, held_id).status == "expired"


def _company_named(name: str) -> Company:
    return Company(
        name=name, tier="standard", contract_start=NOW.date(), erp_version="12.1", environments=["production"]
    )


def _names() -> list[str]:
    f.reread()
    return sorted(db.session.scalars(select(Company.name)))


def test_a_block_that_commits_inside_is_refused_and_writes_nothing(any_app):
    """The block owns no commit: locked() refuses one before it writes, and the whole block rolls back."""
    with pytest.raises(locking.LockContractError, match="commit inside a locked"):
        with locking.locked([locking.company(1)]):
            db.session.add(_company_named("Écrite puis validée"))
            db.session.commit()
    with pytest.raises(locking.LockContractError, match="ended its own transaction"):
        with locking.locked([]):
            db.session.add(_company_named("Écrite puis annulée"))
            db.session.flush()
            db.session.rollback()
    with pytest.raises(locking.LockContractError, match="inside a locked"):
        with locking.locked([locking.company(1)]):
            db.session.add(_company_named("Bloc extérieur"))
            db.session.flush()
            with locking.locked([locking.company(2)]):
                pass
    assert _names() == []
    with locking.locked([]):  # the session is usable again: the next block commits as usual
        db.session.add(_company_named("Après"))
    assert _names() == ["Après"]


def test_an_error_inside_a_block_rolls_back_everything_it_wrote(any_app):
    with locking.locked([]):
        db.session.add(_company_named("Avant"))
    with pytest.raises(RuntimeError, match="after the writes"):
        with locking.locked([locking.company(1)]):
            db.session.add(_company_named("Première"))
            db.session.flush()
            db.session.get_one(Company, db.session.scalar(select(Company.id).where(Company.name == "Avant"))).name = "X"
            db.session.flush()
            db.session.add(_company_named("Seconde"))
            raise RuntimeError("after the writes")
    assert _names() == ["Avant"]


def test_a_block_that_records_then_refuses_returns_its_outcome(any_app):
    """The pattern the contract asks for: the block writes and ends normally, the caller refuses after."""

    def record() -> str:
        with locking.locked([locking.company(1)]):
            db.session.add(_company_named("Notée"))
            return "refused"

    assert record() == "refused"
    assert _names() == ["Notée"]
