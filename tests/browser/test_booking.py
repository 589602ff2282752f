"""A Sérénité contact books, sees the hour bank drop by 45 minutes, cancels, sees it restored;
a Standard contact sees what its contract lacks, with the reason, and cannot book it."""

import re
from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from booking.extensions import db
from booking.models import User
from booking.services import bookings
from booking.services.errors import ServiceError
from calendars.worktime import PARIS

from ..dates import working_days
from .conftest import write_lock_first
from .test_login import SHOTS, login


def balance_text(page, base) -> str:
    page.goto(f"{base}/portail/banque-heures")
    return page.get_by_test_id("balance").inner_text()


def minutes(text: str) -> int:
    hours = re.search(r"(\d+) h", text)
    rest = re.search(r"h (\d+)", text) or re.search(r"^(\d+) minutes?$", text)
    return (int(hours.group(1)) * 60 if hours else 0) + (int(rest.group(1)) if rest else 0)


@pytest.mark.browser
def test_serenite_contact_books_and_cancels(page, live_server):
    login(page, live_server, "marc@labo-bernard.example")
    before = minutes(balance_text(page, live_server))
    page.get_by_role("link", name="Réserver").first.click()
    page.locator("[data-kind=erplib]").get_by_role("link", name="Voir les créneaux").click()
    page.get_by_role("link", name="Semaine suivante").click()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "book-week.png", full_page=True)
    # a slot beyond the 24-business-hour cut-off, whatever the day (next Monday is inside it on a Thursday)
    page.locator("button.slot", has_text="annulation gratuite").first.click()
    expect(page.get_by_role("heading", name="Confirmer le rendez-vous")).to_be_visible()
    page.screenshot(path=SHOTS / "book-confirm.png", full_page=True)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_role("status").first).to_contain_text("Rendez-vous confirmé")
    expect(page.get_by_test_id("status")).to_have_text("Confirmé")
    expect(page.get_by_role("link", name="Ajouter à mon agenda (.ics)")).to_be_visible()
    page.screenshot(path=SHOTS / "book-detail.png", full_page=True)
    detail_url = page.url
    assert minutes(balance_text(page, live_server)) == before - 45
    page.goto(detail_url)
    page.get_by_role("link", name="Annuler ce rendez-vous").click()  # a confirmation page asks first
    page.get_by_role("button", name="Oui, annuler ce rendez-vous").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Rendez-vous annulé : 45 minutes rendues à votre banque d'heures."
    )
    assert minutes(balance_text(page, live_server)) == before
    page.screenshot(path=SHOTS / "hour-bank.png", full_page=True)


@pytest.mark.browser
def test_standard_contact_sees_what_the_contract_lacks(page, live_server):
    login(page, live_server, "claire@menuiserie-dupont.example")
    page.get_by_role("link", name="Réserver").first.click()
    minor = page.locator("[data-kind=minor_update]")
    expect(minor.get_by_role("note")).to_contain_text("La formule Standard n'inclut pas")
    expect(minor.get_by_role("link")).to_have_count(0)
    page.screenshot(path=SHOTS / "book-services-standard.png", full_page=True)
    response = page.goto(f"{live_server}/portail/reserver/minor_update")
    assert response.status == 403
    expect(page.get_by_text("La formule Standard n'inclut pas")).to_be_visible()


def _a_started_session(app, email: str) -> int:
    """A confirmed ERP-Lib session of the last days, booked a week before it began, whose outcome is not recorded."""
    with app.app_context():
        write_lock_first()
        contact = db.session.scalar(select(User).where(User.email == email))
        for day in working_days(10, after=-20):  # before today whatever the holidays: later ones are skipped
            for hour in (9, 10, 11, 14, 15, 16):
                start = datetime.combine(day, time(hour), PARIS)
                if start > datetime.now(PARIS) - timedelta(hours=1):
                    continue
                try:
                    booking = bookings.book(contact, "erplib", start, start - timedelta(days=7))
                except ServiceError:  # that slot was taken in the demo: the next one
                    db.session.rollback()
                    write_lock_first()
                    continue
                db.session.commit()
                return booking.id
    raise AssertionError("no free slot in the last days")


@pytest.mark.browser
def test_a_started_session_says_why_it_is_no_longer_cancelled_on_a_phone(browser, live_app):
    """From its start a session is the consultant's to record: the detail page offers no cancellation and says
    whom to call; the confirmation page opened before the start sends back there with the reason."""
    app, base = live_app
    booking_id = _a_started_session(app, "marc@labo-bernard.example")
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        login(page, base, "marc@labo-bernard.example")
        page.goto(f"{base}/portail/rendez-vous/{booking_id}")
        expect(page.get_by_test_id("cancel-limit")).to_have_text(
            "Ce rendez-vous a commencé : il ne s'annule plus ; le consultant indique s'il a eu lieu. "
            "Un empêchement ? Appelez votre planificateur."
        )
        expect(page.get_by_role("link", name="Annuler ce rendez-vous")).to_have_count(0)
        expect(page.get_by_role("link", name="Déplacer")).to_have_count(0)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=SHOTS / "book-detail-started-390.png", full_page=True)
        page.goto(f"{base}/portail/rendez-vous/{booking_id}/annuler")  # a confirmation page opened before the start
        expect(page).to_have_url(f"{base}/portail/rendez-vous/{booking_id}")
        expect(page.get_by_role("alert").or_(page.get_by_role("status")).first).to_contain_text(
            "Ce rendez-vous a déjà commencé : il ne peut plus être annulé."
        )
    finally:
        context.close()
