"""The back office in a real browser: a planner adds a part-time consultant whose week the slot list and the
solver instance both follow; an admin edits the minimum notice and the slot list follows; every new page
at 1280 px and at 390 px (screenshots, and no page wider than the phone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from booking.extensions import db
from booking.models import Absence, Company, Consultant, User
from booking.services import availability, contract_store, reshuffle
from calendars.worktime import PARIS

from ..dates import working_days
from .conftest import write_lock_first
from .test_login import SHOTS, login


def _shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


@pytest.mark.browser
def test_a_planner_adds_a_part_time_consultant_that_slots_and_solver_follow(page, live_app):
    app, base = live_app
    login(page, base, "planification@erplib.example")
    page.get_by_role("link", name="Consultants", exact=True).click()
    page.get_by_role("link", name="Ajouter un consultant").click()
    page.get_by_label("Nom").fill("Inès Partiel")
    page.get_by_label("Adresse e-mail").fill("ines.partiel@erplib.example")
    page.get_by_role("group", name="Compétences").get_by_label("Paie", exact=True).check()
    for day in ("Mercredi", "Jeudi", "Vendredi"):
        page.get_by_label(day, exact=True).fill("")
    page.get_by_label("Mardi", exact=True).fill("8:30-12:00")
    page.get_by_label("Lundi", exact=True).fill("9:00-12:30, 14:00-18:00, 17:00-19:00x")  # a typo first
    page.get_by_role("button", name="Ajouter le consultant").click()
    expect(page.get_by_text("« 17:00-19:00x » : écrivez des plages comme")).to_be_visible()
    expect(page.get_by_label("Mardi", exact=True)).to_have_value("8:30-12:00")  # what was typed stays
    _shot(page, "consultant-form-errors")
    page.get_by_label("Lundi", exact=True).fill("9:00-12:30, 14:00-18:00")
    page.get_by_role("button", name="Ajouter le consultant").click()
    expect(page.get_by_role("status").first).to_contain_text("Consultant Inès Partiel ajouté")
    expect(page.get_by_label("Mardi", exact=True)).to_have_value("08:30-12:00")
    expect(page.get_by_label("Mercredi", exact=True)).to_have_value("")
    _shot(page, "consultant-edit")
    edit_url = page.url

    # an absence added, then edited and deleted from the consultant's page
    monday = next(d for d in working_days(10, 14) if d.weekday() == 0)
    page.get_by_role("link", name="Déclarer une absence").click()
    page.get_by_label("Consultant").select_option(label="Inès Partiel")
    page.get_by_label("Début (heure de Paris)").fill(f"{monday}T09:00")
    page.get_by_label("Fin (heure de Paris)").fill(f"{monday}T12:30")
    page.get_by_label("Motif").fill("Formation")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status").first).to_contain_text("Absence enregistrée")
    page.goto(edit_url)
    row = page.get_by_test_id("absence")
    expect(row).to_contain_text("Formation")
    expect(row).to_contain_text("Aucun rendez-vous concerné")
    row.get_by_role("link", name="Modifier").click()
    expect(page.get_by_label("Début (heure de Paris)")).to_have_value(f"{monday}T09:00")
    page.get_by_label("Fin (heure de Paris)").fill(f"{monday}T08:00")  # before the start: shown in place
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status").first).to_contain_text("La fin de l'absence doit suivre son début")
    expect(page.get_by_label("Fin (heure de Paris)")).to_have_value(f"{monday}T08:00")
    page.get_by_label("Fin (heure de Paris)").fill(f"{monday}T18:00")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status").first).to_contain_text("Absence modifiée : aucun rendez-vous n'est concerné")
    expect(page.get_by_test_id("absence")).to_contain_text("18:00")
    page.get_by_test_id("absence").get_by_role("link", name="Supprimer").click()
    expect(page.get_by_role("heading", name="Supprimer cette absence ?")).to_be_visible()
    page.get_by_role("button", name="Oui, supprimer l'absence").click()
    expect(page.get_by_role("status").first).to_contain_text("Absence supprimée")
    expect(page.get_by_test_id("absence")).to_have_count(0)

    with app.app_context():
        consultant = db.session.scalar(select(Consultant).join(User).where(User.email == "ines.partiel@erplib.example"))
        company = db.session.scalar(select(Company).where(Company.tier == "serenite"))
        now = datetime.now(UTC)
        start = datetime.combine((now + timedelta(days=7)).astimezone(PARIS).date(), datetime.min.time(), PARIS)
        found = availability.slots(
            "erplib", company, start, start + timedelta(days=14), now, consultant_id=consultant.id
        )
        local = [s.start.astimezone(PARIS) for s in found]
        assert local and {s.weekday() for s in local} <= {0, 1}
        assert all(s.time() >= datetime.strptime("08:30", "%H:%M").time() for s in local)
        assert all(s.hour < 12 for s in local if s.weekday() == 1)
        assert any(s.weekday() == 1 and s.hour == 8 and s.minute == 30 for s in local)  # before the company opens
        instance = reshuffle.build(now, [])
        spans = [
            (datetime.fromisoformat(u["start"]), datetime.fromisoformat(u["end"]))
            for c in instance["consultants"]
            if c["id"] == f"c{consultant.id}"
            for u in c["unavailable"]
        ]
        for slot in found:  # what the slot list offers, the solver may use; Wednesdays it may not
            assert not any(a < slot.end and slot.start < b for a, b in spans)
        wednesday = next(start + timedelta(days=n) for n in range(7) if (start + timedelta(days=n)).weekday() == 2)
        at_ten = wednesday.replace(hour=10)
        assert any(a <= at_ten < b for a, b in spans) or not availability.BUSINESS.is_working_day(wednesday.date())


def _first_slot(page, base: str) -> datetime:
    page.goto(f"{base}/portail/reserver/erplib")
    return datetime.fromisoformat(page.locator("button.slot").first.get_attribute("value"))


@pytest.mark.browser
def test_an_admin_edits_the_minimum_notice_and_the_slot_list_follows(page, browser, live_app):
    app, base = live_app
    client = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris").new_page()
    login(client, base, "claire@labo-bernard.example")
    before = _first_slot(client, base)
    with app.app_context():
        original = contract_store.text_in_force()
        based_on = contract_store.newest_id()
    try:
        login(page, base, "admin@erplib.example")
        page.get_by_role("link", name="Contrat et règles").click()
        _shot(page, "policy")
        notice = page.get_by_label("Délai minimum de réservation (heures ouvrées)")
        expect(notice).to_have_value("4")
        notice.fill("-3")  # out of bounds: shown in place, nothing previewed
        page.get_by_role("button", name="Prévisualiser les règles").click()
        expect(page.get_by_text("Le nombre doit être compris entre 0 et 400.")).to_be_visible()
        expect(notice).to_have_value("-3")
        _shot(page, "policy-error")
        notice.fill("40")
        page.get_by_role("button", name="Prévisualiser les règles").click()
        diff = page.get_by_test_id("diff")
        expect(diff).to_contain_text("-notice_hours = 4")
        expect(diff).to_contain_text("+notice_hours = 40")
        _shot(page, "policy-preview")
        assert _first_slot(client, base) == before  # a preview changes nothing
        page.get_by_role("button", name="Appliquer ce changement").click()
        expect(page.get_by_role("status").first).to_contain_text("Contrat appliqué")
        expect(page.get_by_label("Délai minimum de réservation (heures ouvrées)")).to_have_value("40")
        with page.expect_download() as download:
            page.get_by_role("link", name="Exporter en TOML").click()
        assert "notice_hours = 40" in download.value.path().read_text(encoding="utf-8")
        after = _first_slot(client, base)
        now = datetime.now(UTC)
        assert after > before
        assert after >= availability.BUSINESS.add_minutes(now, 40 * 60) - timedelta(minutes=1)
        page.goto(f"{base}/planification/journal/")
        expect(page.get_by_text("contract.apply").first).to_be_visible()
    finally:  # the other browser tests share this server: the file's contract back in force
        with app.app_context(), app.test_request_context():
            admin = db.session.scalar(select(User).where(User.email == "admin@erplib.example"))
            contract_store.apply(admin, original, contract_store.newest_id(), datetime.now(UTC))
        client.context.close()
    assert based_on is None or based_on >= 0


PAGES = [  # (who, path, name)
    ("planification@erplib.example", "/planification/consultants/", "consultants"),
    ("planification@erplib.example", "/planification/consultants/nouveau", "consultant-new"),
    ("planification@erplib.example", "/planification/rendez-vous", "planner-bookings"),
    ("planification@erplib.example", "/planification/", "planner-home"),
    ("planification@erplib.example", "/planification/facturation/lignes", "billing-lines"),
    ("planification@erplib.example", "/planification/facturation", "billing"),
    ("planification@erplib.example", "/planification/journal/", "audit-log"),
    ("planification@erplib.example", "/planification/courrier/", "outbox"),
    ("planification@erplib.example", "/planification/semaine", "planner-week"),
    ("admin@erplib.example", "/admin/contrat/", "policy"),
    ("claire@labo-bernard.example", "/portail/rendez-vous", "mes-rendez-vous"),
    ("claire@labo-bernard.example", "/portail/reserver/erplib", "slots-week"),
]


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_every_back_office_page_fits_the_screen(browser, live_app, width):
    """Screenshots of each page; at 390 px no page is wider than the phone (tables stack or scroll inside)."""
    app, live_server = live_app
    with app.app_context():  # an absence of a demo consultant, for its edit and delete pages
        write_lock_first()
        consultant = db.session.scalar(select(Consultant).order_by(Consultant.id))
        start = datetime.combine(working_days(1, 30)[0], datetime.min.time(), PARIS).replace(hour=14)
        absence = Absence(
            consultant_id=consultant.id, start_at=start, end_at=start + timedelta(hours=2), reason="Rendez-vous médical"
        )
        db.session.add(absence)
        db.session.commit()
        absence_url = f"/planification/consultants/{consultant.id}/absences/{absence.id}"
    pages = [
        *PAGES,
        ("planification@erplib.example", absence_url, "absence-edit"),
        ("planification@erplib.example", absence_url + "/supprimer", "absence-delete"),
        ("planification@erplib.example", f"/planification/consultants/{consultant.id}", "consultant"),
    ]
    pages.sort(key=lambda p: p[0])
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    who = None
    try:
        for email, path, name in pages:
            if email != who:
                context.clear_cookies()
                login(page, live_server, email)
                who = email
            response = page.goto(f"{live_server}{path}")
            assert response.status == 200, (path, response.status)
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width, f"{path} is {overflow} px wide at {width} px"
            _shot(page, f"{name}-{width}")
            if name == "policy":  # and its preview
                page.get_by_label("Horizon de réservation (jours)").fill("59")
                with page.expect_navigation():  # measured once the new page and its stylesheet have loaded
                    page.get_by_role("button", name="Prévisualiser les règles").click()
                expect(page.get_by_test_id("diff")).to_contain_text("+horizon_days = 59")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                _shot(page, f"policy-preview-{width}")
        if width == 390:  # the week of slots: one day at a time, the next day a link away
            context.clear_cookies()
            login(page, live_server, "claire@labo-bernard.example")
            page.goto(f"{live_server}/portail/reserver/erplib")
            shown = page.locator(".daycol:visible")
            expect(shown).to_have_count(1)
            first = shown.locator("h2").text_content()
            with page.expect_navigation():  # the new page loaded with its stylesheet, before counting columns
                page.get_by_role("link", name="Jour suivant").click()
            expect(page.locator(".daycol:visible")).to_have_count(1)
            assert page.locator(".daycol:visible h2").text_content() != first
            _shot(page, "slots-next-day-390")
            with page.expect_navigation():
                page.get_by_role("link", name="Jour précédent").click()
            expect(page.locator(".daycol:visible h2")).to_have_text(first)
    finally:
        context.close()
