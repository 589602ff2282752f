"""A client requests priority consulting, a planner plans it, the client reads the quote (dates, consultant,
lines, total, validity) and accepts it through the confirmation step."""

import re

import pytest
from playwright.sync_api import expect

from .test_login import SHOTS, login

CLIENT = "claire@labo-bernard.example"  # Laboratoires Bernard, Sérénité: the consulting itself is included
PLANNER = "planification@erplib.example"
MARK = "Devis vu dans le navigateur"


@pytest.mark.browser
def test_the_client_reads_the_quote_and_accepts_it_in_a_second_step(browser, live_server):
    client = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris").new_page()
    planner = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris").new_page()
    login(client, live_server, CLIENT)
    client.goto(f"{live_server}/portail/priorite")
    client.get_by_label("Compétence").select_option("migration")
    client.get_by_label("Description").fill(MARK)
    client.get_by_role("button", name="Envoyer la demande").click()
    expect(client.get_by_text("Demande envoyée")).to_be_visible()

    login(planner, live_server, PLANNER)
    planner.locator("li", has_text=MARK).get_by_role("link").click()
    planner.get_by_role("button", name="Accepter et planifier").click()
    expect(planner.get_by_role("heading", name="Plan proposé")).to_be_visible(timeout=60_000)
    expect(planner.get_by_label("Accord du client (par téléphone)")).to_be_visible()  # not accepted yet

    client.goto(f"{live_server}/portail/priorite")
    client.get_by_role("link", name="Voir le devis").first.click()
    quote = client.get_by_test_id("quote")
    when = re.compile(r"^\s*[A-Z][^,]+, du .+ \d\d:\d\d au .+ \d\d:\d\d\s*$")  # consultant, from, to
    expect(quote.get_by_test_id("quote-dates")).to_contain_text(when)
    expect(quote.get_by_test_id("quote-consulting")).to_contain_text("inclus dans votre formule")
    expect(quote.get_by_test_id("quote-total")).to_have_text(re.compile(r"^[\d\u202f\u00a0 ]+,\d\d\s€$"))
    expect(quote.get_by_test_id("quote-validity")).to_contain_text("Valable jusqu'au")
    total = quote.get_by_test_id("quote-total").inner_text()
    SHOTS.mkdir(exist_ok=True)
    client.screenshot(path=SHOTS / "priority-quote.png", full_page=True)

    client.get_by_role("link", name="Accepter ce devis…").click()
    expect(client.get_by_role("heading", name="Confirmer l'acceptation du devis")).to_be_visible()
    client.get_by_role("button", name=f"Confirmer et accepter ({total} HT)").click()
    expect(client.get_by_role("status").first).to_contain_text("Devis accepté")
    expect(client.get_by_text("Accepté le")).to_be_visible()
