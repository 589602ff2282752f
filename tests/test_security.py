"""Response headers, cookie flags, rate limits with a clear 429, tokens and passwords stored hashed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Booking
from booking.services import tokens

from . import factories as f


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/openapi.json", "/static/app.css"])
def test_every_response_carries_the_security_headers(app, client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("style-src-attr")[0]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_https_adds_strict_transport_security(app, client):
    assert "Strict-Transport-Security" in client.get("/login", base_url="https://localhost").headers
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_pages_carry_no_inline_script(app, client, auth):
    user = f.user("planner")
    db.session.commit()
    auth.login(user.email)
    for path in ("/login", "/planification/", "/planification/semaine"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " on" + "click=" not in html


def test_session_cookie_is_httponly_and_samesite_lax(app, client, auth):
    user = f.user("admin")
    db.session.commit()
    cookie = auth.login(user.email).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_cookie_is_secure_when_published_over_https(tmp_path, monkeypatch):
    from booking.config import from_environment

    monkeypatch.setenv("PUBLIC_URL", "https://planning.erplib.example")
    assert from_environment(tmp_path)["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    assert from_environment(tmp_path)["SESSION_COOKIE_SECURE"] is False


def test_login_attempts_are_limited_with_a_clear_page(app, client):
    app.config["RATELIMIT_LOGIN"] = "3 per minute"
    user = f.user("admin")
    db.session.commit()
    statuses = [client.post("/login", data={"email": user.email, "password": "wrong"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.post("/login", data={"email": user.email, "password": f.PASSWORD})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Réessayez dans" in refused.get_data(as_text=True)
    # another account from the same address is not locked out
    other = f.user("admin")
    db.session.commit()
    assert client.post("/login", data={"email": other.email, "password": f.PASSWORD}).status_code == 302


def test_api_bookings_are_limited_per_token_with_problem_json(app, client):
    app.config["RATELIMIT_BOOKING"] = "2 per minute"
    user = f.user("client")
    raw, other = tokens.create(user), tokens.create(f.user("client"))
    db.session.commit()
    bad = {"service": "erplib", "start": "not a date"}
    seen = [
        client.post("/api/v1/bookings", json=bad, headers={"Authorization": f"Bearer {raw}"}).status_code
        for _ in range(3)
    ]
    assert seen == [422, 422, 429]
    refused = client.post("/api/v1/bookings", json=bad, headers={"Authorization": f"Bearer {raw}"})
    assert refused.mimetype == "application/problem+json" and "Réessayez" in refused.json["detail"]
    assert client.post("/api/v1/bookings", json=bad, headers={"Authorization": f"Bearer {other}"}).status_code == 422
    assert db.session.scalar(select(func.count(Booking.id))) == 0
