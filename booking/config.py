"""Settings from the environment, with safe defaults for the embedded (SQLite) setup."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from calendars.worktime import PARIS


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
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def from_environment(instance: Path) -> dict:
    env = os.environ.get
    public_url = env("PUBLIC_URL", "http://127.0.0.1:5000")
    return {
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url(env("DATABASE_URL", f"sqlite:///{instance / 'planner.db'}")),
        # After a database restart, pooled connections are dead: test each one before use.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MAIL_SERVER": env("MAIL_SERVER", ""),
        "MAIL_PORT": int(env("MAIL_PORT", "25")),
        "MAIL_SENDER": env("MAIL_SENDER", "planning@erplib.example"),
        "RESHUFFLE_SECONDS": float(env("RESHUFFLE_SECONDS", "10")),
        # Worker processes of the scheduler computing plans at once; 0 leaves the queue to other schedulers.
        "RESHUFFLE_WORKERS": int(env("RESHUFFLE_WORKERS", "2")),
        # A computing plan whose worker has not beaten for this long is reclaimed (its host or scheduler died).
        "RESHUFFLE_STALE_SECONDS": float(env("RESHUFFLE_STALE_SECONDS", "30")),
        # Calendar URLs: one deadline for the whole fetch; loopback only for a test server on this machine.
        "CALENDAR_FETCH_SECONDS": float(env("CALENDAR_FETCH_SECONDS", "15")),
        "CALENDAR_FETCH_ALLOW_LOOPBACK": env("CALENDAR_FETCH_ALLOW_LOOPBACK", "0") == "1",
        # Webhooks: the same fetcher's rules; one deadline per delivery attempt, loopback only for tests.
        "WEBHOOK_TIMEOUT_SECONDS": float(env("WEBHOOK_TIMEOUT_SECONDS", "10")),
        "WEBHOOK_ALLOW_LOOPBACK": env("WEBHOOK_ALLOW_LOOPBACK", "0") == "1",
        # A lock not granted within this time answers 503 + Retry-After instead of holding the worker.
        "LOCK_TIMEOUT_SECONDS": float(env("LOCK_TIMEOUT_SECONDS", "5")),
        # A pending Idempotency-Key whose request stopped answering is taken over by a retry after this.
        "IDEMPOTENCY_LEASE_SECONDS": float(env("IDEMPOTENCY_LEASE_SECONDS", "10")),
        # Pages show business time, which is Paris time by contract (calendars/worktime.py): not a setting.
        "BABEL_DEFAULT_TIMEZONE": PARIS.key,
        "CONTRACT_FILE": env("CONTRACT_FILE", ""),
        "PUBLIC_URL": public_url,
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,  # uploads: a 10 MiB calendar and its form
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies whenever the service is published over HTTPS (override with 0/1).
        "SESSION_COOKIE_SECURE": env("SESSION_COOKIE_SECURE", "1" if public_url.startswith("https:") else "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # memory:// counts per process (make run); make serve points it at its Redis, shared by every worker.
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URI", "memory://"),
        # Redis down: each worker counts in memory meanwhile (logged), rather than refusing every request.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # "10 per minute" means at most 10 in any 60 s (a fixed window would let 20 through across its edge).
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_LOGIN": env("RATELIMIT_LOGIN", "10 per minute"),
        "RATELIMIT_BOOKING": env("RATELIMIT_BOOKING", "30 per minute"),
        # Per e-mail address, whatever the client's address: after N failures in a row, 1, 2, 4 … minutes.
        "LOGIN_FAILURES_BEFORE_DELAY": int(env("LOGIN_FAILURES_BEFORE_DELAY", "5")),
        "LOGIN_DELAY_MAX_MINUTES": int(env("LOGIN_DELAY_MAX_MINUTES", "30")),
        # Set-password links: an invitation waits a few days for its reader, a reset is used at once.
        "INVITE_LINK_HOURS": int(env("INVITE_LINK_HOURS", "72")),
        "RESET_LINK_HOURS": int(env("RESET_LINK_HOURS", "2")),
        "TRUSTED_PROXIES": int(env("TRUSTED_PROXIES", "0")),
        "BABEL_DEFAULT_LOCALE": "fr",
        "LANGUAGES": ("fr", "en"),
    }
