"""Secrets a page shows once, after the redirect that follows their creation (Post/Redirect/Get): a new API
token, a new feed address. The clear secret waits in the session (signed, HttpOnly) for that page only: for the
user who created it, a few minutes at most, and never across a login or a logout (a browser handed to someone
else must not show them the last user's secret)."""

from __future__ import annotations

import time

from flask import session
from flask_login import current_user

NEW_API_TOKEN, NEW_FEED = "new_api_token", "new_feed"
KEYS = (NEW_API_TOKEN, NEW_FEED)
WAITS_SECONDS = 600  # the redirect is followed at once; a page abandoned meanwhile does not keep it longer


def keep(key: str, secret: str) -> None:
    session[key] = {"user": current_user.id, "secret": secret, "until": time.time() + WAITS_SECONDS}


def take(key: str) -> str | None:
    """The secret kept for the current user under `key`, once: gone from the session whatever it was."""
    kept = session.pop(key, None)
    if not isinstance(kept, dict) or not current_user.is_authenticated:
        return None
    if kept.get("user") != current_user.id or not isinstance(kept.get("until"), int | float):
        return None
    return kept.get("secret") if kept["until"] >= time.time() else None


def forget() -> None:
    """At login and logout: no secret kept for one user is shown to the next."""
    for key in KEYS:
        session.pop(key, None)
