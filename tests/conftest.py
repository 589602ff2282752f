"""Fixtures: apps on SQLite and on a real throwaway PostgreSQL, clients, logins, factories."""

from __future__ import annotations

import itertools
import os
import shutil
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from hypothesis import settings

os.environ.setdefault("SECRET_KEY", "test-secret-key")

from booking import create_app  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.pgcluster import Cluster  # noqa: E402

from . import app_cache  # noqa: E402

app_cache.install()

# Properties are about answers, not speed: on two cores shared with servers, browsers and solvers, an example
# can take seconds, and hypothesis's per-example deadline would fail a correct test (speed is in bench/).
settings.register_profile("shared-machine", deadline=None)
settings.load_profile("shared-machine")

_counter = itertools.count()


def pytest_addoption(parser):
    parser.addoption(
        "--clock",
        metavar="YYYY-MM-DDTHH:MM",
        help="run with the clock set to this Paris time (and the processes the tests start)",
    )


def pytest_configure(config):
    """--clock: the whole run starts at that instant and ticks on; `make test-calendar` uses it."""
    if not config.getoption("clock"):
        return
    import time_machine

    instant = datetime.fromisoformat(config.getoption("clock"))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=ZoneInfo("Europe/Paris"))
    os.environ["PLANNER_CLOCK_OFFSET"] = str(instant.timestamp() - time.time())
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).parent / "clock"), os.environ.get("PYTHONPATH")])
    )
    time_machine.travel(instant, tick=True).start()


_pg_tests = {"passed": 0, "failed": 0}


def _config(url: str) -> dict:
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "SERVER_NAME": "planner.test"}


def _migrate(url: str) -> None:
    app = create_app(_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pg_template(pg_cluster):
    with psycopg.connect(pg_cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("CREATE DATABASE erplib_template")
    _migrate(pg_cluster.url("erplib_template"))
    return "erplib_template"


@pytest.fixture
def empty_app(pg_cluster):
    """The app on a new PostgreSQL database with no schema yet (the migrations' tests: they upgrade it themselves)."""
    name = f"empty{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg_cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": pg_cluster.url(name)})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _sqlite_url(sqlite_template, tmp_path) -> str:
    path = tmp_path / "planner.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _pg_url(pg_cluster, pg_template) -> str:
    name = f"t{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg_cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    return pg_cluster.url(name)


class IsolatedClient(FlaskClient):
    """Each request in a fresh app context (own `g`, own session), as in production, even though
    the test itself holds an app context open. The test's own transaction is ended around each
    request, so that the test then reads what the request wrote (a WAL snapshot would hide it)."""

    def open(self, *args, **kwargs):
        db.session.rollback()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.rollback()
        return response


def _app(url: str):
    app = create_app(_config(url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        for engine in db.engines.values():  # the app's and booking/reads.py's
            engine.dispose()


@pytest.fixture
def app(sqlite_template, tmp_path):
    """The app on a fresh, migrated SQLite file, inside an app context."""
    yield from _app(_sqlite_url(sqlite_template, tmp_path))


@pytest.fixture
def pg_app(request):
    """The app on a fresh, migrated database of the real PostgreSQL cluster."""
    cluster, template = request.getfixturevalue("pg_cluster"), request.getfixturevalue("pg_template")
    yield from _app(_pg_url(cluster, template))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request, sqlite_template, tmp_path):
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield from _app(_sqlite_url(sqlite_template, tmp_path))
    else:
        yield from _app(_pg_url(request.getfixturevalue("pg_cluster"), request.getfixturevalue("pg_template")))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = "secret-pass"):
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


# Fixtures that put a test on PostgreSQL: the shared cluster, or a module's own (`cluster`, started by the
# fault tests that restart it).
_PG_FIXTURES = {"pg_app", "pg_cluster", "pg_template", "cluster"}
# Tests measured at 5 s or more on the 2-core machine (`pytest --durations=0 --durations-min=5`), one node id
# or file a line; a parametrised test is named without its brackets.
_SLOW = {
    line.split("  #")[0].strip()
    for line in (Path(__file__).parent / "slow.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
}


def _on_postgresql(item) -> bool:
    params = getattr(item, "callspec", None)
    return (
        bool(_PG_FIXTURES & set(item.fixturenames))
        or item.module.__name__.endswith("_pg")
        or (params is not None and "postgresql" in params.params.values())
    )


def pytest_collection_modifyitems(items):
    """The markers pg, browser and slow, set here from what each test uses rather than test by test, so that
    `pytest -m "not slow and not browser"` is a fast loop that no new test slips out of."""
    for item in items:
        path = item.nodeid.split("::")[0]
        if _on_postgresql(item):
            item.add_marker(pytest.mark.pg)
        if path.startswith("tests/browser/"):
            item.add_marker(pytest.mark.browser)
        if path in _SLOW or item.nodeid.split("[")[0] in _SLOW:
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Mark the reports of tests on PostgreSQL (the mark travels with the report from xdist's workers)."""
    outcome = yield
    report = outcome.get_result()
    if item.get_closest_marker("pg"):
        report.user_properties.append(("postgresql", True))


def pytest_runtest_logreport(report):
    if report.when == "call" and ("postgresql", True) in report.user_properties:
        _pg_tests["passed" if report.passed else "failed"] += 1


def pytest_terminal_summary(terminalreporter):
    if any(_pg_tests.values()):
        terminalreporter.write_line(
            f"PostgreSQL tests on a real cluster: {_pg_tests['passed']} passed, {_pg_tests['failed']} failed"
        )
