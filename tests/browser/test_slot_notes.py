"""The week page says on each slot what applies before consent: free cancellation or not, prerequisites due."""

import pytest
from playwright.sync_api import expect

from .test_login import SHOTS, login


@pytest.mark.browser
def test_slots_say_what_applies(page, live_server):
    login(page, live_server, "marc@labo-bernard.example")  # Sérénité: sessions and minor updates
    page.goto(f"{live_server}/portail/reserver/erplib")
    # the first slot offered is a few business hours ahead: inside the 24-hour cut-off
    expect(page.locator("button.slot").first).to_contain_text("annulation non remboursable")
    page.get_by_role("link", name="Semaine suivante").click()
    page.get_by_role("link", name="Semaine suivante").click()  # beyond the cut-off
    expect(page.locator("button.slot").first).to_contain_text("annulation gratuite jusqu'au")
    page.goto(f"{live_server}/portail/reserver/minor_update")
    page.get_by_role("link", name="Semaine suivante").click()
    page.get_by_role("link", name="Semaine suivante").click()  # well after the prerequisites gate
    first = page.locator("button.slot").first
    expect(first).to_contain_text("prérequis à confirmer avant le")
    expect(first).to_contain_text("annulation gratuite jusqu'au")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "slot-notes.png", full_page=True)
