"""A live server with the demo data, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import threading

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from booking import create_app, plan_workers
from booking.demo import ensure_demo
from booking.extensions import db
from booking.pgcluster import free_port
from booking.sqlite import IMMEDIATE

CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium keeps trying to reach Google's services through a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def write_lock_first() -> None:
    """For a test's own read-then-write in the live database: the write lock taken first, as the services take
    it. Otherwise the read starts a snapshot and the write fails at once ("database is locked", no wait) if the
    server or its plan workers wrote in between."""
    db.session.connection(execution_options={IMMEDIATE: True})


@pytest.fixture(scope="session")
def live_app(sqlite_template, tmp_path_factory):
    """The served app and its address: a test may read the live database in an app context of its own."""
    path = tmp_path_factory.mktemp("live") / "planner.db"
    shutil.copy(sqlite_template, path)
    # The browser tests of one worker share this server and log in as the demo's few people, dozens of times a
    # minute once the suite runs fast: the per-account login limit (tested in test_rate_limits_pg.py) is lifted;
    # the per-address one (100 a minute) stays, well above a worker's pace.
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "RESHUFFLE_SECONDS": 3, "RATELIMIT_LOGIN": "1000 per minute"}
    )
    with app.app_context():
        ensure_demo()
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    workers = plan_workers.start(app)  # as `make run`'s server does: reshuffle plans are computed beside it
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    workers.stop()


@pytest.fixture(scope="session")
def live_server(live_app):
    return live_app[1]


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def plain_page(browser):
    """A page with JavaScript off: every step must still work."""
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
