"""Without JavaScript, a Sérénité contact sees the cost and the free-cancellation limit before confirming,
then cancels through the confirmation page and reads what happened to the minutes."""

import pytest
from playwright.sync_api import expect

from .test_booking import balance_text, minutes
from .test_login import SHOTS, login


@pytest.mark.browser
def test_serenite_contact_sees_the_cost_then_cancels_after_being_asked(plain_page, live_server):
    page = plain_page
    login(page, live_server, "marc@labo-bernard.example")
    before = minutes(balance_text(page, live_server))
    page.goto(f"{live_server}/portail/reserver/erplib")
    page.get_by_role("link", name="Semaine suivante").click()
    # a slot beyond the 24-business-hour cut-off, whatever the day (next Monday is inside it on a Thursday)
    page.locator("button.slot", has_text="annulation gratuite").first.click()
    expect(page.get_by_role("heading", name="Confirmer le rendez-vous")).to_be_visible()
    included = min(45, before)
    expect(page.get_by_test_id("included")).to_contain_text("incluses")
    expect(page.get_by_test_id("billable")).to_contain_text("rien" if included == 45 else "€ HT")
    expect(page.get_by_test_id("cancel-limit")).to_contain_text("Annulation gratuite jusqu'au")
    expect(page.get_by_test_id("cancel-limit")).to_contain_text("après, la séance est décomptée")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "book-confirm-cost.png", full_page=True)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_test_id("status")).to_have_text("Confirmé")
    detail_url = page.url

    page.get_by_role("link", name="Annuler ce rendez-vous").click()
    expect(page.get_by_role("heading", name="Annuler ce rendez-vous ?")).to_be_visible()
    if included:
        expect(page.get_by_test_id("consequences")).to_contain_text("seront rendues à votre banque d'heures")
    page.screenshot(path=SHOTS / "cancel-confirm.png", full_page=True)
    page.get_by_role("link", name="Non, revenir").click()
    expect(page).to_have_url(detail_url)
    expect(page.get_by_test_id("status")).to_have_text("Confirmé")  # going back changed nothing

    page.get_by_role("link", name="Annuler ce rendez-vous").click()
    page.get_by_role("button", name="Oui, annuler ce rendez-vous").click()
    expect(page.get_by_test_id("status")).to_have_text("Annulé")
    if included == 45:
        expect(page.get_by_role("status").first).to_have_text(
            "Rendez-vous annulé : 45 minutes rendues à votre banque d'heures."
        )
    else:
        expect(page.get_by_role("status").first).to_contain_text("Rendez-vous annulé :")
    assert minutes(balance_text(page, live_server)) == before
