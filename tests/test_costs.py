"""The cost preview told before consent is what the ledger then records, for every tier and kind."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from booking import contract
from booking.extensions import db
from booking.models import Booking, LedgerEntry
from booking.services import bookings, costs, hour_bank
from booking.services.access import ticket_for
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
YEAR = date(2026, 1, 1)


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def _client(tier: str, balance: int | None = None):
    company = f.company(tier, contract_start=YEAR)
    contact = f.user("client", company)
    f.consultant(skills=("installation",))
    if balance is not None:
        hour_bank.ensure_grant(company, YEAR)
        if balance != 600:
            db.session.add(
                LedgerEntry(
                    company_id=company.id,
                    contract_year=YEAR,
                    kind="adjust",
                    minutes=balance - 600,
                    billable_minutes=0,
                    note="test",
                )
            )
    db.session.commit()
    return company, contact


def _recorded(booking) -> tuple[int, int]:
    lines = db.session.scalars(select(LedgerEntry).where(LedgerEntry.booking_id == booking.id)).all()
    return -sum(e.minutes for e in lines), sum(e.billable_minutes for e in lines)


@pytest.mark.parametrize(
    "tier, kind, balance",
    [
        ("serenite", "erplib", 600),
        ("serenite", "erplib", 45),
        ("serenite", "erplib", 15),
        ("serenite", "erplib", 0),
        ("standard", "erplib", None),
        ("confort", "erplib", None),
        ("serenite", "minor_update", 0),
        ("confort", "minor_update", None),
        ("serenite", "callback", 0),
        ("standard", "callback", None),
    ],
)
def test_the_preview_is_what_the_ledger_then_records(any_app, tier, kind, balance):
    company, contact = _client(tier, balance)
    ticket = ticket_for(company, "T-1", "mineure", NOW - timedelta(hours=1)) if kind == "callback" else None
    held = bookings.book(contact, kind, paris("2026-12-08 14:00"), NOW, hold=True, ticket=ticket)
    seen = costs.for_booking(held)
    bookings.confirm(contact, held, NOW)
    assert (seen.included_minutes, seen.billable_minutes) == _recorded(held)
    assert costs.for_booking(held) == seen  # after confirming, the ledger tells the same story
    if seen.balance_after is not None:
        assert seen.balance_after == hour_bank.balance(company, YEAR)


def test_the_fourteenth_serenite_session_shows_15_included_and_30_billable_priced(app):
    company, _contact = _client("serenite", 600 - 13 * 45)  # 13 sessions taken: 15 minutes left
    cost = costs.preview(company, "erplib", paris("2026-12-08 14:00"), paris("2026-12-08 14:45"))
    assert (cost.basis, cost.included_minutes, cost.billable_minutes) == ("hour_bank", 15, 30)
    assert cost.price_eur == Decimal("50.00")  # half an hour at 100 € beyond the hour bank
    assert cost.balance_after == 0


@pytest.mark.parametrize(
    "tier, kind, basis, billable, price",
    [
        ("standard", "erplib", "billable", 45, Decimal("90.00")),
        ("confort", "erplib", "billable", 45, Decimal("82.50")),
        ("serenite", "erplib", "hour_bank", 0, Decimal("0.00")),
        ("confort", "minor_update", "included", 0, None),
        ("serenite", "major_install", "included", 0, None),
        ("standard", "callback", "included", 0, None),
        ("confort", "priority_consulting", "quote", 0, None),
    ],
)
def test_each_tier_and_kind_has_its_basis_and_price(app, tier, kind, basis, billable, price):
    company, _contact = _client(tier)
    cost = costs.preview(company, kind, paris("2026-12-08 14:00"), paris("2026-12-08 14:45"))
    assert (cost.basis, cost.billable_minutes, cost.price_eur) == (basis, billable, price)


def test_no_price_when_the_contract_lists_none(app, tmp_path):
    text = open(contract.DEFAULT_FILE, encoding="utf-8").read()
    edited = tmp_path / "contract.toml"
    edited.write_text(
        text.replace("[tiers.standard.prices]\nerplib_hour = 120", "[tiers.standard.prices]"), encoding="utf-8"
    )
    app.config["CONTRACT_FILE"] = str(edited)  # as an admin edits it
    company, _contact = _client("standard")
    cost = costs.preview(company, "erplib", paris("2026-12-08 14:00"), paris("2026-12-08 14:45"))
    assert (cost.billable_minutes, cost.price_eur) == (45, None)


@pytest.mark.parametrize(
    "start, until",
    [
        ("2026-12-08 10:00", "2026-12-02 17:30"),  # back over a weekend
        ("2026-12-07 09:00", "2026-12-01 16:30"),  # a Monday morning
        ("2026-12-10 10:30", "2026-12-07 09:00"),  # the limit falls at a block's start
        ("2026-12-10 14:00", "2026-12-07 11:00"),  # across lunch breaks
    ],
)
def test_free_cancellation_ends_exactly_where_the_cutoff_starts(app, start, until):
    company, _contact = _client("serenite")
    consultant = f.consultant()
    booking = f.booking(consultant, paris(start), company=company)
    limit = costs.free_cancel_until(booking.start_at)
    assert limit == paris(until)
    assert not bookings.cutoff_passed(booking, limit)
    assert bookings.cutoff_passed(booking, limit + timedelta(minutes=1))


@pytest.mark.parametrize(
    "when, late, status, balance",
    [
        (NOW, False, "cancelled", 600),
        (paris("2026-12-08 09:00"), True, "late_cancelled", 555),
    ],
)
def test_the_cancellation_told_beforehand_is_what_cancel_does(any_app, when, late, status, balance):
    company, contact = _client("serenite", 600)
    booking = bookings.book(contact, "erplib", paris("2026-12-08 14:00"), NOW)
    told = costs.cancellation(contact, booking, when)
    assert (told.late, told.included_minutes, told.billable_minutes) == (late, 45, 0)
    bookings.cancel(contact, booking, when)
    assert booking.status == status and hour_bank.balance(company, YEAR) == balance


def _two_holds_on_the_last_45_minutes():
    """A Sérénité company with 45 included minutes left, and two of its contacts each holding a session:
    both holds are shown 45 included minutes, only one can have them."""
    company, first = _client("serenite", 45)
    second = f.user("client", company)
    db.session.commit()
    holds = [
        bookings.book(contact, "erplib", paris(start), NOW, hold=True)
        for contact, start in ((first, "2026-12-08 14:00"), (second, "2026-12-08 15:00"))
    ]
    shown = [costs.for_booking(b) for b in holds]
    assert [(c.included_minutes, c.billable_minutes) for c in shown] == [(45, 0), (45, 0)]
    return company, (first, second), holds


def test_a_confirmation_is_refused_when_the_cost_shown_no_longer_holds(any_app):
    company, (first, second), (one, other) = _two_holds_on_the_last_45_minutes()
    bookings.confirm(first, one, NOW, expected_billable=0)
    with pytest.raises(bookings.Conflict) as refused:
        bookings.confirm(second, other, NOW, expected_billable=0)
    assert refused.value.code == "cost_changed" and "0 min incluses, 45 min facturables" in refused.value.message
    db.session.expire_all()
    assert other.status == "held" and _recorded(other) == (0, 0)  # nothing recorded, nothing billed
    assert costs.for_booking(other).billable_minutes == 45  # what the page now shows
    bookings.confirm(second, other, NOW, expected_billable=45)  # consented to the new cost
    assert _recorded(other) == (0, 45) and hour_bank.balance(company, YEAR) == 0


def test_the_api_and_the_page_confirm_only_at_the_cost_shown(client, auth):
    from booking.services import tokens

    with time_machine.travel(NOW, tick=False):
        company, (first, second), (one, other) = _two_holds_on_the_last_45_minutes()
        key, first_key = tokens.create(second), tokens.create(first)
        db.session.commit()
        auth.login(first.email)
        page = client.get(f"/portail/rendez-vous/{one.id}/confirmer").get_data(as_text=True)
        assert 'name="billable_minutes" value="0"' in page
        answer = client.post(
            f"/api/v1/bookings/{other.id}/confirm?expected_billable_minutes=0",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answer.status_code == 200 and answer.get_json()["cost"]["billable_minutes"] == 0
        refused = client.post(f"/portail/rendez-vous/{one.id}/confirmer", data={"billable_minutes": "0"})
        assert refused.status_code == 302 and refused.location.endswith(f"/portail/rendez-vous/{one.id}/confirmer")
        again = client.get(refused.location).get_data(as_text=True)
        assert "Le coût a changé" in again and 'name="billable_minutes" value="45"' in again
        db.session.expire_all()
        assert one.status == "held"
        late = client.post(
            f"/api/v1/bookings/{one.id}/confirm?expected_billable_minutes=0",
            headers={"Authorization": f"Bearer {first_key}"},
        )
        assert late.status_code == 409 and late.get_json()["code"] == "cost_changed"
        assert (
            client.post(
                f"/api/v1/bookings/{one.id}/confirm?expected_billable_minutes=-3",
                headers={"Authorization": f"Bearer {first_key}"},
            ).status_code
            == 422
        )


@pytest.mark.parametrize(
    "tier, kind, balance",
    [
        ("serenite", "erplib", 600),
        ("serenite", "erplib", 15),
        ("serenite", "erplib", 0),
        ("confort", "erplib", None),
        ("confort", "minor_update", None),
    ],
)
def test_a_booking_answers_the_cost_its_ledger_lines_record(any_app, tier, kind, balance):
    """The booking's answer takes its cost from the lines it has just written (no second read): it must be
    what the ledger, read afresh, records."""
    from booking.services import tokens

    company, contact = _client(tier, balance)
    key = tokens.create(contact)
    db.session.commit()
    client = any_app.test_client()
    with time_machine.travel(NOW, tick=False):
        answer = client.post(
            "/api/v1/bookings",
            json={"service": kind, "start": "2026-12-08T14:00:00+01:00"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answer.status_code == 201, answer.get_json()
        read = client.get(f"/api/v1/bookings/{answer.get_json()['id']}", headers={"Authorization": f"Bearer {key}"})
    db.session.rollback()
    booked = db.session.get(Booking, answer.get_json()["id"])
    assert answer.get_json()["cost"] == read.get_json()["cost"]
    cost = answer.get_json()["cost"]
    assert (cost["included_minutes"], cost["billable_minutes"]) == _recorded(booked)


def test_a_new_rate_does_not_reprice_the_sessions_already_confirmed(app):
    """Confort's 45-minute session is confirmed at 110 € an hour (82.50 €); the admin then sets 200 €: the session
    stays at the 82.50 € consented to (its page, its late cancellation), a session booked after costs 150 €, and
    a timely cancellation gives back exactly what was recorded (the price of the refunded minutes, not today's)."""
    from booking.services import contract_store

    admin = f.user("admin")
    with time_machine.travel(NOW, tick=False):
        company, contact = _client("confort")
        before = bookings.book(contact, "erplib", paris("2026-12-08T10:00"), NOW)
        db.session.commit()
        packaged = contract_store.normalise(open(contract.DEFAULT_FILE).read())
        contract_store.apply(
            admin, contract_store.set_value(packaged, "tiers.confort.prices", "erplib_hour", 200), None, NOW
        )
        db.session.commit()
        after = bookings.book(contact, "erplib", paris("2026-12-08T14:00"), NOW)
        db.session.commit()
        f.reread()
        assert costs.for_booking(db.session.get(Booking, before.id)).price_eur == Decimal("82.50")
        assert costs.for_booking(db.session.get(Booking, after.id)).price_eur == Decimal("150.00")
        late = datetime(2026, 12, 7, 16, tzinfo=UTC)  # within the cut-off of Tuesday's session
        assert costs.cancellation(contact, db.session.get(Booking, before.id), late).price_eur == Decimal("82.50")
        bookings.cancel(contact, db.session.get(Booking, before.id), NOW)
        db.session.commit()
    amounts = db.session.scalars(select(LedgerEntry.amount_eur).where(LedgerEntry.booking_id == before.id)).all()
    assert sorted(amounts) == [Decimal("-82.50"), Decimal("82.50")]
