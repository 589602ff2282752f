"""The client's booking pages say, before any consent, what applies: a service that can no longer be booked,
the prerequisites deadline, the free-cancellation limit in the reader's language, a missed callback
commitment, and why a day has no slot."""

import html
from datetime import UTC, date, datetime

import time_machine

from booking.extensions import db
from booking.services import bookings, tokens
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
YEAR = date(2026, 1, 1)
INSTALLED = "Une installation de la version majeure 12.1 est déjà prévue ou faite pour votre société"


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def _contact(tier: str = "serenite"):
    company = f.company(tier, contract_start=YEAR)
    contact = f.user("client", company)
    f.consultant(skills=("installation",))
    db.session.commit()
    return company, contact


def test_a_major_install_already_booked_for_the_version_is_not_offered_again(app, client, auth):
    _company, contact = _contact("serenite")
    bookings.book(contact, "major_install", paris("2026-12-08 09:00"), NOW, environment="test")
    db.session.commit()
    raw = tokens.create(contact)
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        choices = client.get("/portail/reserver").get_data(as_text=True)
        week = client.get("/portail/reserver/major_install")
        api = client.get(
            "/api/v1/availability",
            query_string={"service": "major_install", "start": "2026-12-14", "end": "2026-12-18"},
            headers={"Authorization": f"Bearer {raw}"},
        )
    assert INSTALLED in choices.replace("&#39;", "'")
    assert 'href="/portail/reserver/major_install"' not in choices  # no "Voir les créneaux" for it
    assert 'href="/portail/reserver/major_install_test"' in choices  # the test install stays bookable
    page = week.get_data(as_text=True).replace("&#39;", "'")
    assert week.status_code == 409 and INSTALLED in page and 'name="start"' not in page
    assert api.status_code == 409 and api.json["code"] == "version_installed"


def _read(client, auth, contact, url: str, language: str = "fr") -> str:
    """The page as the contact reads it at NOW (in `language`), apostrophes unescaped."""
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        if language != "fr":
            client.post(f"/langue/{language}", data={"next": "/portail/reserver"})
        return client.get(url).get_data(as_text=True).replace("&#39;", "'")


def test_the_confirm_step_of_a_minor_update_repeats_its_prerequisites_deadline(app, client, auth):
    _company, contact = _contact("confort")
    held = bookings.book(contact, "minor_update", paris("2026-12-10 14:00"), NOW, hold=True)
    page = _read(client, auth, contact, f"/portail/rendez-vous/{held.id}/confirmer")
    assert "Prérequis à confirmer avant le lundi 7 décembre à 11 h 00 ; sans eux, l'intervention" in page


def test_the_cancellation_limit_is_written_in_the_readers_language(app, client, auth):
    _company, contact = _contact("serenite")
    held = bookings.book(contact, "erplib", paris("2026-12-08 14:00"), NOW, hold=True)
    page = _read(client, auth, contact, f"/portail/rendez-vous/{held.id}/confirmer", language="en")
    assert "Free cancellation until Thursday 3 December at 11:00; after that, the session is consumed." in page
    assert " à " not in page and " h 00" not in page


def test_a_confirmed_booking_repeats_its_free_cancellation_limit(app, client, auth):
    _company, contact = _contact("serenite")
    session = bookings.book(contact, "erplib", paris("2026-12-08 14:00"), NOW)
    page = _read(client, auth, contact, f"/portail/rendez-vous/{session.id}")
    assert "Annulation gratuite jusqu'au jeudi 3 décembre à 11 h 00 ; après, la séance est décomptée." in page


def test_a_ticket_whose_take_charge_deadline_has_passed_is_told_late_and_its_first_window(app, client, auth):
    contact = f.user("client", f.company("serenite"))
    f.consultant()
    db.session.commit()
    sunday_evening = paris("2026-12-06 20:40")  # a Bloquante ticket of Friday 16:00: due by Friday 18:00
    with time_machine.travel(sunday_evening, tick=False):
        auth.login(contact.email)
        week = client.get("/portail/reserver/callback?ticket=TCK-9&priorite=bloquante&ouvert=2026-12-04T16:00")
    page = week.get_data(as_text=True)
    assert week.status_code == 200 and "vous appellera au plus tard" not in page
    assert 'data-testid="commitment-missed"' in page and "(avant le ven. 4 déc. 18:00) est déjà dépassé" in page
    assert "Le premier créneau de rappel libre est le lun. 7 déc. 09:30" in page


def _empty_days(page: str) -> list[str]:
    import re

    return [html.unescape(word) for word in re.findall(r'data-testid="empty-day"[^>]*>([^<]*)</p>', page)]


SUNDAY_EVENING = datetime(2026, 12, 6, 19, 40, tzinfo=UTC)  # 20:40 in Paris


def test_a_day_without_slots_says_why(app, client, auth):
    contact = f.user("client", f.company("confort", contract_start=YEAR))
    busy = f.consultant(skills=("installation",))  # the only consultant, for every service
    for hour in (9, 10, 11, 14, 15, 16, 17):  # Thursday 10 December booked all day: that day is full
        f.booking(busy, paris(f"2026-12-10 {hour:02d}:00"), minutes=60 if hour != 11 else 90)
    db.session.commit()
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        auth.login(contact.email)
        christmas = client.get("/portail/reserver/erplib?semaine=2026-12-21").get_data(as_text=True)
        far = client.get("/portail/reserver/erplib?semaine=2027-02-01").get_data(as_text=True)
        minor = client.get("/portail/reserver/minor_update?semaine=2026-12-07").get_data(as_text=True)
        full = client.get("/portail/reserver/erplib?semaine=2026-12-07").get_data(as_text=True)
    assert _empty_days(christmas) == ["Jour férié"]  # Friday 25 December
    assert _empty_days(far) == ["Au-delà de l'horizon de réservation (60 jours)"]  # Friday 5 February 2027
    # Monday to Wednesday: their prerequisites gate has passed; Thursday: booked all day
    assert _empty_days(minor) == ["Trop tard pour les prérequis"] * 3 + ["Complet"]
    assert _empty_days(full) == ["Complet"]
