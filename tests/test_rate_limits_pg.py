"""Rate limits that hold as configured across gunicorn's workers: counted in a real Redis shared by the
four workers (as under `make serve`), per account whatever the client's address; Redis down, the
service still answers (each worker counts in memory meanwhile) and says so in its log."""

from __future__ import annotations

import http.cookiejar
import json
import math
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from datetime import time as clock
from pathlib import Path

import pytest
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Booking
from booking.models.people import LoginFailure
from booking.services import logins, tokens
from calendars.worktime import PARIS

from . import factories as f
from . import servers
from .dates import contract_start, working_days
from .servers import gunicorn

BOOKING_LIMIT = 5  # per minute and API token: small, so that the test books few slots


@pytest.fixture
def redis_server(tmp_path):
    """A throwaway redis-server: (its URL, its process)."""
    process, url = servers.redis_server(tmp_path)
    yield url, process
    process.terminate()
    process.wait(10)


@pytest.fixture
def server(pg_app, redis_server, tmp_path):
    """gunicorn with 4 workers on the test's database, its limits in the Redis; X-Forwarded-For believed
    (one proxy), so that each request can come from an address of its own."""
    log = tmp_path / "gunicorn.log"
    process, base = gunicorn(
        pg_app.config["SQLALCHEMY_DATABASE_URI"],
        log,
        workers=4,
        RATELIMIT_STORAGE_URI=redis_server[0],
        TRUSTED_PROXIES="1",
    )
    yield base, log, redis_server[1]
    process.terminate()
    process.wait(10)


@pytest.fixture
def booking_server(pg_app, redis_server, tmp_path):
    """gunicorn with 4 workers, its limits in the Redis, and a booking limit of BOOKING_LIMIT a minute."""
    process, base = gunicorn(
        pg_app.config["SQLALCHEMY_DATABASE_URI"],
        tmp_path / "gunicorn.log",
        workers=4,
        RATELIMIT_STORAGE_URI=redis_server[0],
        RATELIMIT_BOOKING=f"{BOOKING_LIMIT} per minute",
    )
    yield base
    process.terminate()
    process.wait(10)


class Answer:
    def __init__(self, status: int, headers, body: bytes):
        self.status_code, self.headers, self.text = status, headers, body.decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is the answer we look at


class Visitor:
    """One browser from one address: the login form's CSRF token, then its POST (redirects not followed)."""

    def __init__(self, base: str, address: str = "203.0.113.7"):
        self.base, self.address = base, address
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        page = self._open(f"{base}/login").text
        self.csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    def _open(self, url: str, data: dict | None = None) -> Answer:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers={"X-Forwarded-For": self.address})
        try:
            with self.opener.open(request, timeout=60) as response:
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers, error.read())

    def login(self, email: str, password: str) -> Answer:
        return self._open(f"{self.base}/login", {"email": email, "password": password, "csrf_token": self.csrf})


def book(base: str, token: str, start: datetime) -> Answer:
    """POST a booking of an ERP-Lib session at `start` with the API token."""
    body = json.dumps({"service": "erplib", "start": start.isoformat()}).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/bookings",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


def free_starts(count: int) -> list[datetime]:
    """`count` distinct starts of one consultant, each bookable on its own: six a working day (the daily cap),
    on working days past the notice and well inside the horizon, whatever today is."""
    days = working_days(math.ceil(count / 6), after=9)
    return [datetime.combine(day, clock(hour), PARIS) for day in days for hour in (9, 10, 11, 14, 15, 16)][:count]


def _together(calls) -> list[Answer]:
    """Run the calls at the same instant, from threads: the four workers share the load."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_eleven_logins_to_one_account_across_four_workers_admit_exactly_ten(server):
    base, _log, _redis = server
    email, other = f.user("client").email, f.user("client").email  # read here, not in the threads
    db.session.commit()
    visitors = [Visitor(base) for _ in range(11)]
    answers = _together([lambda v=v: v.login(email, f.PASSWORD) for v in visitors])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [302] * 10 + [429], statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert "Réessayez dans" in refused.text and int(refused.headers["Retry-After"]) > 0
    assert Visitor(base).login(other, f.PASSWORD).status_code == 302  # another account, the same address


def test_failures_spread_over_addresses_are_still_limited_per_account(server):
    base, _log, _redis = server
    user = f.user("planner")
    db.session.commit()
    answers = [Visitor(base, f"198.51.100.{i}").login(user.email, f"guess-{i}") for i in range(1, 13)]
    statuses = [a.status_code for a in answers]
    assert statuses == [200] * 4 + [429] * 8, statuses
    assert all("E-mail ou mot de passe incorrect" in a.text for a in answers[:4])
    assert all(
        "Trop d&#39;échecs de connexion" in a.text or "Trop d'échecs de connexion" in a.text for a in answers[4:10]
    )  # the account's delay, kept in the database
    assert all("Trop de demandes" in a.text for a in answers[10:])  # the account's rate limit, in Redis
    f.reread()
    assert db.session.get(LoginFailure, logins.account_key(user.email)).failures == 5


def test_with_redis_down_logins_still_answer_and_the_log_says_why(server):
    base, log, redis_process = server
    user = f.user("client")
    db.session.commit()
    visitor = Visitor(base)
    redis_process.terminate()
    redis_process.wait(10)
    start = time.monotonic()
    assert visitor.login(user.email, f.PASSWORD).status_code == 302
    assert time.monotonic() - start < 10
    assert "Rate limit storage unreachable" in Path(log).read_text()


def test_bookings_with_one_token_across_four_workers_admit_exactly_the_limit(booking_server):
    base = booking_server
    f.consultant(skills=("installation",))
    contact = f.user("client", f.company("serenite", contract_start=contract_start()))
    other = f.user("client", f.company("serenite", contract_start=contract_start()))
    token, other_token = tokens.create(contact), tokens.create(other)
    company_id = contact.company_id
    db.session.commit()
    # three times the limit, at once: counted by each of the 4 workers alone (up to 4 x 5), all 15 could pass
    *starts, spare = free_starts(3 * BOOKING_LIMIT + 1)
    answers = _together([lambda s=s: book(base, token, s) for s in starts])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * BOOKING_LIMIT + [429] * (2 * BOOKING_LIMIT), statuses
    for refused in (a for a in answers if a.status_code == 429):
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert "Réessayez dans" in json.loads(refused.text)["detail"]
        assert int(refused.headers["Retry-After"]) > 0
    f.reread()
    booked = db.session.scalar(select(func.count(Booking.id)).where(Booking.company_id == company_id))
    assert booked == BOOKING_LIMIT  # a refused request booked nothing
    assert book(base, other_token, spare).status_code == 201  # another token has its own count
