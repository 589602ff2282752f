"""Intervention pages and API: tick the checklist, see the status, notes for major installs."""

from datetime import UTC, date, datetime

import time_machine

from booking.extensions import db
from booking.services import bookings, tokens
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_client_ticks_prerequisites_in_the_portal_and_the_api(app, client, auth):
    company = f.company("serenite", contract_start=date(2026, 1, 1))
    contact = f.user("client", company)
    f.consultant(skills=("installation",))
    planner = f.user("planner")
    raw = tokens.create(contact)
    db.session.commit()
    minor = bookings.book(contact, "minor_update", datetime(2026, 12, 10, 14, tzinfo=PARIS), NOW)
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        page = client.get(f"/portail/rendez-vous/{minor.id}").get_data(as_text=True)
        assert "Serveur redémarré" in page and 'aria-checked="false"' in page
        client.post(f"/portail/rendez-vous/{minor.id}/prerequis", data={"code": "os_updates", "done": "1"})
        page = client.get(f"/portail/rendez-vous/{minor.id}").get_data(as_text=True)
        assert page.count('aria-checked="true"') == 1
        r = client.post(
            f"/api/v1/bookings/{minor.id}/prerequisites",
            json={"code": "server_restarted"},
            headers={"Authorization": f"Bearer {raw}"},
        )
        assert r.status_code == 200 and sum(1 for item in r.json if item["confirmed_at"]) == 2
        bad = client.post(
            f"/api/v1/bookings/{minor.id}/prerequisites",
            json={"code": "coffee"},
            headers={"Authorization": f"Bearer {raw}"},
        )
        assert bad.status_code == 422 and "Prérequis inconnu" in bad.json["detail"]
        auth.logout()
        auth.login(planner.email)
        listing = client.get("/planification/interventions").get_data(as_text=True)
        assert "2 / 4 confirmés" in listing


def test_major_install_notes_client_and_planner(app, client, auth):
    company = f.company("serenite", contract_start=date(2026, 1, 1))
    contact = f.user("client", company)
    f.consultant(skills=("installation",))
    planner = f.user("planner")
    db.session.commit()
    install = bookings.book(contact, "major_install", datetime(2026, 12, 9, 9, tzinfo=PARIS), NOW, environment="test")
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        client.post(f"/portail/rendez-vous/{install.id}/analyse", data={"notes": "2 serveurs, Oracle 19c"})
        auth.logout()
        auth.login(planner.email)
        client.post(
            f"/planification/interventions/{install.id}/changements", data={"changes": "https://notes.example/12.1"}
        )
        listing = client.get("/planification/interventions").get_data(as_text=True)
        assert "2 serveurs, Oracle 19c" in listing and "https://notes.example/12.1" in listing


def test_a_cancelled_install_takes_no_more_notes_and_offers_no_calendar_file(app, client, auth):
    """Its page shows the analysis as it was, without the form or the .ics link; a notes form sent from a page
    read before the cancellation is refused with the booking's state, and nothing changes."""
    company = f.company("serenite", contract_start=date(2026, 1, 1))
    contact = f.user("client", company)
    f.consultant(skills=("installation",))
    db.session.commit()
    install = bookings.book(contact, "major_install", datetime(2026, 12, 9, 9, tzinfo=PARIS), NOW, environment="test")
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        before = client.get(f"/portail/rendez-vous/{install.id}").get_data(as_text=True)
        assert f"/portail/rendez-vous/{install.id}/analyse" in before and ".ics" in before
        client.post(f"/portail/rendez-vous/{install.id}/analyse", data={"notes": "2 serveurs"})
        bookings.cancel(contact, install, NOW)
        sent = client.post(
            f"/portail/rendez-vous/{install.id}/analyse", data={"notes": "plus rien"}, follow_redirects=True
        )
        page = sent.get_data(as_text=True)
    assert "Ce rendez-vous est déjà annulé : ses notes ne se modifient plus." in page
    assert f"/portail/rendez-vous/{install.id}/analyse" not in page and "Ajouter à mon agenda" not in page
    assert 'data-testid="analysis">2 serveurs<' in page
    f.reread()
    assert db.session.get(type(install), install.id).analysis_notes == "2 serveurs"
