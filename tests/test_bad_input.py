"""Bad input, table-driven: each case gets a clear 4xx, and no table changes (row counts before and
after). API cases answer application/problem+json; pages answer with the form's page and its reason."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from booking.extensions import db
from booking.services import tokens

from . import factories as f

CORPUS = Path(__file__).parent / "data" / "ical-corpus"
NEXT_WEEK = date.today() + timedelta(days=7)
LATER = (datetime.now(timezone.utc) + timedelta(days=12)).replace(hour=9, minute=0, second=0, microsecond=0)
BIG = 13 * 1024 * 1024  # above MAX_CONTENT_LENGTH


def _counts() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


@pytest.fixture
def world(app):
    own, other = f.company(), f.company()
    consultant = f.consultant()
    client = f.user("client", own)
    f.user("client", other)
    mine = f.booking(consultant, LATER, company=own)
    theirs = f.booking(consultant, LATER + timedelta(hours=2), company=other)
    raw = tokens.create(client, "bad-input")
    db.session.commit()
    return {"token": raw, "mine": mine.id, "theirs": theirs.id, "client": client, "consultant": consultant}


def _booking(start) -> dict:
    return {"service": "erplib", "start": start}


# (label, method, path, json body or raw bytes, expected status, words the message must contain)
API = [
    ("malformed date", "POST", "/api/v1/bookings", _booking("2026-13-45T10:00:00+01:00"), 422, "start"),
    ("no offset", "POST", "/api/v1/bookings", _booking("2026-12-07T10:00:00"), 422, "décalage horaire"),
    ("impossible offset", "POST", "/api/v1/bookings", _booking("2026-12-07T10:00:00+25:00"), 422, "start"),
    ("year one", "POST", "/api/v1/bookings", _booking("0001-01-01T10:00:00+01:00"), 422, "2000"),
    ("unknown service", "POST", "/api/v1/bookings", {"service": "astrologie", "start": LATER.isoformat()}, 422, "service"),
    ("not JSON", "POST", "/api/v1/bookings", b"{not json", 400, ""),
    ("oversized body", "POST", "/api/v1/bookings", b"x" * BIG, 413, ""),
    ("inverted range", "GET", f"/api/v1/availability?service=erplib&start={NEXT_WEEK}&end={NEXT_WEEK - timedelta(days=3)}",
     None, 422, "end"),
    ("huge range", "GET", f"/api/v1/availability?service=erplib&start={NEXT_WEEK}&end={NEXT_WEEK + timedelta(days=400)}",
     None, 422, "62 jours"),
    ("malformed day", "GET", "/api/v1/availability?service=erplib&start=demain&end=2026-12-10", None, 422, "start"),
    ("unknown id", "GET", "/api/v1/bookings/999999", None, 404, "999999"),
    ("unknown id, cancel", "POST", "/api/v1/bookings/999999/cancel", {}, 404, "999999"),
    ("other company's id", "GET", "/api/v1/bookings/{theirs}", None, 404, "Aucun rendez-vous"),
    ("other company's id, cancel", "POST", "/api/v1/bookings/{theirs}/cancel", {}, 404, "Aucun rendez-vous"),
    ("other company's id, move", "PATCH", "/api/v1/bookings/{theirs}", {"start": LATER.isoformat()}, 404, "Aucun rendez-vous"),
    ("malformed move", "PATCH", "/api/v1/bookings/{mine}", {"start": "mardi"}, 422, "start"),
    ("unknown prerequisite", "POST", "/api/v1/bookings/{mine}/prerequisites", {"code": "nope"}, 422, ""),
]


@pytest.mark.parametrize("label, method, path, body, status, words", API, ids=[c[0] for c in API])
def test_api_bad_input_is_refused_clearly_and_changes_nothing(world, client, label, method, path, body, status, words):
    before = _counts()
    headers = {"Authorization": f"Bearer {world['token']}"}
    kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, bytes) else {"json": body}
    response = client.open(path.format(**world), method=method, headers=headers, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == status and response.json["detail"]
    assert words in response.json["detail"]
    assert _counts() == before


def _upload(name: str, data: bytes) -> dict:
    return {"label": "Perso", "file": (io.BytesIO(data), name)}


PAGES = [
    ("invalid .ics", "consultant", "/agenda/calendriers", lambda: _upload("x.ics", b"BEGIN:VCALENDAR\nnot really"), 422,
     ""),
    ("corrupt UTC offset in .ics", "consultant", "/agenda/calendriers",
     lambda: _upload("x.ics", (CORPUS / "icalendar" / "parsing_error_in_UTC_offset.ics").read_bytes()), 422, ""),
    ("oversized upload", "consultant", "/agenda/calendriers", lambda: _upload("big.ics", b"x" * BIG), 413, ""),
    ("empty calendar form", "consultant", "/agenda/calendriers", lambda: {"label": "Perso"}, 422, "fichier .ics"),
    ("malformed start", "client", "/portail/reserver/erplib", lambda: {"start": "lundi 10h"}, 422, "Créneau invalide"),
    ("start without offset", "client", "/portail/reserver/erplib", lambda: {"start": "2026-12-07T10:00:00"}, 422,
     "Créneau invalide"),
    ("unknown service", "client", "/portail/reserver/astrologie", lambda: {"start": LATER.isoformat()}, 422, "astrologie"),
    ("other company's booking", "client", "/portail/rendez-vous/{theirs}/annuler", lambda: {}, 404, ""),
    ("unknown booking", "client", "/portail/rendez-vous/999999/deplacer", lambda: {"start": LATER.isoformat()}, 404, ""),
]


@pytest.mark.parametrize("label, role, path, form, status, words", PAGES, ids=[c[0] for c in PAGES])
def test_page_bad_input_is_refused_clearly_and_changes_nothing(world, client, auth, label, role, path, form, status, words):
    user = world["client"] if role == "client" else world["consultant"].user
    auth.login(user.email)
    before = _counts()
    response = client.post(path.format(**world), data=form(), content_type=None)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert words in html and "<form" in html or status in (404, 413)
    assert _counts() == before
