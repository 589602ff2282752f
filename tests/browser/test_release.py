"""Without JavaScript, a hold is released only after the page says what will happen, and going back keeps it."""

import pytest
from playwright.sync_api import expect

from .test_booking import balance_text, minutes
from .test_login import SHOTS, login


@pytest.mark.browser
def test_a_hold_is_released_after_being_asked_and_nothing_is_counted(plain_page, live_server):
    page = plain_page
    login(page, live_server, "marc@labo-bernard.example")
    before = minutes(balance_text(page, live_server))
    page.goto(f"{live_server}/portail/reserver/erplib")
    page.get_by_role("link", name="Semaine suivante").click()
    page.locator("button.slot").first.click()
    expect(page.get_by_role("heading", name="Confirmer le rendez-vous")).to_be_visible()
    confirm_url = page.url

    page.get_by_role("link", name="Libérer ce créneau").click()
    expect(page.get_by_role("heading", name="Libérer ce créneau ?")).to_be_visible()
    expect(page.get_by_test_id("consequences")).to_have_text(
        "Rien n'a encore été compté : le créneau sera rendu aux autres clients."
    )
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "release-confirm.png", full_page=True)
    page.get_by_role("link", name="Non, revenir").click()
    expect(page).to_have_url(confirm_url)  # going back changed nothing: the hold still waits for consent
    expect(page.get_by_role("button", name="Confirmer")).to_be_visible()

    page.get_by_role("link", name="Libérer ce créneau").click()
    page.get_by_role("button", name="Oui, libérer ce créneau").click()
    expect(page.get_by_role("status").first).to_have_text("Créneau libéré : rien ne vous est compté.")
    assert minutes(balance_text(page, live_server)) == before
