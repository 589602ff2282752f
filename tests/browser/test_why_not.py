"""The planner asks why a slot is not free, at 1280 and 390 px."""

from datetime import datetime, time

import pytest
from playwright.sync_api import expect

from calendars.worktime import PARIS

from ..dates import working_day
from .test_login import SHOTS, login


@pytest.mark.browser
def test_the_planner_asks_why_a_slot_is_not_free(page, live_server):
    login(page, live_server, "planification@erplib.example")
    page.get_by_role("link", name="Pourquoi pas libre ?").click()
    page.get_by_label("Client").select_option(label="Laboratoires Bernard")
    page.get_by_label("Prestation").select_option("erplib")
    page.get_by_label("Date").fill(working_day().isoformat())
    page.get_by_label("Heure (Paris)").fill("12:00")  # over lunch: closed for everyone
    page.get_by_role("button", name="Expliquer").click()
    expect(page.get_by_role("columnheader", name="Règles qui bloquent")).to_be_visible()
    expect(page.locator("td code", has_text="closed").first).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "why-not-1280.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SHOTS / "why-not-390.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.browser
def test_the_client_home_shows_the_burn_down(page, live_server):
    login(page, live_server, "claire@labo-bernard.example")
    page.goto(f"{live_server}/portail/")
    expect(page.get_by_test_id("burn-down")).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "client-home-1280.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SHOTS / "client-home-390.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.browser
def test_a_refused_slot_says_why(page, live_server):
    login(page, live_server, "claire@labo-bernard.example")
    page.goto(f"{live_server}/portail/reserver/erplib?semaine={working_day(14).isoformat()}")
    slot = page.locator("button[name=start]").first
    # a slot taken meanwhile: the button now asks for 12:00 Paris time on its day, over everyone's lunch
    day = datetime.fromisoformat(slot.get_attribute("value")).astimezone(PARIS).date()
    slot.evaluate(f"b => b.value = '{datetime.combine(day, time(12), PARIS).isoformat()}'")
    slot.click()
    expect(page.get_by_text("Pourquoi ?")).to_be_visible()
    page.get_by_text("Pourquoi ?").click()
    expect(page.locator("details.why li").first).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "why-refused-1280.png", full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SHOTS / "why-refused-390.png", full_page=False)
