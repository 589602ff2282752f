"""The menu of sections of the staff (the longest ones): one line on a laptop, no sideways scrolling on a phone."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .test_login import login

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
# 1263: a 1280 px window beside a 17 px scroll bar (headless Chromium draws none).
WIDTHS = (1280, 1263, 390)
STAFF = [("planification@erplib.example", "/planification/"), ("admin@erplib.example", "/admin/")]

# The top of each link of the menu, and how wide the page is against the window.
MEASURE = """() => ({
    tops: [...document.querySelectorAll('nav.menu a')].map(a => Math.round(a.getBoundingClientRect().top)),
    scroll: document.documentElement.scrollWidth,
    window: window.innerWidth,
})"""


@pytest.mark.browser
@pytest.mark.parametrize("email, home", STAFF)
def test_the_staff_menu_is_one_line_at_1280_and_fits_a_phone(page, live_server, email, home):
    login(page, live_server, email)
    expect(page).to_have_url(f"{live_server}{home}")
    SHOTS.mkdir(exist_ok=True)
    wrong = []  # every screenshot taken before the test says what is wrong
    for language, switch in (("fr", "English"), ("en", "Français")):
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            shown = page.evaluate(MEASURE)
            if width != 1263:
                page.screenshot(path=SHOTS / f"menu-{email.split('@')[0]}-{language}-{width}.png")
            if shown["scroll"] > shown["window"]:
                wrong.append(f"{language} {width} px: the page scrolls sideways ({shown['scroll']} px)")
            if width > 1000 and len(set(shown["tops"])) > 1:  # every section on one line
                wrong.append(f"{language} {width} px: the menu wraps ({shown['tops']})")
        page.get_by_role("button", name=switch).click()
        expect(page.locator("html")).to_have_attribute("lang", "en" if language == "fr" else "fr")
    assert not wrong
