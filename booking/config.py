"""Settings from the environment, with safe defaults for the embedded (SQLite) setup."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _secret_key(instance: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def database_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def from_environment(instance: Path) -> dict:
    env = os.environ.get
    return {
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url(env("DATABASE_URL", f"sqlite:///{instance / 'planner.db'}")),
        "MAIL_SERVER": env("MAIL_SERVER", ""),
        "MAIL_PORT": int(env("MAIL_PORT", "25")),
        "MAIL_SENDER": env("MAIL_SENDER", "planning@erplib.example"),
        "BOOKING_TIMEZONE": env("BOOKING_TIMEZONE", "Europe/Paris"),
        "RESHUFFLE_SECONDS": float(env("RESHUFFLE_SECONDS", "10")),
        "BABEL_DEFAULT_TIMEZONE": env("BOOKING_TIMEZONE", "Europe/Paris"),
        "CONTRACT_FILE": env("CONTRACT_FILE", ""),
        "PUBLIC_URL": env("PUBLIC_URL", "http://127.0.0.1:5000"),
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,  # uploads: a 10 MiB calendar and its form
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env("SESSION_COOKIE_SECURE", "0") == "1",
        "BABEL_DEFAULT_LOCALE": "fr",
        "LANGUAGES": ("fr", "en"),
    }
