"""Web shell: health check, language switch, error pages."""
from booking import create_app
from booking.extensions import db

from . import factories as f


def test_healthz_reports_the_database(any_app):
    response = any_app.test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_gone():
    broken = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                         "TESTING": True})
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
