"""A mail's link in a real browser: it leads to the booking once logged in; a damaged one explains itself."""

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from booking.extensions import db
from booking.models import Booking, User
from booking.services import links

from .test_login import login

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.mark.browser
def test_a_mail_link_leads_to_the_booking_and_a_damaged_one_says_so(page, live_app):
    app, base = live_app
    with app.app_context():
        contact = db.session.scalar(select(User).where(User.email == "claire@labo-bernard.example"))
        booking = db.session.scalars(
            select(Booking).where(Booking.company_id == contact.company_id, Booking.status == "confirmed")
        ).first()
        path = "/lien/" + links.url(booking, "voir").split("/lien/", 1)[1]
        booking_id = booking.id
    page.goto(f"{base}{path}")
    login(page, base, "claire@labo-bernard.example")
    page.goto(f"{base}{path}")
    expect(page).to_have_url(f"{base}/portail/rendez-vous/{booking_id}")
    page.goto(f"{base}{path[:-3]}xyz")
    expect(page.get_by_role("heading", name="Lien non valide")).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 700})
        page.screenshot(path=SHOTS / f"mail-link-invalid-{width}.png", full_page=True)
