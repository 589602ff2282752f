"""Web security in one place: response headers, cookie flags, and the rate limits' clear 429."""

from __future__ import annotations

import hashlib
import time

from flask import current_app, render_template, request
from flask.logging import default_handler
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user

from .api.problems import problem
from .extensions import limiter

# No inline script anywhere; the timelines position their bars with style attributes, hence
# style-src-attr (attributes only: no <style> element or injected stylesheet is allowed).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


# A Redis that hangs must not hang the request: give up within half a second (then count in memory).
REDIS_TIMEOUTS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}


def init_app(app) -> None:
    if app.config["RATELIMIT_STORAGE_URI"].startswith(("redis://", "rediss://", "redis+")):
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", REDIS_TIMEOUTS)
    limiter.init_app(app)
    if not any(h is default_handler for h in limiter.logger.handlers):
        limiter.logger.addHandler(default_handler)  # its only handler is a NullHandler: "storage unreachable" was lost
    app.after_request(_headers)
    app.register_error_handler(RateLimitExceeded, _too_many)


def _headers(response):
    harden(response.headers, request.is_secure)
    return response


def harden(headers, secure: bool) -> None:
    """The headers every answer carries (pages, API, feeds), unless it set its own."""
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")  # feed URLs carry their secret: never leak them
    if secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")


def _too_many(error: RateLimitExceeded):
    seconds = _retry_after()
    message = _(
        "Trop de demandes en peu de temps (limite : %(limit)s). Réessayez dans %(seconds)s s.",
        limit=_limit_said(error.limit.limit),
        seconds=seconds,
    )
    if request.path.startswith("/api/"):
        response = problem(429, message, code="rate_limited")
    else:
        response = current_app.make_response((render_template("errors/error.html", status=429, message=message), 429))
    response.headers["Retry-After"] = str(seconds)
    return response


def _limit_said(item) -> str:
    """A `limits` item (« 10 per 1 minute ») in the reader's words: « 10 par minute », « 100 par 5 heures »."""
    windows = {
        "second": lambda n: ngettext("seconde", "%(num)d secondes", n),
        "minute": lambda n: ngettext("minute", "%(num)d minutes", n),
        "hour": lambda n: ngettext("heure", "%(num)d heures", n),
        "day": lambda n: ngettext("jour", "%(num)d jours", n),
        "month": lambda n: ngettext("mois", "%(num)d mois", n),
        "year": lambda n: ngettext("an", "%(num)d ans", n),
    }
    said = windows.get(item.GRANULARITY.name)
    if said is None:
        return str(item)
    return _("%(amount)s par %(window)s", amount=item.amount, window=said(item.multiples))


def _retry_after() -> int:
    limit = limiter.current_limit
    return max(1, int(limit.reset_at - time.time())) if limit else 60


def login_key() -> str:
    """Per account, whatever the address: spreading guesses over addresses gains nothing, and one office
    behind a NAT does not lock out its colleagues. Hashed: no e-mail in the shared store."""
    email = (request.form.get("email") or "").strip().lower()
    return "login:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def user_key() -> str:
    """Per API token or signed-in user, else per address. Limits are checked before the view's own
    authentication, so the token is keyed by its digest rather than by the user it names."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return "token:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return f"user:{current_user.id}" if current_user.is_authenticated else get_remote_address()


def login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def booking_limit() -> str:
    return current_app.config["RATELIMIT_BOOKING"]
