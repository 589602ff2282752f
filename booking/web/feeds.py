"""The secret feed URL: GET /calendars/<token>.ics, with ETag / Last-Modified and 304s."""

import re

from flask import Blueprint, Response, abort, current_app, request
from flask_babel import force_locale
from werkzeug.http import http_date, parse_date

from ..extensions import limiter
from ..models.types import utcnow
from ..services import feeds

bp = Blueprint("feeds", __name__)


@bp.route("/calendars/<token>.ics")
def feed(token: str):
    # The calendar application's language, from its Accept-Language: a feed is read without the site's session
    # (no cookie, no signed-in user), so the pages' choice of language does not apply, and is not looked up.
    with force_locale(request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "fr"):
        found = feeds.current(token, utcnow())
    if found is None:
        abort(404)
    # Vary: the body's language follows Accept-Language (the ETag, a hash of the body, differs with it too)
    headers = {"ETag": found.etag, "Cache-Control": "private, max-age=0, must-revalidate", "Vary": "Accept-Language"}
    if found.last_modified is not None:
        headers["Last-Modified"] = http_date(found.last_modified)
    matches = request.headers.get("If-None-Match")
    if matches is not None:
        # weak comparison (RFC 9110 §13.1.2): W/"x" matches "x"; a proxy may have weakened ours
        fresh = matches.strip() == "*" or found.etag in re.findall(r'(?:W/)?("[^"]*")', matches)
    else:
        since = parse_date(request.headers.get("If-Modified-Since"))
        fresh = (
            since is not None
            and found.last_modified is not None
            and found.last_modified.replace(microsecond=0) <= since
        )
    if fresh:
        return Response(status=304, headers=headers)
    # text/calendar whatever the Accept header: calendar clients send all sorts
    return Response(found.body, headers=headers, content_type="text/calendar; charset=utf-8")


@limiter.request_filter
def _no_limit() -> bool:
    """Feeds have no rate limit (calendar applications poll them, one office's addresses many at once; a token
    cannot be guessed): skip the limiter's search for limits that would find none (7 % of a poll's work)."""
    return request.blueprint == bp.name
