"""An admin subscribes a receiver to events, copies the secret shown once, rotates it and deletes the
subscription, each destructive step asked once more; at 1280 px and on a 390 px phone."""

import pytest
from playwright.sync_api import expect

from .test_login import SHOTS, login


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_admin_manages_a_webhook_subscription(browser, live_server, width):
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        SHOTS.mkdir(exist_ok=True)
        login(page, live_server, "admin@erplib.example")
        page.get_by_role("link", name="Webhooks").first.click()
        page.get_by_role("link", name="Nouvel abonnement").click()
        page.get_by_label("Adresse du destinataire (https://)").fill(f"https://erp.client-{width}.example/hooks")
        page.get_by_label("Description (facultative)").fill("ERP du client")
        page.get_by_label("Rendez-vous réservé (ferme)").check()
        page.get_by_label("Rendez-vous annulé").check()
        page.screenshot(path=SHOTS / f"webhooks-new-{width}.png", full_page=True)
        page.get_by_role("button", name="Créer l'abonnement").click()
        secret = page.get_by_test_id("secret").inner_text()
        assert secret.startswith("whsec_")
        page.screenshot(path=SHOTS / f"webhooks-secret-{width}.png", full_page=True)
        page.get_by_role("link", name="C'est noté, voir l'abonnement").click()
        expect(page.get_by_role("heading", name="Journal des envois")).to_be_visible()
        assert secret not in page.content()
        page.screenshot(path=SHOTS / f"webhooks-show-{width}.png", full_page=True)
        page.get_by_role("link", name="Remplacer le secret").click()
        page.screenshot(path=SHOTS / f"webhooks-rotate-{width}.png", full_page=True)
        page.get_by_role("button", name="Oui, créer un nouveau secret").click()
        assert page.get_by_test_id("secret").inner_text() not in (secret, "")
        page.get_by_role("link", name="C'est noté, voir l'abonnement").click()
        page.get_by_role("link", name="Supprimer").click()
        page.screenshot(path=SHOTS / f"webhooks-delete-{width}.png", full_page=True)
        page.get_by_role("button", name="Oui, supprimer").click()
        expect(page.get_by_text("supprimé, avec son journal d'envois")).to_be_visible()
        page.screenshot(path=SHOTS / f"webhooks-index-{width}.png", full_page=True)
    finally:
        context.close()
