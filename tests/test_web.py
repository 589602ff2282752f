"""Web shell: health check, language switch, error pages."""

from datetime import UTC

from booking import create_app
from booking.extensions import db

from . import factories as f


def test_healthz_reports_the_database(any_app):
    response = any_app.test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_gone():
    broken = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none", "TESTING": True})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert "injoignable" in response.json["detail"]


def test_pages_are_french_by_default_and_switch_to_english(app, client, auth):
    user = f.user("admin")
    db.session.commit()
    auth.login(user.email)
    assert "Se déconnecter" in client.get("/admin/").get_data(as_text=True)
    client.post("/langue/en", data={"next": "/admin/"})
    page = client.get("/admin/").get_data(as_text=True)
    assert "Log out" in page and '<html lang="en">' in page


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/nulle-part")
    assert response.status_code == 404 and "Page introuvable" in response.get_data(as_text=True)


def test_unknown_api_path_is_problem_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_admin_adds_contacts_up_to_the_tier_cap(app, client, auth):
    admin = f.user("admin")
    company = f.company("standard")
    db.session.commit()
    auth.login(admin.email)
    form = {"name": "Nouveau", "email": "new@std.example"}
    page = client.post(f"/admin/societes/{company.id}/contacts", data=form, follow_redirects=True)
    assert "Invitation envoyée à new@std.example" in page.get_data(as_text=True)
    refused = client.post(
        f"/admin/societes/{company.id}/contacts", data={**form, "email": "two@std.example"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "La formule Standard donne accès au portail à 1 contact et" in refused


def test_planner_downloads_the_monthly_billable_csv(app, client, auth):
    from datetime import date, datetime

    from booking.services import bookings
    from calendars.worktime import PARIS

    company = f.company("serenite", contract_start=date(2026, 1, 1))
    contact = f.user("client", company)
    f.consultant()
    planner = f.user("planner")
    db.session.commit()
    now = datetime(2026, 12, 2, 8, tzinfo=UTC)
    days = (7, 8, 9, 10, 11, 14, 15)
    for n in range(14):
        bookings.book(contact, "erplib", datetime(2026, 12, days[n // 2], 9 + n % 2, tzinfo=PARIS), now)
    auth.login(planner.email)
    csv = client.get(f"/planification/facturation/{company.id}/2026-12.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("\ufeffdate;heure;prestation") and len(lines) == 1 + 14 + 1
    assert lines[-1] == "total;;;;;;600;30"  # the 14th session: 15 included + 30 billable
    assert client.get("/planification/facturation?mois=2026-12").status_code == 200
    assert client.get(f"/planification/banque-heures/{company.id}").status_code == 200


def test_every_french_text_has_an_english_translation(tmp_path):
    """Extract the strings from the code now, so that a new untranslated text fails here."""
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[1]
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "extract", "-F", "babel.cfg", "-k", "_l", "-o", pot, "."],
        cwd=root,
        check=True,
        capture_output=True,
    )
    template = {m.id for m in read_po(pot.open("rb")) if m.id}
    po = root / "booking" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    english = {m.id: m for m in read_po(po.open("rb")) if m.id}

    def translated(message) -> bool:  # a plural needs each of its forms
        forms = message.string if isinstance(message.string, (tuple, list)) else [message.string]
        return all(forms) and not message.fuzzy

    missing = [i for i in template if i not in english or not translated(english[i])]
    assert not missing, f"run pybabel extract, pybabel update, then translate: {missing[:5]}"


def test_the_language_chosen_is_kept_on_the_account(app, client, auth):
    from .conftest import AuthActions

    user = f.user("client")
    db.session.commit()
    auth.login(user.email)
    client.post("/langue/en", data={"next": "/"})
    db.session.expire_all()
    assert user.locale == "en"
    elsewhere = app.test_client()  # another browser: nothing chosen in its session, the account's language
    AuthActions(elsewhere).login(user.email)
    page = elsewhere.get("/", follow_redirects=True).get_data(as_text=True)
    assert '<html lang="en">' in page and "Log out" in page
