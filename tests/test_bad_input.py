"""Bad input, table-driven, on SQLite and PostgreSQL (which refuses NUL bytes and integers beyond 32 bits where
SQLite lets them through): each case gets a clear 4xx, and no table changes (row counts before and after). API
cases answer application/problem+json; pages answer with the form's page (or an error page) and its reason."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Company, User
from booking.services import tokens

from . import factories as f

CORPUS = Path(__file__).parent / "data" / "ical-corpus"
NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)  # Wednesday 10:00 in Paris, far from any holiday
LATER = datetime(2027, 3, 22, 9, 0, tzinfo=UTC)  # a Monday twelve days on
NEXT_WEEK = "2027-03-17"
BIG = 13 * 1024 * 1024  # above MAX_CONTENT_LENGTH
HUGE = 2**31  # one beyond PostgreSQL's integer
YEARS = "2000 et 2099"  # what the refusal of an extreme date says is accepted


def _counts() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


@pytest.fixture
def world(any_app):
    with time_machine.travel(NOW, tick=False):
        own, other = f.company(), f.company()
        consultant = f.consultant()
        client = f.user("client", own)
        f.user("client", other)
        mine = f.booking(consultant, LATER, company=own)
        theirs = f.booking(consultant, LATER + timedelta(hours=2), company=other)
        started = f.booking(consultant, NOW - timedelta(minutes=30), company=own)  # a follow-up may be proposed
        planner = f.user("planner")
        admin = f.user("admin")
        raw = tokens.create(client, "bad-input")
        admin_raw = tokens.create(admin, "bad-input-admin")
        db.session.commit()
    return {
        "token": raw,
        "mine": mine.id,
        "started": started.id,
        "theirs": theirs.id,
        "client": client,
        "consultant": consultant,
        "consultant_id": consultant.id,
        "company": own.id,
        "planner": planner,
        "admin": admin,
        "admin_token": admin_raw,
        "huge": HUGE,
    }


def _booking(start, **extra) -> dict:
    return {"service": "erplib", "start": start, **extra}


def _callback(opened_at: str, reference: str = "TCK-1") -> dict:
    return {
        "service": "callback",
        "start": "2027-03-15T10:00:00+01:00",
        "ticket": {"reference": reference, "priority": "majeure", "opened_at": opened_at},
    }


def _escaped(body: dict, escape: str) -> bytes:
    """The body as JSON with each @@ written as the raw escape given, as a client may write it: a lone surrogate
    (\\ud800) has no UTF-8 form, so it cannot be put in a Python string sent as JSON."""
    return json.dumps(body).replace("@@", escape).encode()


def _nested(depth: int) -> bytes:
    return b'{"service": ' + b"[" * depth + b"]" * depth + b"}"


# (label, method, path, json body or raw bytes, expected status, words the message must contain)
API = [
    ("malformed date", "POST", "/api/v1/bookings", _booking("2027-13-45T10:00:00+01:00"), 422, "start"),
    ("no offset", "POST", "/api/v1/bookings", _booking("2027-03-15T10:00:00"), 422, "décalage horaire"),
    ("impossible offset", "POST", "/api/v1/bookings", _booking("2027-03-15T10:00:00+25:00"), 422, "start"),
    ("year one", "POST", "/api/v1/bookings", _booking("0001-01-01T10:00:00+01:00"), 422, "2000"),
    ("year 9999", "POST", "/api/v1/bookings", _booking("9999-12-31T23:59:00-12:00"), 422, "2000"),
    (
        "unknown service",
        "POST",
        "/api/v1/bookings",
        {"service": "astrologie", "start": LATER.isoformat()},
        422,
        "service",
    ),
    ("wrong types", "POST", "/api/v1/bookings", {"service": ["erplib"], "start": 12, "hold": "peut-être"}, 422, "hold"),
    ("not JSON", "POST", "/api/v1/bookings", b"{not json", 400, "JSON"),
    ("JSON nested 10,000 deep", "POST", "/api/v1/bookings", _nested(10_000), 400, "JSON"),
    ("number of 5,000 digits", "POST", "/api/v1/bookings", b'{"consultant_id": ' + b"9" * 5000 + b"}", 400, "JSON"),
    ("oversized body", "POST", "/api/v1/bookings", b"x" * BIG, 413, ""),
    ("NUL byte in a string", "POST", "/api/v1/bookings", _booking(LATER.isoformat(), notes="a\x00b"), 400, "nul"),
    ("NUL byte in a key", "POST", "/api/v1/bookings", {"service": "erplib", "start\x00": "x"}, 400, "nul"),
    (
        "NUL byte in a ticket reference",
        "POST",
        "/api/v1/bookings",
        _callback("2027-03-10T09:00:00+01:00", "T\x00"),
        400,
        "nul",
    ),
    # A JSON escape may name half of a UTF-16 pair alone (\\ud800): it has no UTF-8 form, so no database stores it.
    (
        "lone surrogate in a JSON string",
        "POST",
        "/api/v1/bookings",
        _escaped(_booking(LATER.isoformat(), notes="@@"), "\\ud800"),
        400,
        "UTF-16",
    ),
    (
        "lone low surrogate in a JSON ticket reference",
        "POST",
        "/api/v1/bookings",
        _escaped(_callback("2027-03-10T09:00:00+01:00", "@@"), "\\udfff"),
        400,
        "UTF-16",
    ),
    ("lone surrogate in a JSON key", "POST", "/api/v1/bookings", b'{"service": "erplib", "\\ud83d": 1}', 400, "UTF-16"),
    (
        "NUL byte in a query",
        "GET",
        "/api/v1/availability?service=erp%00lib&start=2027-03-15&end=2027-03-16",
        None,
        400,
        "nul",
    ),
    (
        "consultant id beyond 32 bits",
        "POST",
        "/api/v1/bookings",
        _booking(LATER.isoformat(), consultant_id=HUGE),
        422,
        "consultant_id",
    ),
    (
        "fractional consultant id",
        "POST",
        "/api/v1/bookings",
        _booking(LATER.isoformat(), consultant_id=1.5),
        422,
        "consultant_id",
    ),
    (
        "consultant id as text",
        "POST",
        "/api/v1/bookings",
        _booking(LATER.isoformat(), consultant_id="1"),
        422,
        "consultant_id",
    ),
    (
        "fractional company id",
        "POST",
        "/api/v1/bookings",
        _booking(LATER.isoformat(), company_id=2.5),
        422,
        "company_id",
    ),
    (
        "negative consultant id",
        "POST",
        "/api/v1/bookings",
        _booking(LATER.isoformat(), consultant_id=-1),
        422,
        "consultant_id",
    ),
    (
        "company id beyond 32 bits",
        "GET",
        f"/api/v1/availability?service=erplib&start={NEXT_WEEK}&end={NEXT_WEEK}&company_id={HUGE}",
        None,
        422,
        "company_id",
    ),
    ("ticket opened in 2099", "POST", "/api/v1/bookings", _callback("2099-01-01T09:00:00+01:00"), 422, "futur"),
    ("ticket opened in year one", "POST", "/api/v1/bookings", _callback("0001-01-01T09:00:00+01:00"), 422, "2000"),
    (
        "ticket opened beyond the clock skew",
        "POST",
        "/api/v1/bookings",
        _callback("2027-03-10T10:10:00+01:00"),
        422,
        "futur",
    ),
    (
        "ticket reference too long",
        "POST",
        "/api/v1/bookings",
        _callback("2027-03-10T09:00:00+01:00", "T" * 41),
        422,
        "reference",
    ),
    ("notes too long", "POST", "/api/v1/bookings", _booking(LATER.isoformat(), notes="n" * 2001), 422, "notes"),
    (
        "availability for a ticket of 9999",
        "GET",
        "/api/v1/availability?service=callback&start=2027-03-15&end=2027-03-16"
        "&ticket_priority=majeure&ticket_opened_at=9999-12-31T23:59:00%2B01:00",
        None,
        422,
        "2000",
    ),
    (
        "inverted range",
        "GET",
        f"/api/v1/availability?service=erplib&start={NEXT_WEEK}&end=2027-03-14",
        None,
        422,
        "end",
    ),
    (
        "huge range",
        "GET",
        f"/api/v1/availability?service=erplib&start={NEXT_WEEK}&end=2028-04-30",
        None,
        422,
        "62 jours",
    ),
    ("year one range", "GET", "/api/v1/availability?service=erplib&start=0001-01-01&end=0001-01-02", None, 422, "2000"),
    ("malformed day", "GET", "/api/v1/availability?service=erplib&start=demain&end=2027-03-20", None, 422, "start"),
    ("unknown id", "GET", "/api/v1/bookings/999999", None, 404, "999999"),
    ("unknown id, cancel", "POST", "/api/v1/bookings/999999/cancel", {}, 404, "999999"),
    ("id beyond 32 bits", "GET", "/api/v1/bookings/{huge}", None, 404, "Identifiant inconnu"),
    ("id beyond 64 bits, cancel", "POST", "/api/v1/bookings/99999999999999999999/cancel", {}, 404, "Identifiant"),
    ("id of 5,000 digits", "GET", "/api/v1/bookings/" + "9" * 5000, None, 404, "Identifiant"),
    ("id beyond 32 bits, move", "PATCH", "/api/v1/bookings/{huge}", {"start": LATER.isoformat()}, 404, "Identifiant"),
    ("negative id", "GET", "/api/v1/bookings/-1", None, 404, "Aucune ressource à cette adresse"),
    ("other company's id", "GET", "/api/v1/bookings/{theirs}", None, 404, "Aucun rendez-vous"),
    ("other company's id, cancel", "POST", "/api/v1/bookings/{theirs}/cancel", {}, 404, "Aucun rendez-vous"),
    (
        "other company's id, move",
        "PATCH",
        "/api/v1/bookings/{theirs}",
        {"start": LATER.isoformat()},
        404,
        "Aucun rendez-vous",
    ),
    ("malformed move", "PATCH", "/api/v1/bookings/{mine}", {"start": "mardi"}, 422, "start"),
    ("unknown prerequisite", "POST", "/api/v1/bookings/{mine}/prerequisites", {"code": "nope"}, 422, ""),
]


# The cases where the database matters run on both: PostgreSQL refuses NUL bytes and integers beyond 32 bits in a
# query, and extreme dates reach it; the others are decided before any query and run on SQLite alone.
ON_BOTH = ("NUL", "bits", "digits", "year", "9999", "2099", "JSON")


def _cases(table):
    both = lambda label: any(word in label for word in ON_BOTH)  # noqa: E731
    return [
        pytest.param(db_name, *case, id=f"{db_name}-{case[0]}")
        for case in table
        for db_name in (("sqlite", "postgresql") if both(case[0]) else ("sqlite",))
    ]


@pytest.mark.parametrize("any_app, label, method, path, body, status, words", _cases(API), indirect=["any_app"])
def test_api_bad_input_is_refused_clearly_and_changes_nothing(world, any_app, label, method, path, body, status, words):
    response = _refused(any_app, world, world["token"], method, path, body, status)
    assert response.json["status"] == status and response.json["detail"]
    assert words in response.json["detail"]


def _refused(any_app, world, token: str, method: str, path: str, body, status: int):
    """The API's answer to `body`: `status` in problem+json, and nothing written."""
    before = _counts()
    headers = {"Authorization": f"Bearer {token}"}
    kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, bytes) else {"json": body}
    with time_machine.travel(NOW, tick=False):
        response = any_app.test_client().open(path.format(**world), method=method, headers=headers, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    assert _counts() == before
    return response


def test_api_refuses_a_nul_byte_in_a_header(world, any_app):
    before = _counts()
    response = any_app.test_client().post(
        "/api/v1/bookings",
        json=_booking(LATER.isoformat()),
        headers={"Authorization": f"Bearer {world['token']}", "Idempotency-Key": "clé\x00"},
    )
    assert response.status_code == 400 and "nul" in response.json["detail"]
    assert _counts() == before


def _upload(name: str, data: bytes) -> dict:
    return {"label": "Perso", "file": (io.BytesIO(data), name)}


def _absence(**fields) -> dict:
    return {
        "consultant": "{consultant_id}",
        "start": "2027-03-18T09:00",
        "end": "2027-03-18T12:00",
        "reason": "Formation",
        **fields,
    }


TICKET = "/portail/reserver/callback?ticket=TCK-1&priorite=majeure&ouvert="
# (label, role, method, path, form or None, expected status, words the page must contain)
PAGES = [
    (
        "invalid .ics",
        "consultant",
        "POST",
        "/agenda/calendriers",
        lambda: _upload("x.ics", b"BEGIN:VCALENDAR\nnot really"),
        422,
        "",
    ),
    (
        "corrupt UTC offset in .ics",
        "consultant",
        "POST",
        "/agenda/calendriers",
        lambda: _upload("x.ics", (CORPUS / "icalendar" / "parsing_error_in_UTC_offset.ics").read_bytes()),
        422,
        "",
    ),
    ("oversized upload", "consultant", "POST", "/agenda/calendriers", lambda: _upload("big.ics", b"x" * BIG), 413, ""),
    (
        "empty calendar form",
        "consultant",
        "POST",
        "/agenda/calendriers",
        lambda: {"label": "Perso"},
        422,
        "fichier .ics",
    ),
    (
        "NUL byte in a calendar's name",
        "consultant",
        "POST",
        "/agenda/calendriers",
        lambda: _upload("x.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n") | {"label": "Per\x00so"},
        400,
        "nul",
    ),
    (
        "malformed start",
        "client",
        "POST",
        "/portail/reserver/erplib",
        lambda: {"start": "lundi 10h"},
        422,
        "Créneau invalide",
    ),
    (
        "start without offset",
        "client",
        "POST",
        "/portail/reserver/erplib",
        lambda: {"start": "2027-03-15T10:00:00"},
        422,
        "Créneau invalide",
    ),
    (
        "start in year 9999",
        "client",
        "POST",
        "/portail/reserver/erplib",
        lambda: {"start": "9999-12-31T23:59:00-12:00"},
        422,
        YEARS,
    ),
    (
        "NUL byte in the notes",
        "client",
        "POST",
        "/portail/reserver/erplib",
        lambda: {"start": LATER.isoformat(), "notes": "a\x00b"},
        400,
        "nul",
    ),
    (
        "unknown service",
        "client",
        "POST",
        "/portail/reserver/astrologie",
        lambda: {"start": LATER.isoformat()},
        422,
        "astrologie",
    ),
    ("week of year one", "client", "GET", "/portail/reserver/erplib?semaine=0001-01-01", None, 400, YEARS),
    ("week of 9999", "client", "GET", "/portail/reserver/erplib?semaine=9999-12-31", None, 400, YEARS),
    ("malformed week", "client", "GET", "/portail/reserver/erplib?semaine=lundi", None, 400, YEARS),
    ("NUL byte in the query", "client", "GET", "/portail/reserver/erplib?semaine=2027-03-15%00", None, 400, "nul"),
    ("ticket opened in year one", "client", "GET", TICKET + "0001-01-01T00:00", None, 400, YEARS),
    ("ticket opened in 9999", "client", "GET", TICKET + "9999-12-31T23:59", None, 400, YEARS),
    ("ticket opened in 2099", "client", "GET", TICKET + "2099-01-01T09:00", None, 400, "futur"),
    (
        "hold for a ticket of 9999",
        "client",
        "POST",
        TICKET + "9999-12-31T23:59",
        lambda: {"start": "2027-03-15T10:00:00+01:00"},
        422,
        YEARS,
    ),
    (
        "move to year one",
        "client",
        "POST",
        "/portail/rendez-vous/{mine}/deplacer",
        lambda: {"start": "0001-01-01T00:00:00+14:00"},
        422,
        YEARS,
    ),
    ("other company's booking", "client", "POST", "/portail/rendez-vous/{theirs}/annuler", lambda: {}, 404, ""),
    (
        "unknown booking",
        "client",
        "POST",
        "/portail/rendez-vous/999999/deplacer",
        lambda: {"start": LATER.isoformat()},
        404,
        "",
    ),
    ("booking id beyond 32 bits", "client", "GET", "/portail/rendez-vous/{huge}", None, 404, ""),
    ("booking id beyond 32 bits, cancel", "client", "POST", "/portail/rendez-vous/{huge}/annuler", lambda: {}, 404, ""),
    (
        "follow-up in 9999",
        "consultant",
        "POST",
        "/consultant/rendez-vous/{started}/suivi",
        lambda: {"start": "9999-12-31T23:59:00+01:00"},
        422,
        YEARS,
    ),
    ("planner week of year one", "planner", "GET", "/planification/semaine?semaine=0001-01-01", None, 400, YEARS),
    ("planner week of 9999", "planner", "GET", "/planification/semaine?semaine=9999-12-31", None, 400, YEARS),
    ("billing of year one", "planner", "GET", "/planification/facturation?mois=0001-01", None, 400, YEARS),
    ("billing of 9999", "planner", "GET", "/planification/facturation?mois=9999-12", None, 400, YEARS),
    ("billing CSV of year one", "planner", "GET", "/planification/facturation/{company}/0001-01.csv", None, 400, YEARS),
    ("billing CSV of 9999", "planner", "GET", "/planification/facturation/{company}/9999-12.csv", None, 400, YEARS),
    (
        "billing CSV of a company beyond 32 bits",
        "planner",
        "GET",
        "/planification/facturation/{huge}/2027-03.csv",
        None,
        404,
        "",
    ),
    (
        "absence from year one",
        "planner",
        "POST",
        "/planification/absences",
        lambda: _absence(start="0001-01-01T00:00"),
        422,
        YEARS,
    ),  # a form's field error, shown in place
    (
        "absence until 9999",
        "planner",
        "POST",
        "/planification/absences",
        lambda: _absence(end="9999-12-31T23:59"),
        422,
        YEARS,
    ),
    (
        "absence of a consultant beyond 32 bits",
        "planner",
        "POST",
        "/planification/absences",
        lambda: _absence(consultant=str(HUGE)),
        422,
        "Consultant",
    ),
    (
        "absence of an unknown consultant",
        "planner",
        "POST",
        "/planification/absences",
        lambda: _absence(consultant="999999"),
        422,
        "consultant",
    ),
    (
        "absence ending before it starts",
        "planner",
        "POST",
        "/planification/absences",
        lambda: _absence(end="2027-03-18T08:00"),
        422,
        "fin",
    ),
    (
        "NUL byte in an absence's reason",
        "planner",
        "POST",
        "/planification/absences",
        lambda: _absence(reason="Form\x00ation"),
        400,
        "nul",
    ),
    # A select left optional: blank, in any white space, is its empty choice (all companies, all users).
    (
        "journal of a blank company",
        "planner",
        "GET",
        "/planification/journal/?entreprise=%20",
        None,
        200,
        '<section class="card">',
    ),
    (
        "journal of a tab company",
        "planner",
        "GET",
        "/planification/journal/?entreprise=%09",
        None,
        200,
        '<section class="card">',
    ),
    (
        "journal of a newline user",
        "planner",
        "GET",
        "/planification/journal/?utilisateur=%0A",
        None,
        200,
        '<section class="card">',
    ),
    (
        "journal of a blank user",
        "planner",
        "GET",
        "/planification/journal/?utilisateur=%20",
        None,
        200,
        '<section class="card">',
    ),
    (
        "priority request of 9e30 days",
        "client",
        "POST",
        "/portail/priorite",
        lambda: {"skill": "comptabilite", "amount": "9" * 30, "unit": "days"},
        422,
        "de 1 à 5",
    ),
]


@pytest.mark.parametrize("any_app, label, role, method, path, form, status, words", _cases(PAGES), indirect=["any_app"])
def test_page_bad_input_is_refused_clearly_and_changes_nothing(
    world, any_app, label, role, method, path, form, status, words
):
    client = any_app.test_client()
    user = {"client": world["client"], "consultant": world["consultant"].user, "planner": world["planner"]}[role]
    data = form() if form else None
    if isinstance(data, dict):
        data = {key: value.format(**world) if isinstance(value, str) else value for key, value in data.items()}
    with time_machine.travel(NOW, tick=False):
        assert client.post("/login", data={"email": user.email, "password": f.PASSWORD}).status_code == 302
        before = _counts()
        response = client.open(path.format(**world), method=method, data=data, content_type=None)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert words in html and ("<form" in html or "<h1>" in html) or status in (302, 404, 413)
    assert _counts() == before


def test_a_value_the_database_refuses_is_a_400_that_writes_nothing(pg_app):
    """The last line, behind the screen: PostgreSQL refuses a NUL byte that came from a file, not from a field."""
    user_id = f.consultant().user.id
    db.session.commit()

    def name_from_file():
        db.session.get(User, user_id).name = "Nom\x00lu dans un fichier"
        db.session.commit()
        return "written"

    pg_app.add_url_rule("/test-only/name", "name_page", name_from_file, methods=["POST"])
    pg_app.add_url_rule("/api/test-only/name", "name_api", name_from_file, methods=["POST"])
    before = _counts()
    page, api = (pg_app.test_client().post(path) for path in ("/test-only/name", "/api/test-only/name"))
    assert page.status_code == 400 and "ne peut pas être enregistrée" in page.get_data(as_text=True)
    assert api.status_code == 400 and api.mimetype == "application/problem+json"
    assert "ne peut pas être enregistrée" in api.json["detail"]
    assert _counts() == before and db.session.get(User, user_id).name.startswith("Utilisateur")


def _company(**fields) -> dict:
    return {"name": "Nouvelle SA", "tier": "serenite", "contract_start": "2027-01-01", "erp_version": "12.1", **fields}


# The back office's API (an admin's token): (label, method, path, json body or raw bytes, status, words, code)
ADMIN_API = [
    (
        "lone surrogate in a JSON company name",
        "POST",
        "/api/v1/companies",
        _escaped(_company(name="S@@"), "\\ud800"),
        400,
        "UTF-16",
        "bad_input",
    ),
    (
        "lone surrogate in a JSON company rename",
        "PATCH",
        "/api/v1/companies/{company}",
        _escaped({"name": "Labo@@"}, "\\ud800"),
        400,
        "UTF-16",
        "bad_input",
    ),
    (
        "lone surrogate in a JSON webhook URL",
        "POST",
        "/api/v1/webhooks",
        _escaped({"url": "https://example.com/@@", "events": ["booking.created"]}, "\\ud800"),
        400,
        "UTF-16",
        "bad_input",
    ),
    # the web form's bounds (years 2000 to 2099): a contract of 9999 had no anniversary the hour bank could compute
    (
        "contract from year one",
        "POST",
        "/api/v1/companies",
        _company(contract_start="0001-01-01"),
        422,
        "contract_start",
        "invalid_request",
    ),
    (
        "contract from 9999",
        "POST",
        "/api/v1/companies",
        _company(contract_start="9999-12-31"),
        422,
        "contract_start",
        "invalid_request",
    ),
    (
        "contract moved to year one",
        "PATCH",
        "/api/v1/companies/{company}",
        {"contract_start": "0001-01-01"},
        422,
        "contract_start",
        "invalid_request",
    ),
    (
        "contract moved to 9999",
        "PATCH",
        "/api/v1/companies/{company}",
        {"contract_start": "9999-12-31"},
        422,
        "contract_start",
        "invalid_request",
    ),
    (
        "fractional privileged consultant",
        "PATCH",
        "/api/v1/companies/{company}",
        {"privileged_consultant_id": 1.5},
        422,
        "privileged_consultant_id",
        "invalid_request",
    ),
]


@pytest.mark.parametrize(
    "any_app, label, method, path, body, status, words, code", _cases(ADMIN_API), indirect=["any_app"]
)
def test_back_office_api_bad_input_is_refused_clearly_and_changes_nothing(
    world, any_app, label, method, path, body, status, words, code
):
    response = _refused(any_app, world, world["admin_token"], method, path, body, status)
    assert words in response.json["detail"] and response.json["code"] == code


@pytest.mark.parametrize("any_app", ["sqlite", "postgresql"], indirect=True)
def test_a_whole_surrogate_pair_is_text_like_any_other(world, any_app):
    """An emoji is escaped in JSON as a pair of surrogates: only a lone half is refused."""
    client = any_app.test_client()
    with time_machine.travel(NOW, tick=False):
        booked = client.post(
            "/api/v1/bookings",
            data=_escaped(_booking((LATER + timedelta(hours=4)).isoformat(), notes="Merci @@"), "\\ud83d\\ude00"),
            content_type="application/json",
            headers={"Authorization": f"Bearer {world['token']}"},
        )
        company = client.post(
            "/api/v1/companies",
            data=_escaped(_company(name="Sourire @@"), "\\ud83d\\ude00"),
            content_type="application/json",
            headers={"Authorization": f"Bearer {world['admin_token']}"},
        )
    assert booked.status_code == 201, booked.json
    assert company.status_code == 201, company.json
    assert company.json["name"] == "Sourire \U0001f600"
    assert (
        client.get(
            f"/api/v1/bookings/{booked.json['id']}", headers={"Authorization": f"Bearer {world['token']}"}
        ).status_code
        == 200
    )


def _company_form(**fields) -> dict:
    """The admin's company form: `_company`'s fields as the page posts them."""
    return _company(**{"name": "Formulaire SA", "environments": "production", **fields})


@pytest.mark.parametrize("blank", [" ", "\t", "\n"])
@pytest.mark.parametrize("any_app", ["sqlite"], indirect=True)
def test_a_blank_privileged_consultant_on_the_company_form_is_none(world, any_app, blank):
    """The select is optional: white space is its empty choice, « — aucun — », not an id to read."""
    client = any_app.test_client()
    with time_machine.travel(NOW, tick=False):
        assert client.post("/login", data={"email": world["admin"].email, "password": f.PASSWORD}).status_code == 302
        created = client.post("/admin/societes/nouvelle", data=_company_form(privileged_consultant_id=blank))
        edited = client.post(
            f"/admin/societes/{world['company']}/modifier",
            data=_company_form(name="Renommée SA", privileged_consultant_id=blank),
        )
    assert created.status_code == 302 and edited.status_code == 302
    db.session.rollback()
    made = db.session.scalar(select(Company).where(Company.name == "Formulaire SA"))
    renamed = db.session.get(Company, world["company"])
    assert made.privileged_consultant_id is None
    assert renamed.name == "Renommée SA" and renamed.privileged_consultant_id is None
