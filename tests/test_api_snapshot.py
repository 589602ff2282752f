"""An API request's authentication carries the transaction's snapshot (services.snapshot): the contract
version, whether a webhook subscription is active, the company's contract periods. What it decides must be
what the snapshot's own statement would have decided, and no request reads them again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, text

from booking.extensions import db
from booking.models import ApiToken, ContractPeriod, LedgerEntry, ScheduleVersion, WebhookDelivery
from booking.services import companies, periods, snapshot, tokens
from booking.services import webhook_subscriptions as subs
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday; the clock is frozen there
CHANGE = date(2026, 12, 14)  # a Monday: Sérénité becomes Confort


def _token(user, used: bool) -> str:
    """A token; `used`: used a moment ago, so that authenticating does not commit its last use first."""
    raw = tokens.create(user, "erp")
    _used(raw, NOW if used else None)
    return raw


def _used(raw: str, when: datetime | None) -> None:
    db.session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.digest(raw))).last_used_at = when
    db.session.commit()


def _book(client, raw: str, start: datetime, **extra):
    return client.post(
        "/api/v1/bookings",
        headers={"Authorization": f"Bearer {raw}"},
        json={"service": "erplib", "start": start.isoformat(), **extra},
    )


@pytest.mark.parametrize("used", [True, False], ids=["snapshot-with-the-user", "snapshot-of-its-own"])
def test_a_booking_after_a_planned_change_follows_the_new_tier_through_the_api(any_app, used):
    with time_machine.travel(NOW, tick=False):
        admin, company, contact = f.client_with_consultant("serenite")
        companies.change_tier(admin, company, "confort", CHANGE, NOW)
        db.session.commit()
        raw, client = _token(contact, used), any_app.test_client()
        before = _book(client, raw, datetime(2026, 12, 10, 10, tzinfo=PARIS))
        _used(raw, NOW if used else None)  # each request on the same path
        after = _book(client, raw, datetime(2026, 12, 15, 10, tzinfo=PARIS))
        assert before.status_code == after.status_code == 201, (before.json, after.json)
        assert before.json["cost"]["basis"] == "hour_bank" and after.json["cost"]["billable_minutes"] == 45
        _used(raw, NOW if used else None)
        install = client.post(  # Sérénité only: no longer after the change
            "/api/v1/bookings",
            headers={"Authorization": f"Bearer {raw}"},
            json={"service": "major_install", "start": datetime(2026, 12, 16, 9, tzinfo=PARIS).isoformat()},
        )
        assert install.status_code == 403 and install.json["code"] == "not_entitled"
        f.reread()
        rows = {
            r.booking_id: (r.minutes, r.billable_minutes)
            for r in db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "reserve"))
        }
        assert rows == {before.json["id"]: (-45, 0), after.json["id"]: (0, 45)}


def test_a_booking_reads_neither_the_contract_nor_the_subscriptions_again(pg_app):
    """Beside the authentication, no statement of an API booking reads what the snapshot holds."""
    with time_machine.travel(NOW, tick=False):
        company = f.company("confort")
        raw = _token(f.user("client", company), used=True)
        f.consultant()
        db.session.commit()
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        response = _book(pg_app.test_client(), raw, datetime(2026, 12, 10, 10, tzinfo=PARIS))
        assert response.status_code == 201, response.json
    readers = [s for s in statements if any(t in s for t in ("contract_versions", "webhook_subscriptions"))]
    assert len(readers) == 1 and "api_tokens" in readers[0], readers
    assert not any(s.lstrip().startswith("SELECT contract_periods") for s in statements)


@pytest.mark.parametrize(
    "active, events, queued",
    [(True, ["booking.created"], 1), (False, ["booking.created"], 0), (True, ["booking.cancelled"], 0)],
)
def test_an_active_subscription_gets_the_event_when_the_snapshot_came_with_the_user(any_app, active, events, queued):
    with time_machine.travel(NOW, tick=False):
        any_app.config["WEBHOOK_ALLOW_LOOPBACK"] = True
        company = f.company("confort")
        contact, admin = f.user("client", company), f.user("admin")
        f.consultant()
        subscription, _ = subs.create(admin, "http://127.0.0.1:9/hooks", events)
        subscription.active = active
        raw = _token(contact, used=True)
        response = _book(any_app.test_client(), raw, datetime(2026, 12, 10, 10, tzinfo=PARIS))
        assert response.status_code == 201, response.json
        f.reread()
        assert len(db.session.scalars(select(WebhookDelivery)).all()) == queued


def test_the_token_read_carries_the_periods_from_today_on_and_earlier_days_are_read_apart(any_app):
    """A company's history of tier changes does not multiply the authentication's rows: the period in force
    today and those planned come with the user; a day before them is read by the snapshot's own query."""
    company = f.company("standard")
    raw = _token(f.user("client", company), used=True)
    history = [(date(2020 + n, 1, 1), tier) for n, tier in enumerate(["standard", "confort", "serenite"] * 2)]
    planned = [(date(2027, 1, 4), "confort")]
    for starts_on, tier in [*history, *planned]:
        db.session.add(ContractPeriod(company_id=company.id, starts_on=starts_on, tier=tier))
    db.session.commit()
    tokens.authenticate(raw, NOW)
    known_from, carried = snapshot.read().periods[company.id]
    assert known_from == date(2025, 1, 1) and carried == [(date(2025, 1, 1), "serenite"), *planned]
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert periods.tier_on(company, date(2026, 12, 10)) == "serenite"
        assert periods.tier_on(company, date(2027, 1, 4)) == "confort"
        assert statements == []  # from what came with the user
        assert periods.tier_on(company, date(2024, 6, 1)) == "confort"  # before them: its own query
        assert len(statements) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    starts=st.lists(st.integers(0, 400), max_size=5, unique=True),
    tiers=st.lists(st.sampled_from(["standard", "confort", "serenite"]), min_size=5, max_size=5),
    days=st.lists(st.integers(-10, 420), min_size=1, max_size=4),
)
def test_the_tier_from_the_periods_read_with_the_user_is_the_tier_read_alone(app, starts, tiers, days):
    company = f.company("standard")
    contact = f.user("client", company)
    raw = tokens.create(contact)
    db.session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.digest(raw))).last_used_at = NOW
    base = date(2026, 1, 1)
    for offset, tier in zip(starts, tiers, strict=False):
        db.session.add(ContractPeriod(company_id=company.id, starts_on=base + timedelta(days=offset), tier=tier))
    db.session.flush()
    alone = [periods.tier_on(company, base + timedelta(days=d)) for d in days]
    db.session.info.pop(snapshot._KEY, None)  # forget it: the next comes with the user
    tokens.authenticate(raw, NOW)
    assert company.id in snapshot.read().periods
    assert [periods.tier_on(company, base + timedelta(days=d)) for d in days] == alone
    db.session.rollback()


def test_an_availability_request_reads_the_schedules_version_with_the_token_only(pg_app):
    with time_machine.travel(NOW, tick=False):
        raw = _token(f.user("client", f.company("confort")), used=True)
        consultant = f.consultant()
        db.session.commit()
        path = "/api/v1/availability?service=erplib&start=2026-12-10&end=2026-12-10"
        client = pg_app.test_client()

        def starts():
            statements.clear()
            response = client.get(path, headers={"Authorization": f"Bearer {raw}"})
            assert response.status_code == 200, response.json
            readers = [s for s in statements if "schedule_versions" in s]
            assert len(readers) == 1 and "api_tokens" in readers[0], readers
            return [slot["start"] for day in response.json["days"] for slot in day["slots"]]

        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        before = starts()
        f.booking(consultant, datetime.fromisoformat(before[0]))
        db.session.commit()
        after = starts()  # the version read with the token is the one the booking bumped
        assert before[0] not in after and set(after) < set(before)


def test_the_schedules_version_carried_with_the_user_is_forgotten_once_the_transaction_writes(any_app):
    with time_machine.travel(NOW, tick=False):
        consultant, raw = f.consultant(), _token(f.user("client", f.company("confort")), used=True)
        db.session.commit()
        tokens.authenticate(raw, NOW)
        carried = snapshot.schedule_version()
        assert carried == db.session.scalar(select(ScheduleVersion.value))
        f.booking(consultant, datetime(2026, 12, 10, 10, tzinfo=PARIS))  # flushed: SQLite bumps it at once
        assert snapshot.read().schedule is None
        assert snapshot.schedule_version() == db.session.scalar(select(ScheduleVersion.value))
        db.session.rollback()
        tokens.authenticate(raw, NOW)
        db.session.execute(text("UPDATE consultants SET daily_cap = daily_cap"))  # not through the unit of work
        assert snapshot.read().schedule is None
