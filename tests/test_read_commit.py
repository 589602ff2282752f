"""A request that only read ends its transaction with COMMIT (booking/read_commit.py), so that psycopg keeps the
statements it prepared (it forgets them all at a ROLLBACK); a request that wrote anything, or holds anything to
write, still ends in a rollback."""

from __future__ import annotations

import contextlib
from datetime import date

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from booking.extensions import db
from booking.models import AuditEntry, Company
from booking.services import appends, tokens

from . import factories as f


def test_the_api_token_query_stays_prepared_across_requests_that_only_read(pg_app):
    raw = tokens.create(f.user("client"), "reads")
    db.session.commit()
    db.engine.dispose()  # one connection from here on: every request below runs on it
    client = pg_app.test_client()
    for _ in range(8):  # psycopg prepares a statement the fifth time a connection runs it
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    with db.engine.connect() as connection:
        prepared = connection.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
    assert any("api_tokens.token_hash" in statement for statement in prepared), prepared


@pytest.fixture
def routes(pg_app):
    """Routes that read, then write or leave something to write, and answer without raising."""

    @pg_app.get("/test/update-then-refuse")
    def update_then_refuse():
        db.session.scalar(select(func.count()).select_from(Company))
        db.session.execute(text("UPDATE schedule_versions SET value = value + 1000"))
        return "refused", 409

    @pg_app.get("/test/left-pending")
    def left_pending():
        db.session.scalar(select(func.count()).select_from(Company))
        db.session.add(
            Company(name="Never saved", tier="standard", contract_start=date(2026, 1, 1), erp_version="12.1")
        )
        return "ok"

    @pg_app.get("/test/appended")
    def appended():
        db.session.scalar(select(func.count()).select_from(Company))
        appends.add(AuditEntry.__table__, {"action": "test.never", "object_type": "test", "details": {}})
        return "ok"

    @pg_app.get("/test/set")
    def set_a_setting():
        db.session.execute(text("SET statement_timeout = 4321"))
        return "ok"

    @pg_app.get("/test/lasting-select")
    def lasting_select():
        db.session.scalar(select(func.set_config("statement_timeout", "4321", False)))  # session-wide
        return "ok"

    @pg_app.get("/test/connection-lost")
    def connection_lost():
        backend = db.session.scalar(select(func.pg_backend_pid()))
        with psycopg.connect(db.engine.url.set(drivername="postgresql").render_as_string(False)) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (backend,))
        with contextlib.suppress(OperationalError):  # a view that carries on without the database
            db.session.scalar(select(func.count()).select_from(Company))
        return "carried on"

    db.engine.dispose()  # one connection from here on: the requests and the checks below share it
    return pg_app.test_client()


def _schedule_version() -> int:
    return db.session.scalar(text("SELECT sum(value) FROM schedule_versions"))


def test_a_request_that_wrote_and_answered_a_refusal_is_rolled_back(routes):
    before = _schedule_version()
    assert routes.get("/test/update-then-refuse").status_code == 409
    assert _schedule_version() == before


def test_objects_left_in_the_session_are_not_written(routes):
    assert routes.get("/test/left-pending").status_code == 200
    assert db.session.scalar(select(func.count()).where(Company.name == "Never saved")) == 0


def test_rows_waiting_to_be_appended_are_not_written(routes):
    assert routes.get("/test/appended").status_code == 200
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "test.never")) == 0


@pytest.mark.parametrize("path", ["/test/set", "/test/lasting-select"])
def test_a_setting_changed_by_a_request_does_not_outlive_it(routes, path):
    assert routes.get(path).status_code == 200
    assert db.session.scalar(text("SHOW statement_timeout")) != "4321ms"


def test_a_request_whose_connection_was_lost_still_gets_its_answer(routes):
    response = routes.get("/test/connection-lost")
    assert response.status_code == 200 and response.get_data() == b"carried on"
    assert routes.get("/test/left-pending").status_code == 200  # and the next request too
