"""The planner accepts a priority-consulting request, follows the optimisation, reads the diff, applies it."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Consultant

from .test_login import SHOTS, login


@pytest.mark.browser
def test_planner_accepts_runs_sees_the_diff_and_applies(page, live_app):
    app, live_server = live_app
    login(page, live_server, "planification@erplib.example")
    page.get_by_role("link", name="Aciéries de Lorraine").click()
    expect(page.get_by_test_id("request-status")).to_have_text("Demandée")
    page.get_by_role("button", name="Accepter et planifier").click()
    expect(
        page.get_by_role("heading", name="En attente d'un calculateur")
        .or_(page.get_by_role("heading", name="Optimisation en cours…"))
        .or_(page.get_by_role("heading", name="Plan proposé"))
    ).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "priority-progress.png", full_page=True)
    expect(page.get_by_role("heading", name="Plan proposé")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("moved")).to_contain_text("rendez-vous déplacés")
    expect(page.get_by_role("heading", name="Avant / après, par consultant")).to_be_visible()
    page.screenshot(path=SHOTS / "priority-diff.png", full_page=True)
    page.get_by_label("Accord du client (par téléphone)").fill(
        "Accord de la cliente par téléphone"
    )  # no quote accepted yet
    page.get_by_role("button", name="Appliquer le plan").click()
    expect(page.get_by_role("status").first).to_contain_text("Plan appliqué")
    expect(page.get_by_test_id("request-status")).to_have_text("Appliquée")
    page.goto(f"{live_server}/planification/semaine")
    with app.app_context():  # one row per consultant (other tests may have added one)
        consultants = db.session.scalar(select(func.count()).select_from(Consultant))
    expect(page.locator(".week-grid tbody tr")).to_have_count(consultants)
    placed = page.locator(".block.kind-priority_consulting").count()
    page.get_by_role("link", name="Semaine suivante").click()
    assert placed + page.locator(".block.kind-priority_consulting").count() > 0  # within 7 days of acceptance
    page.screenshot(path=SHOTS / "planner-week.png", full_page=True)
