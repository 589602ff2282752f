"""Money before consent, the price too: a client who consented to a price (a hold's confirmation, a follow-up's, a
move, an API booking made at once) is not billed at a rate applied from the contract page between the page and
the click. The click re-checks, under the lock, the price shown with the minutes shown (`cost_changed`), and
records nothing when it differs; API clients that send no price keep the rate in force at the click.

Confort bills every ERP-Lib minute (110 € an hour: a 45-minute session is 82.50 €); the admin applies 200 € an hour
(150.00 €) the way the contract page does (`contract_store.apply`). Days come from the business calendar."""

from __future__ import annotations

import html
from datetime import UTC, datetime, time
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from booking import contract
from booking.extensions import db
from booking.models import Booking, ContractPeriod, LedgerEntry
from booking.models.types import utcnow
from booking.services import bookings, contract_store, costs, tokens
from booking.services.errors import Conflict
from calendars.worktime import PARIS

from . import dates
from . import factories as f

# Days this far ahead: a session 7 days ahead may be inside the 24 business hours of the cancellation cut-off (in a
# week of two holidays, 5 May 2027 17:45 → 12 May 10:00 is 23.5 of them), where a move is refused before its price.
AHEAD = 10

SHOWN, NEW = Decimal("82.50"), Decimal("150.00")  # 45 minutes at 110 € an hour, then at 200 €


def _at(day, hour: int = 14) -> datetime:
    return datetime.combine(day, time(hour), PARIS)


def _client(locale: str = "fr", tier: str = "confort"):
    """An admin, a company of `tier` with a contact reading `locale`, and a consultant; committed."""
    admin = f.user("admin")
    company = f.company(tier, contract_start=dates.contract_start())
    contact = f.user("client", company, locale=locale)
    f.consultant()
    db.session.commit()
    return admin, company, contact


def _new_rate(admin, tier: str = "confort", hourly: int = 200) -> None:
    """The admin applies a new hourly rate, as the contract page's apply does."""
    text = contract_store.set_value(contract_store.text_in_force(), f"tiers.{tier}.prices", "erplib_hour", hourly)
    contract_store.apply(admin, text, contract_store.newest_id(), utcnow())
    db.session.commit()


def _ledger(booking_id: int) -> list[tuple[int, Decimal | None]]:
    f.reread()
    rows = select(LedgerEntry.billable_minutes, LedgerEntry.amount_eur).where(LedgerEntry.booking_id == booking_id)
    return [tuple(row) for row in db.session.execute(rows)]


def _hold(contact, day=None) -> Booking:
    held = bookings.book(contact, "erplib", _at(day or dates.working_day(after=AHEAD)), utcnow(), hold=True)
    db.session.commit()
    return held


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True)).replace("\xa0", " ").replace("\u202f", " ")


# The service


def test_a_confirmation_at_the_price_shown_is_refused_after_a_new_rate_and_records_nothing(any_app):
    admin, _, contact = _client()
    held = _hold(contact)
    assert costs.for_booking(held).price_eur == SHOWN  # what the page shows
    _new_rate(admin)
    with pytest.raises(Conflict) as refused:
        bookings.confirm(contact, db.session.get_one(Booking, held.id), utcnow(), 45, SHOWN)
    db.session.rollback()  # as a request ends on a refusal
    assert refused.value.code == "cost_changed"
    assert "Le prix a changé ou diffère de celui affiché" in refused.value.message
    assert "150,00" in refused.value.message and "HT" in refused.value.message
    assert db.session.get_one(Booking, held.id).status == "held" and _ledger(held.id) == []
    assert costs.for_booking(db.session.get_one(Booking, held.id)).price_eur == NEW  # what the page now shows
    bookings.confirm(contact, db.session.get_one(Booking, held.id), utcnow(), 45, Decimal("150"))  # 150 is 150.00
    db.session.commit()
    assert _ledger(held.id) == [(45, NEW)]


def test_the_price_shown_unchanged_or_not_sent_is_confirmed_at_the_rate_in_force(any_app):
    admin, _, contact = _client()
    one, other = _hold(contact), _hold(contact, dates.working_days(2, after=AHEAD)[1])
    bookings.confirm(contact, one, utcnow(), 45, Decimal("82.5"))  # the rate has not moved: 82.5 is 82.50
    db.session.commit()
    _new_rate(admin)
    bookings.confirm(contact, db.session.get_one(Booking, other.id), utcnow(), 45)  # no price sent: today's rule
    db.session.commit()
    assert _ledger(one.id) == [(45, SHOWN)] and _ledger(other.id) == [(45, NEW)]


def test_a_rate_removed_after_a_price_was_shown_is_refused_with_its_own_sentence(any_app):
    """The contract no longer lists Confort's hourly rate: the page would now say « au tarif convenu »."""
    admin, _, contact = _client()
    held = _hold(contact)
    text = contract_store.text_in_force()
    contract_store.apply(admin, text.replace("erplib_hour = 110\n", "", 1), contract_store.newest_id(), utcnow())
    db.session.commit()
    with pytest.raises(
        Conflict, match="le contrat ne fixe pas de tarif, 45 min facturables au tarif convenu"
    ) as refused:
        bookings.confirm(contact, db.session.get_one(Booking, held.id), utcnow(), 45, SHOWN)
    db.session.rollback()
    assert refused.value.code == "cost_changed" and _ledger(held.id) == []


def test_a_serenite_session_past_the_hour_bank_is_priced_and_checked_too(any_app):
    """Sérénité with its bank used up bills the session at 100 € an hour (75.00 €); a new rate of 120 € is caught."""
    from booking.services import hour_bank

    admin, company, contact = _client(tier="serenite")
    year = hour_bank.contract_year(company, dates.working_day(after=AHEAD))
    hour_bank.ensure_grant(company, year)
    db.session.add(LedgerEntry(company_id=company.id, contract_year=year, kind="adjust", minutes=-600, note="x"))
    db.session.commit()
    held = _hold(contact)
    shown = costs.for_booking(held)
    assert (shown.billable_minutes, shown.price_eur) == (45, Decimal("75.00"))
    _new_rate(admin, "serenite", 120)
    with pytest.raises(Conflict, match=r"90,00"):
        bookings.confirm(contact, db.session.get_one(Booking, held.id), utcnow(), 45, shown.price_eur)
    db.session.rollback()
    assert _ledger(held.id) == []


# The pages


@pytest.mark.parametrize(
    "locale, said, price",
    [
        (
            "fr",
            "Le prix a changé ou diffère de celui affiché : 45 min facturables",
            "150,00 €",
        ),
        (
            "en",
            "The price has changed or differs from the one shown: 45 min billable",
            "€150.00",
        ),
    ],
)
def test_the_confirmation_page_refuses_a_price_changed_since_it_was_shown(app, client, auth, locale, said, price):
    admin, _, contact = _client(locale)
    held = _hold(contact)
    auth.login(contact.email)
    page = _text(client.get(f"/portail/rendez-vous/{held.id}/confirmer"))
    assert 'name="billable_minutes" value="45"' in page and 'name="price" value="82.50"' in page
    _new_rate(admin)
    refused = client.post(
        f"/portail/rendez-vous/{held.id}/confirmer", data={"billable_minutes": "45", "price": "82.50"}
    )
    assert refused.status_code == 302 and refused.location.endswith(f"/portail/rendez-vous/{held.id}/confirmer")
    again = _text(client.get(refused.location))
    assert said in again and price in again
    assert 'name="price" value="150.00"' in again  # the new price, to consent to
    assert db.session.get_one(Booking, held.id).status == "held" and _ledger(held.id) == []
    done = client.post(f"/portail/rendez-vous/{held.id}/confirmer", data={"billable_minutes": "45", "price": "150.00"})
    assert done.status_code == 302 and done.location.endswith(f"/portail/rendez-vous/{held.id}")
    assert _ledger(held.id) == [(45, NEW)]


@pytest.mark.parametrize(
    "locale, said",
    [
        ("fr", "Prix affiché illisible : rouvrez la page, puis confirmez de nouveau."),
        ("en", "The price shown cannot be read: open the page again, then confirm again."),
    ],
)
def test_a_garbled_price_is_refused_by_the_confirmation_page_as_by_the_move_form(app, client, auth, locale, said):
    """Not a bare 400: the same page again (422) with the move form's sentence; nothing is recorded."""
    _, _, contact = _client(locale)
    held = _hold(contact)
    auth.login(contact.email)
    for garbage in ("abc", "NaN", "82.505", "-1", "1e999999", "82.500", "1E+2", "-0", " 82.50"):
        answer = client.post(
            f"/portail/rendez-vous/{held.id}/confirmer", data={"billable_minutes": "45", "price": garbage}
        )
        page = _text(answer)
        assert answer.status_code == 422 and said in page, garbage
        assert 'name="price" value="82.50"' in page, garbage  # the consent step again, its price to confirm
    assert db.session.get_one(Booking, held.id).status == "held" and _ledger(held.id) == []
    assert client.post(
        f"/portail/rendez-vous/{held.id}/confirmer", data={"billable_minutes": "45", "price": "82.50"}
    ).location.endswith(f"/portail/rendez-vous/{held.id}")
    assert _ledger(held.id) == [(45, SHOWN)]


def _confort_then_standard(locale: str = "fr"):
    """Confort, then Standard (120 € an hour: 90.00 € for 45 minutes) from the second of three working days; a
    session confirmed on the first day, to be moved to the third (counted again under Standard)."""
    admin, company, contact = _client(locale)
    first, change, third = dates.working_days(3, after=AHEAD)
    db.session.add(ContractPeriod(company_id=company.id, starts_on=change, tier="standard"))
    db.session.commit()
    session = bookings.book(contact, "erplib", _at(first, 10), utcnow())
    db.session.commit()
    return admin, contact, session, _at(third, 14)


@pytest.mark.parametrize(
    "locale, said, price",
    [
        ("fr", "Le prix a changé ou diffère de celui affiché : 45 min facturables, soit 150,00 € HT.", "150,00 €"),
        ("en", "The price has changed or differs from the one shown: 45 min billable, that is €150.00", "€150.00"),
    ],
)
def test_the_move_page_refuses_a_price_changed_since_it_was_shown_and_asks_again_at_the_new_one(
    app, client, auth, locale, said, price
):
    """« Vérifiez-le » has something to check: the move's consent step again, the same slot at the new price."""
    admin, contact, session, to = _confort_then_standard(locale)
    auth.login(contact.email)
    shown = _text(client.post(f"/portail/rendez-vous/{session.id}/deplacer", data={"start": to.isoformat()}))
    assert 'name="price" value="90.00"' in shown
    _new_rate(admin, "standard", 200)
    data = {"start": to.isoformat(), "seen": session.sequence, "billable": 45, "price": "90.00"}
    refused = client.post(f"/portail/rendez-vous/{session.id}/deplacer", data=data)
    again = _text(refused)
    assert refused.status_code == 422 and said in again
    assert 'data-testid="new-slot"' in again and f'name="start" value="{to.astimezone(UTC).isoformat()}"' in again
    assert 'name="price" value="150.00"' in again
    assert price in again.split('data-testid="new-slot"')[1]  # in the facts, not only in the notice
    assert db.session.get_one(Booking, session.id).start_at != to  # nothing moved
    assert _ledger(session.id) == [(45, SHOWN)]  # nothing refunded, nothing recorded again
    seen = db.session.get_one(Booking, session.id).sequence
    assert f'name="seen" value="{seen}"' in again  # the refusal moved nothing: the same sequence
    assert (
        client.post(f"/portail/rendez-vous/{session.id}/deplacer", data=data | {"price": "150.00"}).status_code == 302
    )
    assert sorted(_ledger(session.id)) == sorted([(45, SHOWN), (-45, -SHOWN), (45, NEW)])


def test_a_move_refused_for_its_price_whose_slot_goes_before_the_page_is_drawn_shows_the_week(
    app, client, auth, monkeypatch
):
    """Between the refusal and the consent step drawn again, the slot may go (another client's commit): then the
    week, with both sentences. The race is made by the preview refusing as it would, not by timing."""
    from booking.web import book

    admin, contact, session, to = _confort_then_standard()
    _new_rate(admin, "standard", 200)
    auth.login(contact.email)

    def taken(*args, **kwargs):
        raise Conflict(bookings.TAKEN, code="taken")

    monkeypatch.setattr(book.costs, "for_move", taken)
    data = {"start": to.isoformat(), "seen": session.sequence, "billable": 45, "price": "90.00"}
    refused = client.post(f"/portail/rendez-vous/{session.id}/deplacer", data=data)
    page = _text(refused)
    assert refused.status_code == 422 and 'data-testid="new-slot"' not in page
    assert "Le prix a changé ou diffère de celui affiché" in page and "Ce créneau n'est plus disponible" in page
    assert db.session.get_one(Booking, session.id).start_at != to and _ledger(session.id) == [(45, SHOWN)]


def test_a_move_that_keeps_its_lines_keeps_the_price_consented_whatever_the_new_rate(app, client, auth):
    """Within the same tier a moved session keeps its lines: the price it shows is the one recorded, and so it stays."""
    admin, _, contact = _client()
    first, second = dates.working_days(2, after=AHEAD)
    session = bookings.book(contact, "erplib", _at(first, 10), utcnow())
    db.session.commit()
    _new_rate(admin)
    auth.login(contact.email)
    to = _at(second, 14).isoformat()
    shown = _text(client.post(f"/portail/rendez-vous/{session.id}/deplacer", data={"start": to}))
    assert 'name="price" value="82.50"' in shown
    data = {"start": to, "seen": session.sequence, "billable": 45, "price": "82.50"}
    assert client.post(f"/portail/rendez-vous/{session.id}/deplacer", data=data).status_code == 302
    assert _ledger(session.id) == [(45, SHOWN)]


# The API


def _api(client, method: str, path: str, key: str, language: str = "fr", **kwargs):
    headers = {"Authorization": f"Bearer {key}", "Accept-Language": language}
    return client.open(path, method=method, headers=headers, **kwargs)


@pytest.mark.parametrize(
    "language, said, price",
    [
        ("fr", "Le prix a changé ou diffère de celui affiché", "150,00 € HT"),
        ("en", "The price has changed or differs from the one shown", "€150.00 excl. VAT"),
    ],
)
def test_the_api_confirmation_refuses_a_price_changed_since_it_was_shown(any_app, language, said, price):
    admin, _, contact = _client()
    held, key = _hold(contact), tokens.create(contact)
    db.session.commit()
    client = any_app.test_client()
    seen = _api(client, "GET", f"/api/v1/bookings/{held.id}", key).get_json()["cost"]
    assert (seen["billable_minutes"], seen["price_eur"]) == (45, "82.50")
    _new_rate(admin)
    refused = _api(
        client,
        "POST",
        f"/api/v1/bookings/{held.id}/confirm?expected_billable_minutes=45&expected_price_eur=82.50",
        key,
        language,
    )
    problem = refused.get_json()
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert problem["code"] == "cost_changed"
    assert said in problem["detail"] and price in problem["detail"].replace("\xa0", " ").replace("\u202f", " ")
    assert db.session.get_one(Booking, held.id).status == "held" and _ledger(held.id) == []
    done = _api(client, "POST", f"/api/v1/bookings/{held.id}/confirm?expected_price_eur=150", key)
    assert done.status_code == 200 and done.get_json()["cost"]["price_eur"] == "150.00"
    assert _ledger(held.id) == [(45, NEW)]


def test_the_api_confirms_without_a_price_as_before(any_app):
    admin, _, contact = _client()
    held, key = _hold(contact), tokens.create(contact)
    db.session.commit()
    _new_rate(admin)
    answer = _api(
        any_app.test_client(), "POST", f"/api/v1/bookings/{held.id}/confirm?expected_billable_minutes=45", key
    )
    assert answer.status_code == 200 and answer.get_json()["cost"]["price_eur"] == "150.00"


def test_an_api_booking_made_at_once_is_refused_at_a_price_changed_and_books_nothing(any_app):
    admin, company, contact = _client()
    key = tokens.create(contact)
    db.session.commit()
    client = any_app.test_client()
    start = _at(dates.working_day(after=AHEAD)).isoformat()
    _new_rate(admin)
    body = {"service": "erplib", "start": start, "expected_billable_minutes": 45, "expected_price_eur": "82.50"}
    refused = _api(client, "POST", "/api/v1/bookings", key, json=body)
    assert refused.status_code == 409 and refused.get_json()["code"] == "cost_changed"
    assert "150,00" in refused.get_json()["detail"]
    f.reread()
    assert db.session.scalar(select(func.count()).select_from(Booking).where(Booking.company_id == company.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    booked = _api(client, "POST", "/api/v1/bookings", key, json=body | {"expected_price_eur": 150})  # a JSON number
    assert booked.status_code == 201 and _ledger(booked.get_json()["id"]) == [(45, NEW)]


def test_an_api_move_counted_again_is_refused_at_a_price_changed_and_moves_nothing(any_app):
    admin, contact, session, to = _confort_then_standard()
    key = tokens.create(contact)
    db.session.commit()
    _new_rate(admin, "standard", 200)
    body = {"start": to.isoformat(), "expected_billable_minutes": 45, "expected_price_eur": "90.00"}
    client = any_app.test_client()
    refused = _api(client, "PATCH", f"/api/v1/bookings/{session.id}", key, "en", json=body)
    assert refused.status_code == 409 and refused.get_json()["code"] == "cost_changed"
    assert "The price has changed or differs from the one shown" in refused.get_json()["detail"]
    assert db.session.get_one(Booking, session.id).start_at != to and _ledger(session.id) == [(45, SHOWN)]
    moved = _api(client, "PATCH", f"/api/v1/bookings/{session.id}", key, json=body | {"expected_price_eur": "150.00"})
    assert moved.status_code == 200 and moved.get_json()["cost"]["price_eur"] == "150.00"


@pytest.mark.parametrize("garbage", ["abc", "NaN", "Infinity", "82.505", "-1", "1e999999", "", "10000000.01"])
def test_a_garbled_expected_price_is_a_clear_422_that_changes_nothing(any_app, garbage):
    _, _, contact = _client()
    held, key = _hold(contact), tokens.create(contact)
    db.session.commit()
    client = any_app.test_client()
    answer = _api(
        client, "POST", f"/api/v1/bookings/{held.id}/confirm", key, query_string={"expected_price_eur": garbage}
    )
    assert answer.status_code == 422 and answer.get_json()["code"] == "invalid_request"
    assert "Prix en euros attendu" in answer.get_json()["detail"]
    english = _api(
        client,
        "POST",
        "/api/v1/bookings",
        key,
        "en",
        json={
            "service": "erplib",
            "start": _at(dates.working_day(after=AHEAD)).isoformat(),
            "expected_price_eur": True,
        },
    )
    assert english.status_code == 422 and "A price in euros is expected" in english.get_json()["detail"]
    assert db.session.get_one(Booking, held.id).status == "held" and _ledger(held.id) == []


def test_the_schema_documents_the_expected_price(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for name in ("BookingIn", "Reschedule"):
        field = schemas[name]["properties"]["expected_price_eur"]
        assert "string" in field["type"] and field["pattern"] and "cost_changed" in field["description"]
    confirm = spec["paths"]["/api/v1/bookings/{booking_id}/confirm"]["post"]["parameters"]
    assert any(p["name"] == "expected_price_eur" and "cost_changed" in p["description"] for p in confirm)
    assert contract.current().tier("confort").price("erplib_hour") == Decimal("110.00")  # the rate these tests use
