"""The planner's dashboard in a real browser, at 1280 and 390 px, on the demo data and a priority consulting
placed three months ago (with the compensation it paid)."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from booking.extensions import db
from booking.models import Booking, Company, Compensation, PriorityRequest, ReshufflePlan
from booking.services.dashboard import add_months
from calendars.worktime import PARIS

from .conftest import write_lock_first
from .test_login import SHOTS, login


def _placed_priority(app) -> date:
    """An applied plan in the month three months back (inside the default six, never the month in which another test
    applies a plan): requested, accepted, applied, placed 4 days after acceptance; one booking moved for it."""
    month = add_months(datetime.now(PARIS).date().replace(day=1), -3)
    anchor = datetime.combine(month.replace(day=22), time(10), PARIS)
    with app.app_context():
        write_lock_first()
        payer = db.session.scalar(select(Company).where(Company.name == "Aciéries de Lorraine"))
        moved = db.session.scalar(select(Booking).where(Booking.company_id != payer.id).limit(1))
        request = PriorityRequest(
            company_id=payer.id,
            requester_id=payer.contacts[0].id,
            skill="migration",
            amount=1,
            unit="days",
            status="applied",
            requested_at=anchor - timedelta(days=21),
            accepted_at=anchor - timedelta(days=20, hours=22),
            client_accepted_at=anchor - timedelta(days=20),
        )
        db.session.add(request)
        db.session.flush()
        start = (anchor - timedelta(days=16, hours=22)).isoformat()
        plan = ReshufflePlan(
            kind="priority",
            status="applied",
            request_id=request.id,
            plan={"placements": [{"consultant": "c1", "start": start, "end": start}], "moves": []},
        )
        db.session.add(plan)
        db.session.flush()
        db.session.add(
            Compensation(
                plan_id=plan.id,
                payer_company_id=payer.id,
                beneficiary_company_id=moved.company_id,
                booking_id=moved.id,
                amount_eur=Decimal("900.00"),
                created_at=anchor - timedelta(days=20),
            )
        )
        db.session.commit()
    return month


@pytest.mark.browser
def test_the_planner_reads_the_dashboard_at_1280_and_390_px(page, live_app):
    app, base = live_app
    month = _placed_priority(app)
    login(page, base, "planification@erplib.example")
    page.get_by_role("link", name="Tableau de bord").click()
    for heading in (
        "Charge des consultants",
        "Rappels et engagement de prise en charge",
        "Banques d'heures",
        "Compensations payées",
        "Conseil prioritaire : délai de placement",
    ):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_role("img", name="Carte de chaleur")).to_be_visible()
    for name in ("Aciéries de Lorraine", "Laboratoires Bernard"):  # the demo's Sérénité clients
        expect(page.locator("figure.bank figcaption", has_text=name)).to_be_visible()
    page.get_by_text("Les chiffres : compensations par mois").click()
    expect(page.get_by_test_id("compensations-table")).to_contain_text("900,00")
    page.get_by_text("Les chiffres : heures réservées / disponibles").click()
    expect(page.get_by_test_id("load-table")).to_contain_text("Camille Laurent")
    with page.expect_download() as download:
        page.locator("#compensations").get_by_role("link", name="Télécharger les chiffres (CSV)").click()
    assert download.value.suggested_filename.startswith("tableau-de-bord-compensations-")
    assert f"{month:%Y-%m};900,00;1;1" in Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "dashboard-1280.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SHOTS / "dashboard-390.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_label("Durée").select_option("26")
    page.get_by_role("button", name="Afficher").click()
    expect(page.get_by_role("img", name="Carte de chaleur")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the wide heat map scrolls in its card
    page.screenshot(path=SHOTS / "dashboard-26-weeks-390.png", full_page=False)
