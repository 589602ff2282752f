"""The secret feed URL: GET /calendars/<token>.ics, with ETag / Last-Modified and 304s.

A poll of a known feed is answered before Flask's request handling (`serve_polls`): a calendar application
polls every few minutes for each address, and the request's machinery (the session, the input screen, the
rate limiter's search, the locale's lookup, the hooks) cost more than the feed itself, which is kept rendered.
Everything else under /calendars/ (an unknown or revoked token, a database error, another method) goes on
to the Flask view below, which answers it as every page does. The input screen (booking/inputs.py) sees only
those: a known feed's poll reads nothing else from the request than the token (letters, digits, - and _), the
validators (compared in Python) and the language (one of LANGUAGES).
"""

import re

from flask import Blueprint, Flask, Response, abort, current_app, request
from flask_babel import force_locale
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import http_date, parse_date
from werkzeug.wrappers import Request

from .. import security
from ..extensions import limiter
from ..models.types import utcnow
from ..services import feeds

bp = Blueprint("feeds", __name__)

# what a token issued by services.feeds can be: anything else is not a poll of a known feed
POLL = re.compile(rf"/calendars/({re.escape(feeds.PREFIX)}[A-Za-z0-9_-]{{1,64}})\.ics")
CACHE_CONTROL = "private, max-age=0, must-revalidate"
NOT_FOUND = "erplib.feed_not_found"  # the WSGI environ's key (never from a request: headers are HTTP_*)


@bp.route("/calendars/<token>.ics")
def feed(token: str):
    if request.environ.get(NOT_FOUND):  # looked up in front already (`serve_polls`): no second query
        abort(404)
    found = _found(token, request.accept_languages, current_app.config["LANGUAGES"])
    if found is None:
        abort(404)
    return answer(found, request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since"))


def _found(token: str, accepted: LanguageAccept, languages: list[str]) -> feeds.Rendered | None:
    # The calendar application's language, from its Accept-Language: a feed is read without the site's session
    # (no cookie, no signed-in user), so the pages' choice of language does not apply, and is not looked up.
    with force_locale(accepted.best_match(languages) or "fr"):
        return feeds.current(token, utcnow())


def answer(found: feeds.Rendered, if_none_match: str | None, if_modified_since: str | None) -> Response:
    """The feed, or 304 when the application's copy is this one."""
    # Vary: the body's language follows Accept-Language (the ETag, a hash of the body, differs with it too)
    headers = {"ETag": found.etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Language"}
    if found.last_modified is not None:
        headers["Last-Modified"] = http_date(found.last_modified)
    if _fresh(found, if_none_match, if_modified_since):
        return Response(status=304, headers=headers)
    # text/calendar whatever the Accept header: calendar clients send all sorts
    return Response(found.body, headers=headers, content_type="text/calendar; charset=utf-8")


def _fresh(found: feeds.Rendered, if_none_match: str | None, if_modified_since: str | None) -> bool:
    if if_none_match is not None:
        # weak comparison (RFC 9110 §13.1.2): W/"x" matches "x"; a proxy may have weakened ours
        return if_none_match.strip() == "*" or found.etag in re.findall(r'(?:W/)?("[^"]*")', if_none_match)
    since = parse_date(if_modified_since)
    return since is not None and found.last_modified is not None and found.last_modified.replace(microsecond=0) <= since


def serve_polls(app: Flask) -> None:
    """Answer the polls of known feeds in front of `app`'s request handling (see the module's docstring)."""
    inner, languages = app.wsgi_app, app.config["LANGUAGES"]

    def wsgi(environ, start_response):
        poll = POLL.fullmatch(environ.get("PATH_INFO", ""))
        if poll is None or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return inner(environ, start_response)
        polled = Request(environ)
        try:
            with app.app_context():
                found = _found(poll.group(1), polled.accept_languages, languages)
        except Exception:  # logged (tokens masked); the view tries again and answers as every page does (a 503)
            app.logger.exception("feed poll answered by the view after a failed lookup")
            return inner(environ, start_response)
        if found is None:  # an unknown or revoked token: the site's 404 page, without a second lookup
            environ[NOT_FOUND] = True
            return inner(environ, start_response)
        response = answer(found, polled.headers.get("If-None-Match"), polled.headers.get("If-Modified-Since"))
        security.harden(response.headers, polled.is_secure)
        return response(environ, start_response)

    app.wsgi_app = wsgi


@limiter.request_filter
def _no_limit() -> bool:
    """Feeds have no rate limit (calendar applications poll them, one office's addresses many at once; a token
    cannot be guessed): skip the limiter's search for limits that would find none."""
    return request.blueprint == bp.name
