"""The planner's week without hover: the keyboard reaches a booking, hears what it is and opens it; on a phone
each block's text is written in it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from booking.extensions import db
from booking.models import Absence, Booking
from calendars.worktime import PARIS

from .test_login import SHOTS, login

PLANNER = "planification@erplib.example"
PHONE = {"width": 390, "height": 800}
# What the focused element is: a block of the week, with a visible outline and its text shown beside it.
FOCUSED = """() => {
    const el = document.activeElement, text = el.querySelector('.text');
    return {
        block: el.matches('.week-grid a.block'), href: el.getAttribute('href'),
        outline: getComputedStyle(el).outlineStyle, width: parseFloat(getComputedStyle(el).outlineWidth),
        shown: text ? text.getBoundingClientRect().width : 0,
    };
}"""
# How much of a block's text shows: the box it is drawn in, and whether it is clipped away.
DRAWN = "el => { const r = el.getBoundingClientRect(); return [r.width, r.height, getComputedStyle(el).clipPath]; }"


def _week(live_app, model, *where):
    """The first row of `model` (bookings or absences of the demo) that the week draws, its company loaded."""
    app, _server = live_app
    with app.app_context():
        query = select(model).where(*where).order_by(model.start_at)
        if model is Booking:
            query = query.options(joinedload(Booking.company))
        for row in db.session.scalars(query):
            start = row.start_at.astimezone(PARIS)
            if start.weekday() < 5 and 9 <= start.hour < 18:  # on a weekday's bar
                return row, start.date().isoformat()
    pytest.fail(f"no {model.__name__} in the demo data")


def _planner_on_the_week_of_a_booking(page, live_app) -> Booking:
    """Logged in as the planner, on the week of a confirmed booking of the demo: that booking."""
    _app, live_server = live_app
    booking, day = _week(live_app, Booking, Booking.status == "confirmed")
    login(page, live_server, PLANNER)
    page.goto(f"{live_server}/planification/semaine?semaine={day}")
    return booking


@pytest.mark.browser
def test_tab_reaches_a_booking_that_says_what_it_is_and_enter_opens_it(page, live_app):
    app, live_server = live_app
    _planner_on_the_week_of_a_booking(page, live_app)
    for _ in range(80):  # the top bar, the menu, the weeks, the table's region, then the first block
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["block"]:
            break
    assert focused["block"], "Tab never reaches a booking of the week"
    assert focused["outline"] != "none" and focused["width"] >= 2, focused
    assert focused["shown"] > 60, "the focused block's text does not show"
    booking_id = int(focused["href"].rsplit("/", 1)[1])
    with app.app_context():
        focused_booking = db.session.get(Booking, booking_id)
        company, consultant = focused_booking.company.name, focused_booking.consultant.name
    # what the block is, and where: the day and the consultant the headers say to a sighted reader
    expect(page.locator(":focus")).to_have_accessible_name(re.compile(re.escape(company)))
    expect(page.locator(":focus")).to_have_accessible_name(re.compile(re.escape(consultant)))
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "planner-week-focus.png")
    page.keyboard.press("Escape")  # the box can be dismissed without moving the focus (WCAG 1.4.13)
    assert page.evaluate(FOCUSED)["shown"] == 0 and page.evaluate(FOCUSED)["href"] == focused["href"]
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/planification/rendez-vous/{booking_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(company)


@pytest.mark.browser
def test_on_a_phone_a_blocks_text_is_written_in_it(page, live_app):
    _app, live_server = live_app
    page.set_viewport_size(PHONE)
    booking = _planner_on_the_week_of_a_booking(page, live_app)
    block = page.locator(f'.week-grid a.block[href$="/rendez-vous/{booking.id}"]').first
    expect(block).to_contain_text(booking.company.name)
    expect(block).to_contain_text(booking.start_at.astimezone(PARIS).strftime("%H:%M"))
    width, height, clip = block.locator(".text").evaluate(DRAWN)
    assert width > 60 and height >= 30 and clip == "none", (width, height, clip)  # two lines: when, who
    assert block.bounding_box()["height"] >= 24

    _absence, day = _week(live_app, Absence)
    page.goto(f"{live_server}/planification/semaine?semaine={day}")
    block = page.locator(".week-grid .block.kind-absence").first
    expect(block).to_have_attribute("tabindex", "0")
    expect(block).to_have_accessible_name(re.compile("Absence"))
    width, _height, clip = block.locator(".text").evaluate(DRAWN)
    assert width > 60 and clip == "none", (width, clip)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "planner-week-390.png", full_page=True)


@pytest.mark.browser
def test_a_skip_link_takes_the_keyboard_past_the_week(page, live_app):
    _planner_on_the_week_of_a_booking(page, live_app)
    skip = page.get_by_role("link", name="Passer la semaine")
    skip.focus()
    expect(skip).to_be_visible()  # hidden until the keyboard reaches it
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "after-week"
