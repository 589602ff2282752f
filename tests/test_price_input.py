"""The price a client was shown, sent back with the click: one rule reads it for the pages' hidden field and for
the API's expected_price_eur (`inputs.euros`, the API's documented pattern `^\\d{1,8}(\\.\\d{1,2})?$` for strings;
JSON numbers read as the number they denote), and a price that is readable but not the one about to be recorded is
refused with a sentence true whether the rate changed or the client sent another price.

Confort bills every ERP-Lib minute at 110 € an hour: a 45-minute session is 82.50 €. Days come from the business
calendar; nothing here depends on today's date."""

from __future__ import annotations

import html
import json
from datetime import datetime, time
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from booking import inputs
from booking.extensions import db
from booking.models import Booking, LedgerEntry
from booking.models.types import utcnow
from booking.services import bookings, tokens
from calendars.worktime import PARIS

from . import dates
from . import factories as f

# Days this far ahead: a session 7 days ahead may be inside the 24 business hours of the cancellation cut-off (in a
# week of two holidays, 5 May 2027 17:45 → 12 May 10:00 is 23.5 of them), where a move is refused before its price.
AHEAD = 10

SHOWN = Decimal("82.50")

# Refused by the documented pattern, or outside 0 to 10 000 000 (strings: the hidden field's and the API's)
BAD_TEXT = [
    "97.500",
    "1E+2",
    "1e2",
    "-0",
    "-1",
    "+1",
    " 97.50",
    "97.50 ",
    "97.50\n",
    "97,50",
    "97.",
    ".5",
    "1_000",
    "٨٢",  # Arabic-Indic digits: Decimal reads them, the pattern does not
    "abc",
    "NaN",
    "Infinity",
    "82.505",
    "99999999",
    "10000000.01",
    "1e999999",
]
GOOD_TEXT = {"82.50": SHOWN, "82.5": SHOWN, "0082.50": SHOWN, "150": Decimal(150), "0": 0, "10000000.00": 10**7}


def _at(day, hour: int = 14) -> datetime:
    return datetime.combine(day, time(hour), PARIS)


def _client(locale: str = "fr"):
    company = f.company("confort", contract_start=dates.contract_start())
    contact = f.user("client", company, locale=locale)
    f.consultant()
    db.session.commit()
    return company, contact


def _api(client, method: str, path: str, key: str, language: str = "fr", **kwargs):
    headers = {"Authorization": f"Bearer {key}", "Accept-Language": language}
    return client.open(path, method=method, headers=headers, **kwargs)


def _ledger(booking_id: int) -> list[tuple[int, Decimal | None]]:
    f.reread()
    rows = select(LedgerEntry.billable_minutes, LedgerEntry.amount_eur).where(LedgerEntry.booking_id == booking_id)
    return [tuple(row) for row in db.session.execute(rows)]


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True)).replace("\xa0", " ").replace("\u202f", " ")


# The rule


@pytest.mark.parametrize("text, price", GOOD_TEXT.items())
def test_a_price_written_as_documented_is_read_exactly(app, text, price):
    with app.test_request_context():
        assert inputs.euros(text) == price


@pytest.mark.parametrize("value", [*BAD_TEXT, "", True, False, -0.0, float("nan"), float("inf"), 82.505, 1e-7, -1])
def test_anything_else_is_refused_with_the_sentence(app, value):
    with app.test_request_context(), pytest.raises(inputs.BadInput, match="Prix en euros attendu"):
        inputs.euros(value)


@pytest.mark.parametrize(
    "value, price", [(82.5, SHOWN), (82.50, SHOWN), (1e2, 100), (150, 150), (0, 0), (10**7, 10**7)]
)
def test_a_json_number_is_read_as_the_number_it_denotes(app, value, price):
    with app.test_request_context():
        assert inputs.euros(value) == price


def test_a_number_too_large_to_quantize_is_refused_not_an_error(app):
    with app.test_request_context(), pytest.raises(inputs.BadInput):
        inputs.euros(10**400)
    with app.test_request_context(), pytest.raises(inputs.BadInput):
        inputs.euros(1e300)


# The API: the pattern it documents, the number said in the reader's format


@pytest.mark.parametrize("garbage", BAD_TEXT)
def test_the_api_refuses_what_its_pattern_refuses(app, garbage):
    _, contact = _client()
    held = bookings.book(contact, "erplib", _at(dates.working_day(after=AHEAD)), utcnow(), hold=True)
    key = tokens.create(contact)
    db.session.commit()
    answer = _api(
        app.test_client(),
        "POST",
        f"/api/v1/bookings/{held.id}/confirm",
        key,
        query_string={"expected_price_eur": garbage},
    )
    assert answer.status_code == 422 and answer.get_json()["code"] == "invalid_request", garbage
    assert "Prix en euros attendu" in answer.get_json()["detail"]
    assert db.session.get_one(Booking, held.id).status == "held" and _ledger(held.id) == []


@pytest.mark.parametrize(
    "language, said",
    [
        (
            "fr",
            'un nombre de 0 à 10\u202f000\u202f000, avec au plus deux décimales après un point, par exemple "82.50".',
        ),
        ("en", 'a number from 0 to 10,000,000, with at most two decimals after a point, for example "82.50".'),
    ],
)
def test_the_refusal_writes_the_limit_as_the_reader_writes_numbers(any_app, language, said):
    _, contact = _client()
    key = tokens.create(contact)
    db.session.commit()
    body = {
        "service": "erplib",
        "start": _at(dates.working_day(after=AHEAD)).isoformat(),
        "expected_price_eur": "97.500",
    }
    answer = _api(any_app.test_client(), "POST", "/api/v1/bookings", key, language, json=body)
    assert answer.status_code == 422 and said in answer.get_json()["detail"]


@pytest.mark.parametrize("raw", ["82.505", "-0.0", "1e-7", "10000000.01", "1e400", "-1", "true", '"1E+2"', "[82.5]"])
def test_the_api_refuses_a_json_number_out_of_the_rule_and_books_nothing(app, raw):
    company, contact = _client()
    key = tokens.create(contact)
    db.session.commit()
    start = json.dumps(_at(dates.working_day(after=AHEAD)).isoformat())
    body = f'{{"service": "erplib", "start": {start}, "expected_price_eur": {raw}}}'
    answer = _api(app.test_client(), "POST", "/api/v1/bookings", key, data=body, content_type="application/json")
    assert answer.status_code == 422 and answer.get_json()["code"] == "invalid_request", raw
    f.reread()
    assert db.session.scalar(select(func.count()).select_from(Booking).where(Booking.company_id == company.id)) == 0


@pytest.mark.parametrize("raw, status", [("82.5", 201), ("8.25e1", 201), ("1e2", 409)])
def test_the_api_reads_a_json_number_as_the_number_it_denotes(app, raw, status):
    """8.25e1 is 82.5, the price shown: booked; 1e2 is 100, readable but not the price: cost_changed, not 422."""
    _, contact = _client()
    key = tokens.create(contact)
    db.session.commit()
    start = json.dumps(_at(dates.working_day(after=AHEAD)).isoformat())
    body = f'{{"service": "erplib", "start": {start}, "expected_billable_minutes": 45, "expected_price_eur": {raw}}}'
    answer = _api(app.test_client(), "POST", "/api/v1/bookings", key, data=body, content_type="application/json")
    assert answer.status_code == status, answer.get_json()
    if status == 409:
        assert answer.get_json()["code"] == "cost_changed"
    else:
        assert _ledger(answer.get_json()["id"]) == [(45, SHOWN)]


def test_the_schema_documents_what_is_accepted(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    field = spec["components"]["schemas"]["Reschedule"]["properties"]["expected_price_eur"]
    assert field["pattern"] == inputs.PRICE_PATTERN and field["maximum"] == 10_000_000
    assert "1e2 is 100" in field["description"]


# A price readable but not the one about to be recorded: the sentence holds when the rate did not change


@pytest.mark.parametrize(
    "language, said",
    [
        ("fr", "Le prix a changé ou diffère de celui affiché : 45 min facturables, soit 82,50 € HT."),
        ("en", "The price has changed or differs from the one shown: 45 min billable, that is €82.50 excl. VAT."),
    ],
)
def test_another_price_sent_is_refused_without_blaming_the_contract(any_app, language, said):
    """No rate changed: a move keeping its lines (PATCH) and a booking made at once (POST) with 1.00 € sent."""
    company, contact = _client()
    first, second = dates.working_days(2, after=AHEAD)
    session = bookings.book(contact, "erplib", _at(first, 10), utcnow())
    key = tokens.create(contact)
    db.session.commit()
    client = any_app.test_client()
    to = _at(second, 14).isoformat()
    moved = _api(
        client,
        "PATCH",
        f"/api/v1/bookings/{session.id}",
        key,
        language,
        json={"start": to, "expected_price_eur": "1.00"},
    )
    problem = moved.get_json()
    assert moved.status_code == 409 and problem["code"] == "cost_changed"
    detail = problem["detail"].replace("\xa0", " ").replace("\u202f", " ")
    assert said in detail and "contrat" not in detail and "contract" not in detail
    assert db.session.get_one(Booking, session.id).start_at == _at(first, 10) and _ledger(session.id) == [(45, SHOWN)]
    body = {"service": "erplib", "start": _at(second, 10).isoformat(), "expected_price_eur": "1.00"}
    booked = _api(client, "POST", "/api/v1/bookings", key, language, json=body)
    assert booked.status_code == 409 and said in booked.get_json()["detail"].replace("\xa0", " ")
    f.reread()
    assert db.session.scalar(select(func.count()).select_from(Booking).where(Booking.company_id == company.id)) == 1


# The pages: the same rule, their own sentence


def test_the_page_and_the_api_accept_and_refuse_the_same_prices(app, client, auth):
    """One rule: for each value, the confirmation page refuses it (422, « Prix affiché illisible ») exactly when the
    API does (422, « Prix en euros attendu »); a readable price other than 82.50 is cost_changed on both."""
    _, contact = _client()
    held = bookings.book(contact, "erplib", _at(dates.working_day(after=AHEAD)), utcnow(), hold=True)
    key = tokens.create(contact)
    db.session.commit()
    api = app.test_client()
    auth.login(contact.email)
    for value in [*BAD_TEXT, "150", "0", "10000000.00", "82.49"]:
        by_api = _api(
            api, "POST", f"/api/v1/bookings/{held.id}/confirm", key, query_string={"expected_price_eur": value}
        )
        by_page = client.post(
            f"/portail/rendez-vous/{held.id}/confirmer", data={"billable_minutes": 45, "price": value}
        )
        if value in BAD_TEXT:
            assert by_api.status_code == by_page.status_code == 422, value
            assert "Prix affiché illisible" in _text(by_page), value
        else:
            assert by_api.status_code == 409 and by_api.get_json()["code"] == "cost_changed", value
            assert by_page.status_code == 302 and by_page.location.endswith(f"/rendez-vous/{held.id}/confirmer"), value
            assert "Le prix a changé ou diffère de celui affiché" in _text(client.get(by_page.location)), value
    assert db.session.get_one(Booking, held.id).status == "held" and _ledger(held.id) == []
    done = client.post(f"/portail/rendez-vous/{held.id}/confirmer", data={"billable_minutes": 45, "price": "0082.50"})
    assert done.status_code == 302 and _ledger(held.id) == [(45, SHOWN)]
