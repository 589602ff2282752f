"""Every refusal names its reason: one row per code, on the service, the API (code + detail) and the page."""

import html
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from booking.extensions import db
from booking.models import Absence, ExternalBusy, ExternalCalendar
from booking.services import availability, bookings, reasons, tokens
from booking.services.errors import ServiceError
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def _absent(c, start, end):
    c.absences.append(Absence(start_at=paris(start), end_at=paris(end)))


def _imported(c, start, end):
    db.session.add(
        ExternalBusy(
            calendar=ExternalCalendar(consultant_id=c.id, label="Perso"),
            consultant_id=c.id,
            start_at=paris(start),
            end_at=paris(end),
        )
    )


def _booked(c, start, **kw):
    f.booking(c, paris(start), **kw)


# (code, service, start (Paris), tier, setup, words of the sentence)
ROWS = [
    ("grid", "erplib", "2026-12-08 10:07", "serenite", None, "toutes les 15 minutes (par exemple à 10:00 ou à 10:15)"),
    (
        "notice",
        "erplib",
        "2026-12-02 10:00",
        "serenite",
        None,
        "délai de prévenance de 4 heures ouvrées : choisissez un créneau à partir du mercredi 2 décembre 2026 à 14:30",
    ),
    ("gate", "minor_update", "2026-12-03 14:00", "serenite", None, "24 heures ouvrées avant son début"),
    ("horizon", "erplib", "2027-02-15 10:00", "serenite", None, "horizon de réservation de 60 jours"),
    ("holiday", "erplib", "2026-12-25 10:00", "serenite", None, "vendredi 25 décembre 2026 est un jour férié"),
    ("closed", "erplib", "2026-12-08 12:00", "serenite", None, "en dehors des heures ouvrées"),  # over lunch
    ("closed", "erplib", "2026-12-05 10:00", "serenite", None, "en dehors des heures ouvrées"),  # Saturday
    ("closed", "erplib", "2026-12-08 17:30", "serenite", None, "en dehors des heures ouvrées"),  # past 18:00
    ("closed", "major_install", "2026-12-08 14:00", "serenite", None, "commence à l'ouverture d'un jour ouvré"),
    (
        "absence",
        "erplib",
        "2026-12-08 10:00",
        "serenite",
        lambda c: _absent(c, "2026-12-08 09:00", "2026-12-08 12:30"),
        "pendant une absence du consultant",
    ),
    (
        "absence",
        "major_install",
        "2026-12-08 09:00",
        "serenite",
        lambda c: _absent(c, "2026-12-08 14:00", "2026-12-08 18:00"),
        "absent une partie du mardi 8 décembre 2026",
    ),
    (
        "busy",
        "erplib",
        "2026-12-08 10:00",
        "serenite",
        lambda c: _imported(c, "2026-12-08 10:30", "2026-12-08 11:00"),
        "a un autre engagement",
    ),
    ("taken", "erplib", "2026-12-08 10:00", "serenite", lambda c: _booked(c, "2026-12-08 10:15"), "plus disponible"),
    (
        "daily_cap",
        "erplib",
        "2026-12-08 14:00",
        "serenite",
        lambda c: (setattr(c, "daily_cap", 1), _booked(c, "2026-12-08 09:00")),
        "nombre maximal de rendez-vous le mardi 8 décembre 2026",
    ),
    ("not_entitled", "minor_update", "2026-12-09 14:00", "standard", None, "n'inclut pas"),
]
IDS = [f"{row[0]}-{n}" for n, row in enumerate(ROWS)]


@pytest.fixture
def client(any_app):
    """A client of the app on both databases; conftest's `auth` logs in through it."""
    return any_app.test_client()


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _world(tier, setup):
    consultant = f.consultant(skills=("comptabilite", "installation"))
    company = f.company(tier)
    client = f.user("client", company)
    if setup:
        setup(consultant)
    db.session.flush()
    db.session.commit()
    return company, client


@pytest.mark.parametrize("code, kind, start, tier, setup, words", ROWS, ids=IDS)
def test_the_service_names_the_reason(any_app, code, kind, start, tier, setup, words):
    company, client = _world(tier, setup)
    if code != "not_entitled":
        outcome = availability.decide(kind, company, paris(start), NOW)
        assert isinstance(outcome, reasons.Reason) and outcome.code == code and words in outcome.sentence
    with pytest.raises(ServiceError) as refused:
        bookings.book(client, kind, paris(start), NOW)
    assert refused.value.code == code and words in refused.value.message


@pytest.mark.parametrize("code, kind, start, tier, setup, words", ROWS, ids=IDS)
def test_the_api_answers_the_code_and_the_sentence(any_app, client, frozen, code, kind, start, tier, setup, words):
    _, user = _world(tier, setup)
    key = tokens.create(user)
    db.session.commit()
    r = client.post(
        "/api/v1/bookings",
        headers={"Authorization": f"Bearer {key}"},
        json={"service": kind, "start": paris(start).isoformat()},
    )
    assert r.status_code == (403 if code == "not_entitled" else 409)
    assert r.mimetype == "application/problem+json" and r.json["code"] == code and words in r.json["detail"]


@pytest.mark.parametrize("code, kind, start, tier, setup, words", ROWS, ids=IDS)
def test_the_page_shows_the_sentence(any_app, client, auth, frozen, code, kind, start, tier, setup, words):
    _, user = _world(tier, setup)
    auth.login(user.email)
    r = client.post(f"/portail/reserver/{kind}", data={"start": paris(start).isoformat()})
    assert r.status_code in (403, 422) and words in html.unescape(r.get_data(as_text=True))


def test_the_openapi_document_lists_the_codes(client):
    problem = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Problem"]
    assert set(reasons.CODES) <= set(problem["properties"]["code"]["enum"])


def test_a_callback_inside_its_preparation_time_says_so(any_app):
    """A callback follows its ticket: 30 business minutes' notice, not the 4 hours of a session."""
    company, _ = _world("serenite", None)
    outcome = availability.decide("callback", company, NOW + timedelta(minutes=15), NOW)
    assert outcome.code == "notice" and "Un rappel se prépare en 30 minutes ouvrées" in outcome.sentence
