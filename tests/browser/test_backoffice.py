"""The back office in a real browser (issue 15): an admin onboards a new Sérénité company with two contacts
and a privileged consultant; a contact receives the invitation through a real SMTP server, sets a
password and books; the admin moves the company to Confort from next month. Every new page is
photographed at 1280 and 390 px (screenshots/backoffice-*.png)."""

from __future__ import annotations

import re
import shutil
import threading
from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect
from werkzeug.serving import make_server

from booking import create_app
from booking.demo import ensure_demo
from booking.extensions import db
from booking.models.types import utcnow
from booking.pgcluster import free_port
from booking.services import mail

from ..dates import contract_start
from .test_login import SHOTS, login

PHONE = {"width": 390, "height": 844}


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def mailing_server(sqlite_template, tmp_path):
    """A live server of its own (demo data) whose mail leaves through a real local SMTP server; its links
    name the server's own address."""
    inbox, smtp_port, port = Inbox(), free_port(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    path = tmp_path / "planner.db"
    shutil.copy(sqlite_template, path)
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_port,
            "PUBLIC_URL": base,
        }
    )
    with app.app_context():
        ensure_demo()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, app, inbox
    server.shutdown()
    controller.stop()


def _deliver(app) -> None:
    """What the scheduler's mail job does every 10 s."""
    with app.app_context():
        mail.deliver(utcnow())
        db.session.remove()


def _shoot(page, name: str) -> None:
    """The page as it is, at 1280 px then at 390 px (and back)."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"backoffice-{name}-1280.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=SHOTS / f"backoffice-{name}-390.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: the page is {width} px wide on a phone"
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.browser
def test_admin_onboards_a_serenite_company_whose_contact_books_then_moves_it_to_confort(page, browser, mailing_server):
    base, app, inbox = mailing_server
    login(page, base, "admin@erplib.example")
    _shoot(page, "home")
    page.get_by_role("link", name="Nouvelle société").click()
    page.get_by_role("button", name="Créer la société").click()  # empty: every error beside its field
    expect(page.get_by_text("Donnez un nom à la société.")).to_be_visible()
    _shoot(page, "company-new-errors")
    page.get_by_label("Nom de la société").fill("Fromageries Dubois")
    page.get_by_label("Formule").select_option("serenite")
    page.get_by_label("Début du contrat").fill(contract_start().isoformat())
    page.get_by_label("Version de l'ERP").fill("12.1")
    page.get_by_label("Test").check()
    page.get_by_label("Production").check()
    page.get_by_label("Consultant privilégié (Sérénité)").select_option(label="Camille Laurent")
    page.get_by_label("Notes").fill("Deux sites, fromagerie et affinage.")
    page.get_by_role("button", name="Créer la société").click()
    expect(page.get_by_role("status").first).to_contain_text("Société Fromageries Dubois créée en formule Sérénité")
    expect(page.get_by_test_id("tier")).to_have_text("Sérénité")
    expect(page.get_by_text("Camille Laurent")).to_be_visible()
    company_url = page.url
    page.get_by_role("link", name="Modifier", exact=True).click()
    expect(page.get_by_label("Version de l'ERP")).to_have_value("12.1")  # the form shows what is stored
    _shoot(page, "company-edit")
    page.goto(company_url)

    for name, email in (
        ("Lucie Petit", "lucie@fromageries-dubois.example"),
        ("Hugo Martin", "hugo@fromageries-dubois.example"),
    ):
        page.get_by_label("Nom", exact=True).fill(name)
        page.get_by_label("Adresse e-mail").fill(email)
        if name == "Lucie Petit":
            page.get_by_label("Contact principal").check()
        page.get_by_role("button", name="Envoyer l'invitation").click()
        expect(page.get_by_role("status").first).to_contain_text(f"Invitation envoyée à {email}")
    expect(page.get_by_text("contact principal", exact=True)).to_be_visible()
    _shoot(page, "company")

    _deliver(app)
    invitation = next(m for m in inbox.messages if m["To"] == "lucie@fromageries-dubois.example")
    assert invitation["Subject"] == "Votre accès au planning ERP-Lib"
    link = re.search(r"(http://\S+/mot-de-passe/\S+)", invitation.get_body().get_content()).group(1)
    assert link.startswith(base)

    contact = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": 1280, "height": 900})
    lucie = contact.new_page()
    lucie.set_default_timeout(10_000)
    lucie.goto(link)
    expect(lucie.get_by_role("heading", name="Choisir mon mot de passe")).to_be_visible()
    lucie.get_by_label("Nouveau mot de passe", exact=True).fill("fromage-affine")
    lucie.get_by_label("Nouveau mot de passe, encore").fill("fromage-autre")
    lucie.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(lucie.get_by_text("Les deux saisies du nouveau mot de passe diffèrent.")).to_be_visible()
    _shoot(lucie, "set-password")
    lucie.get_by_label("Nouveau mot de passe", exact=True).fill("fromage-affine")
    lucie.get_by_label("Nouveau mot de passe, encore").fill("fromage-affine")
    lucie.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(lucie.get_by_role("status").first).to_contain_text("Mot de passe enregistré. Bienvenue, Lucie Petit.")
    lucie.get_by_role("link", name="Réserver").first.click()
    lucie.locator("[data-kind=erplib]").get_by_role("link", name="Voir les créneaux").click()
    lucie.get_by_role("link", name="Semaine suivante").click()
    lucie.locator("button.slot", has_text="annulation gratuite").first.click()
    lucie.get_by_role("button", name="Confirmer").click()
    expect(lucie.get_by_role("status").first).to_contain_text("Rendez-vous confirmé")
    lucie.goto(f"{base}/portail/contacts/")
    expect(lucie.get_by_text("Hugo Martin")).to_be_visible()
    _shoot(lucie, "portal-contacts")
    used = lucie.goto(link)  # the link served once
    assert used.status == 410
    contact.close()

    today = date.today()
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    page.goto(company_url)
    page.get_by_role("link", name="Changer de formule").first.click()
    page.get_by_label("Nouvelle formule").select_option("confort")
    page.get_by_label("À partir du").fill(next_month.isoformat())
    _shoot(page, "contract-form")
    page.get_by_role("button", name="Voir ce qui change").click()
    consequences = page.get_by_test_id("consequences")
    expect(consequences).to_contain_text("passe de la formule Sérénité à la formule Confort")
    expect(consequences).to_contain_text("Banque d'heures : elle se ferme le")
    expect(consequences).to_contain_text("Consultant privilégié : il n'est plus attribué")
    _shoot(page, "contract-confirm")
    page.get_by_role("button", name=re.compile("Confirmer : formule Confort")).click()
    expect(page.get_by_role("status").first).to_contain_text("Fromageries Dubois passe en formule Confort")
    history = page.get_by_test_id("history")
    expect(history.get_by_role("row").nth(1)).to_contain_text("prévu")
    expect(history).to_contain_text("en cours")
    expect(page.get_by_test_id("tier")).to_have_text("Sérénité")  # until next month

    page.get_by_role("link", name="Désactiver la société").click()  # the second step, without JavaScript
    expect(page.get_by_text("il doit être annulé d'abord")).to_be_visible()  # Lucie's booking is still to come
    expect(page.get_by_test_id("upcoming")).to_contain_text("Lucie Petit")
    _shoot(page, "confirm")
    page.goto(company_url)
    page.get_by_role("button", name="English").click()  # the same page, complete in English
    expect(page.get_by_role("heading", name="Contract history")).to_be_visible()
    expect(page.get_by_test_id("history")).to_contain_text("planned")
    _shoot(page, "company-en")
    page.get_by_role("button", name="Français").click()
    page.goto(f"{base}/admin/utilisateurs")
    _shoot(page, "users")
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    page.get_by_label("Adresse e-mail").fill("hugo@fromageries-dubois.example")
    _shoot(page, "forgot")
    page.get_by_role("button", name="Recevoir le lien").click()
    expect(page.get_by_role("status").first).to_contain_text("Si un compte actif utilise")
