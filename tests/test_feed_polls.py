"""A poll of a known feed is answered in front of Flask's request handling (booking/web/feeds.py, `serve_polls`),
with the same answer Flask's view gives; everything else goes on to the view and is answered as before."""

from __future__ import annotations

import pytest
import time_machine
from flask import Flask
from sqlalchemy import event
from werkzeug.test import Client

from booking import create_app
from booking.extensions import db

from . import test_feed_cache as cache

NOW = cache.NOW
world = cache.world  # the same fixture: its bookings, company and feeds


@pytest.fixture
def polled(world, any_app):
    """test_feed_cache's world (bookings shown in a consultant's feed), its app and that feed's token."""
    return {"app": any_app, "raw": world["raw"]["consultant"]}


def flask_only(app: Flask) -> Client:
    """A client of the app without the poll server in front: Flask's own request handling and view."""
    return Client(lambda environ, start_response: Flask.wsgi_app(app, environ, start_response))


def test_a_known_feed_is_answered_before_flasks_request_handling(polled):
    app, raw = polled["app"], polled["raw"]
    seen, statements = [], []
    app.before_request(lambda: seen.append(1))  # every request Flask handles runs its before_request hooks
    for engine in db.engines.values():  # the app's and booking/reads.py's
        event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2].split()[0]))
    client = app.test_client()
    assert client.get(f"/calendars/{raw}.ics").status_code == 200
    assert client.head(f"/calendars/{raw}.ics").status_code == 200
    assert seen == []
    statements.clear()
    assert client.get("/calendars/cal_unknown.ics").status_code == 404  # the view: the site's 404 page
    assert statements.count("SELECT") == 1, statements  # looked up once, in front; the view is told so
    assert client.post(f"/calendars/{raw}.ics").status_code == 405
    assert len(seen) == 2
    assert client.get(f"/calendars/{raw}x\x00.ics").status_code == 400  # the input screen's refusal, as before


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Accept-Language": "en-GB,en;q=0.9"},
        {"Accept-Language": "de, fr;q=0.5"},
        {"If-None-Match": "*"},
        {"If-None-Match": '"other"'},
        {"If-Modified-Since": "Tue, 01 Dec 2026 09:00:00 GMT"},
        {"If-Modified-Since": "Sun, 01 Nov 2026 09:00:00 GMT"},
        {"If-Modified-Since": "not a date"},
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_poll_server_answers_as_flasks_view(polled, headers, method):
    app, url = polled["app"], f"/calendars/{polled['raw']}.ics"
    with time_machine.travel(NOW, tick=True):
        fast, slow = (
            client.open(url, method=method, headers=headers) for client in (app.test_client(), flask_only(app))
        )
        etag = slow.headers["ETag"]
        matching = [
            client.open(url, method=method, headers={**headers, "If-None-Match": f"W/{etag}"})
            for client in (app.test_client(), flask_only(app))
        ]
    for ours, flasks in ((fast, slow), tuple(matching)):
        assert ours.status_code == flasks.status_code and ours.get_data() == flasks.get_data()
        # Flask's answer may also vary with the cookie (its session), which a feed never reads
        assert {k: v for k, v in ours.headers if k != "Vary"} == {k: v for k, v in flasks.headers if k != "Vary"}
        assert ours.headers["Vary"] == "Accept-Language" and "Accept-Language" in flasks.headers["Vary"]
    assert matching[0].status_code == 304


def test_a_poll_behind_a_proxy_carries_hsts_as_every_page(polled):
    """Behind a proxy (TRUSTED_PROXIES), the scheme it forwards is read by the poll server too."""
    proxied, seen = create_app({**polled["app"].config, "TRUSTED_PROXIES": 1}), []
    proxied.before_request(lambda: seen.append(1))
    url = f"/calendars/{polled['raw']}.ics"
    with time_machine.travel(NOW, tick=True):
        secure = proxied.test_client().get(url, headers={"X-Forwarded-Proto": "https"})
        plain = proxied.test_client().get(url)
    assert secure.status_code == plain.status_code == 200 and seen == []  # both answered in front
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in plain.headers and plain.headers["X-Frame-Options"] == "DENY"


def test_a_poll_the_database_cannot_answer_gets_the_views_503(caplog):
    """The lookup fails in front (nothing listens on the database's port): logged, then the view meets the failure
    again and answers it as every page does, instead of a bare 500."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/nothing", "SECRET_KEY": "x"})
    answer = app.test_client().get("/calendars/cal_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics")
    assert answer.status_code == 503
    assert "feed poll answered by the view after a failed lookup" in caplog.text
