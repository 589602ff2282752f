"""Login, logout, role checks on every route, API tokens."""

import re

import pytest
from sqlalchemy import select

from booking.extensions import db
from booking.models import ApiToken, AuditEntry
from booking.services import tokens

from . import factories as f

# Routes anyone may reach; every other route must check a role.
PUBLIC = {
    "static",
    "auth.login",
    "auth.logout",
    "auth.language",
    "auth.index",
    "auth.forgot",
    "auth.set_password",
    "health.healthz",
    "api-docs.openapi_json",
    "feeds.feed",
}
HOMES = {"client": "/portail/", "consultant": "/consultant/", "planner": "/planification/", "admin": "/admin/"}


def _user(role):
    if role == "consultant":
        return f.consultant().user
    return f.user(role)


@pytest.mark.parametrize("role", HOMES)
def test_each_role_lands_on_its_home_page(app, client, auth, role):
    user = _user(role)
    db.session.commit()
    response = auth.login(user.email)
    assert response.status_code == 302 and response.headers["Location"].endswith(HOMES[role])
    page = client.get(HOMES[role])
    assert page.status_code == 200 and user.name in page.get_data(as_text=True)


def test_wrong_password_reshows_the_form_with_an_error(app, client, auth):
    user = f.user("planner")
    db.session.commit()
    response = auth.login(user.email, "nope")
    assert response.status_code == 200
    assert "E-mail ou mot de passe incorrect" in response.get_data(as_text=True)
    assert client.get("/planification/").status_code == 302


def test_logout_ends_the_session(app, client, auth):
    user = f.user("admin")
    db.session.commit()
    auth.login(user.email)
    assert client.get("/admin/").status_code == 200
    auth.logout()
    assert client.get("/admin/").headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/admin/", "/admin/"),
        ("https://evil.example/", "/admin/"),
        ("//evil.example/x", "/admin/"),
    ],
)
def test_login_never_redirects_off_site(app, client, target, expected):
    user = f.user("admin")
    db.session.commit()
    response = client.post(f"/login?next={target}", data={"email": user.email, "password": f.PASSWORD})
    assert response.headers["Location"] == expected


def _guarded_routes(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in PUBLIC and "GET" in r.methods]
    assert rules, "no guarded routes found"
    return rules


def test_every_route_declares_its_roles(app):
    """A new route without a role rule fails here."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "allowed_roles", None), f"{rule.rule} ({rule.endpoint}) has no role check"


@pytest.mark.parametrize("role", [None, *HOMES])
def test_role_matrix_for_every_page(app, client, auth, role):
    if role:
        user = _user(role)
        db.session.commit()
        assert auth.login(user.email).status_code == 302
    for rule in _guarded_routes(app):
        if rule.arguments:
            continue
        view = app.view_functions[rule.endpoint]
        response = client.get(rule.rule)
        if rule.rule.startswith("/api/"):
            assert response.status_code == 401  # the API ignores session cookies
        elif role is None:
            assert response.status_code == 302 and "/login" in response.headers["Location"]
        else:
            assert response.status_code == (200 if role in view.allowed_roles else 403), (rule.rule, role)


def test_api_token_is_random_hashed_and_revocable(app, client):
    user = f.user("planner")
    raw = tokens.create(user, "test")
    db.session.commit()
    stored = db.session.scalar(select(ApiToken))
    assert re.fullmatch(r"erp_[A-Za-z0-9_-]{43}", raw) and raw not in stored.token_hash
    assert stored.token_hash == tokens.digest(raw)
    ok = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert ok.status_code == 200 and ok.json["email"] == user.email
    tokens.revoke(stored, user)
    db.session.commit()
    refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert "Bearer" in refused.json["detail"]
    assert {e.action for e in db.session.scalars(select(AuditEntry))} == {"api_token.create", "api_token.revoke"}


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer erp_forged", "Basic dXNlcjpwYXNz"])
def test_api_refuses_missing_or_forged_tokens(app, client, header):
    response = client.get("/api/v1/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and response.json["status"] == 401


def test_cli_creates_a_token_that_works(app, runner, client):
    user = f.user("client")
    db.session.commit()
    result = runner.invoke(args=["users", "token", user.email])
    assert result.exit_code == 0
    raw = result.output.strip()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).json["role"] == "client"


def test_cli_token_for_unknown_user_is_a_clear_error(app, runner):
    result = runner.invoke(args=["users", "token", "nobody@test.example"])
    assert result.exit_code == 1 and "Aucun utilisateur" in result.output


def test_csrf_protects_the_login_form(app):
    app.config["WTF_CSRF_ENABLED"] = True
    user = f.user("admin")
    db.session.commit()
    response = app.test_client().post("/login", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 400
