"""Each demo login reaches its role's home page in a real browser."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from booking.demo import DEMO_PASSWORD

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
LOGINS = [
    ("claire@labo-bernard.example", "/portail/", "Laboratoires Bernard"),
    ("claire@boulangeries-martin.example", "/portail/", "Boulangeries Martin"),
    ("thomas.roux@erplib.example", "/consultant/", "Mon planning"),
    ("planification@erplib.example", "/planification/", "Demandes de conseil prioritaire"),
    ("admin@erplib.example", "/admin/", "Clients et contrats"),
]


def login(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.browser
@pytest.mark.parametrize("email, path, heading", LOGINS)
def test_demo_login_reaches_its_home_page(page, live_server, email, path, heading):
    login(page, live_server, email)
    expect(page).to_have_url(f"{live_server}{path}")
    expect(page.get_by_text(heading).first).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Bienvenue")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"home-{email.split('@')[0]}-{path.strip('/')}.png", full_page=True)
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(f"{live_server}/login")


@pytest.mark.browser
def test_wrong_password_shows_the_error_next_to_the_field(page, live_server):
    page.goto(f"{live_server}/login")
    page.get_by_label("Adresse e-mail").fill("admin@erplib.example")
    page.get_by_label("Mot de passe").fill("wrong")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_have_text("E-mail ou mot de passe incorrect.")


@pytest.mark.browser
def test_sérénité_client_sees_its_hour_bank_and_can_switch_to_english(page, live_server):
    login(page, live_server, "claire@labo-bernard.example")
    expect(page.get_by_test_id("balance")).to_contain_text("h")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="ERP-Lib hour bank")).to_be_visible()
    page.get_by_role("button", name="Français").click()
    expect(page.get_by_role("heading", name="Banque d'heures ERP-Lib")).to_be_visible()
