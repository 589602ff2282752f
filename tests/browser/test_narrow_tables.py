"""Wide tables on a phone: one "label : value" block per row, nothing cut off and the actions in view; on a
laptop the users table fits its card."""

from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from booking.extensions import db
from booking.models import ACTIVE_STATUSES, Booking, Company, Consultant, User, overlapping, with_status
from booking.services import priority
from calendars.worktime import PARIS, WorkCalendar

from .. import factories as f
from .conftest import write_lock_first
from .test_login import SHOTS, login

CLIENT = "claire@labo-bernard.example"  # the seeded priority request is hers
PHONE = {"width": 390, "height": 800}
LAPTOP = {"width": 1280, "height": 800}
PLANNER = "planification@erplib.example"

# The cells whose right edge passes the window, and the cards that scroll sideways (their content cut off).
CUT = """() => ({
    cells: [...document.querySelectorAll('main td')].filter(td => td.getBoundingClientRect().right > innerWidth + 0.5)
        .map(td => td.dataset.label || td.textContent.trim().slice(0, 30)),
    cards: [...document.querySelectorAll('main .card')].filter(c => c.scrollWidth > c.clientWidth).length,
})"""
# The right edge of each element the selector finds.
RIGHTS = "(elements) => elements.map(e => e.getBoundingClientRect().right)"


def assert_nothing_cut(page, url, actions):
    """At phone width: no cell beyond the window, no card scrolling sideways, each action inside the window."""
    page.goto(url)
    assert page.evaluate(CUT) == {"cells": [], "cards": 0}, url
    rights = page.locator(actions).evaluate_all(RIGHTS)
    assert all(right <= PHONE["width"] for right in rights), (url, actions, rights)
    return len(rights)


@pytest.mark.browser
def test_wide_tables_stack_on_a_phone_and_the_users_table_fits_its_card(page, live_server):
    page.set_viewport_size(PHONE)
    login(page, live_server, CLIENT)
    assert_nothing_cut(page, f"{live_server}/portail/priorite", "main td.actions a")  # a quote, once one is ready
    assert assert_nothing_cut(page, f"{live_server}/portail/banque-heures", "main td a") > 0  # the bookings

    page.context.clear_cookies()
    login(page, live_server, PLANNER)
    assert assert_nothing_cut(page, f"{live_server}/planification/interventions", "main td button") > 0  # Save

    page.context.clear_cookies()
    login(page, live_server, "admin@erplib.example")
    assert assert_nothing_cut(page, f"{live_server}/admin/utilisateurs", "main td.actions button") > 0
    page.set_viewport_size(LAPTOP)
    table, card = page.locator("main table.users").evaluate(
        "t => [t.getBoundingClientRect().width, t.closest('.card').clientWidth]"
    )
    assert page.evaluate(CUT)["cards"] == 0, f"the users table ({table} px) is wider than its card ({card} px)"


def _accepted_request(app) -> int:
    """Five days of migration for a Sérénité client, accepted: the live server's workers compute a plan. Every
    migration consultant is first given an afternoon session, booked a month ago by another client, on each working
    day of the next ten (where free), so that any placement moves bookings and pays compensation, whatever the
    day the test runs (the demo's own bookings alone left nothing to move in Easter week). The request's id."""
    with app.app_context():
        write_lock_first()
        company = db.session.scalar(select(Company).where(Company.name == "Laboratoires Bernard"))
        other = db.session.scalar(select(Company).where(Company.name == "Transports Leroy"))
        planner = db.session.scalar(select(User).where(User.email == PLANNER))
        now = datetime.now(UTC)
        calendar = WorkCalendar()
        for consultant in db.session.scalars(select(Consultant)):
            if "migration" not in consultant.skills:
                continue
            for offset in range(3, 11):
                day = (now + timedelta(days=offset)).astimezone(PARIS).date()
                start = datetime.combine(day, time(14), PARIS)
                end = start + timedelta(minutes=45)
                taken = select(Booking.id).where(
                    Booking.consultant_id == consultant.id, with_status(ACTIVE_STATUSES), overlapping(start, end)
                )
                if calendar.is_working_day(day) and db.session.scalar(taken.limit(1)) is None:
                    f.booking(
                        consultant, start, company=other, contact=other.contacts[0], booked_at=now - timedelta(days=30)
                    )
        db.session.commit()
        write_lock_first()
        request = priority.request_consulting(company.contacts[0], "migration", 5, "days", "Tables du plan", now)
        priority.decide(planner, request, True, now)
        db.session.remove()
        return request.id


@pytest.mark.browser
def test_a_plans_moved_bookings_stack_on_a_phone(page, live_app):
    """Before/after/compensation of each moved booking as "label : value" rows, not cut off inside a card."""
    app, live_server = live_app
    page.set_viewport_size(PHONE)
    login(page, live_server, PLANNER)
    url = f"{live_server}/planification/priorite/{_accepted_request(app)}"
    page.goto(url)
    expect(page.get_by_role("heading", name="Plan proposé")).to_be_visible(timeout=60_000)
    page.goto(url)
    cards = page.locator("main .card", has=page.locator("table.stack"))
    assert cards.count() == 3  # the quote, then the plan's compensation per client and moved bookings
    for card in cards.all():
        assert card.evaluate("c => c.scrollWidth <= c.clientWidth"), card.locator("h2").text_content()
    rights = page.locator("main td[data-label='Après'], main td[data-label='Compensation']").evaluate_all(RIGHTS)
    assert rights and all(right <= PHONE["width"] for right in rights), rights
    total = page.get_by_test_id("quote-total").evaluate("e => e.getBoundingClientRect().right")
    assert total <= PHONE["width"]
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "plan-and-quote-390.png", full_page=True)
