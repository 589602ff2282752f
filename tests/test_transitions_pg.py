"""Transitions of one booking sent at the same moment, through gunicorn (4 workers) on the real PostgreSQL:
exactly one happens, the others are refused with a 409 naming the state; ledger, audit, mails and SEQUENCE
count the effective one only."""

from __future__ import annotations

import html
import http.cookiejar
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from datetime import time as clock
from functools import partial

import pytest
from sqlalchemy import func, select

from booking import create_app
from booking.extensions import db
from booking.models import AuditEntry, Booking, LedgerEntry, OutboxMessage, User
from booking.services import bookings, tokens
from calendars.worktime import PARIS

from . import factories as f
from .conftest import _pg_url
from .dates import contract_start, working_days
from .servers import gunicorn


@pytest.fixture(scope="module")
def server(pg_cluster, pg_template, tmp_path_factory):
    url = _pg_url(pg_cluster, pg_template)
    process, base = gunicorn(url, tmp_path_factory.mktemp("gunicorn") / "log")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://")})
    yield base, app
    process.terminate()
    process.wait(10)


def call(method: str, url: str, token: str, body: dict | None = None) -> tuple[int, str, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body or {}).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers["Content-Type"], json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], json.load(error)


def at_once(functions: list) -> list:
    """Call every function at the same instant, each from a thread of its own; their answers, in order."""
    barrier, results = threading.Barrier(len(functions)), [None] * len(functions)

    def run(index, function):
        barrier.wait()
        results[index] = function()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def later(seconds: float, function):
    """`function`'s answer, called `seconds` from now."""
    time.sleep(seconds)
    return function()


def together(calls: list[tuple]) -> list[tuple[int, str, dict]]:
    """Send every (method, url, token, body) at the same instant."""
    return at_once([lambda args=args: call(*args) for args in calls])


class Browser:
    """A signed-in browser (its session cookie, redirects followed) that posts forms with its CSRF token."""

    def __init__(self, base: str, email: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = self._csrf(self.page("/login"))
        self.csrf = self._csrf(self.post("/login", email=email, password=f.PASSWORD))  # the home page's

    @staticmethod
    def _csrf(page: str) -> str:
        return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)

    def page(self, path: str, data: bytes | None = None) -> str:
        with self.opener.open(f"{self.base}{path}", data=data, timeout=60) as response:
            return html.unescape(response.read().decode())

    def post(self, path: str, **fields) -> str:
        """The page the form leads to, with its flashed sentence."""
        return self.page(path, urllib.parse.urlencode({**fields, "csrf_token": self.csrf}).encode())


@pytest.fixture(scope="module")
def client(server):
    """A Sérénité contact's token and a consultant."""
    _, app = server
    with app.app_context():
        f.consultant(skills=("installation",))
        contact = f.user("client", f.company("serenite", contract_start=contract_start()))
        raw = tokens.create(contact)
        db.session.commit()
        return raw


@pytest.fixture(scope="module")
def consultant(server, client):
    """The consultant that the client books (the only one): their id and e-mail."""
    _, app = server
    with app.app_context():
        user = db.session.scalars(select(User).where(User.role == "consultant")).one()
        return user.consultant.id, user.email


def at(day, hour: int) -> str:
    return datetime.combine(day, clock(hour), PARIS).isoformat()


def facts(app, booking_id: int) -> dict:
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        audit = db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "booking", AuditEntry.object_id == booking_id)
            .order_by(AuditEntry.id)
        ).all()
        subjects = db.session.scalars(select(OutboxMessage.subject).where(OutboxMessage.booking_id == booking_id)).all()
        held = db.session.execute(
            select(
                func.coalesce(-func.sum(LedgerEntry.minutes), 0),
                func.coalesce(func.sum(LedgerEntry.billable_minutes), 0),
            ).where(LedgerEntry.booking_id == booking_id)
        ).one()
        return {
            "status": booking.status,
            "sequence": booking.sequence,
            "start": booking.start_at.isoformat(),
            "audit": audit,
            "mails": sorted(s.split(" :")[0] for s in subjects),
            "held": tuple(held),
        }


def test_twenty_cancels_of_one_booking_cancel_it_once(server, client):
    base, app = server
    day = working_days(1, after=9)[0]
    status, _, booking = call("POST", f"{base}/api/v1/bookings", client, {"service": "erplib", "start": at(day, 10)})
    assert status == 201
    results = together([("POST", f"{base}/api/v1/bookings/{booking['id']}/cancel", client, None)] * 20)
    assert sorted(s for s, _, _ in results) == [200] + [409] * 19
    for status, content_type, body in results:
        if status == 409:
            assert content_type == "application/problem+json" and body["detail"] == "Ce rendez-vous est déjà annulé."
    seen = facts(app, booking["id"])
    assert seen["status"] == "cancelled" and seen["sequence"] == 1 and seen["held"] == (0, 0)
    assert seen["audit"] == ["booking.confirm", "booking.cancel"]
    assert seen["mails"] == ["Rendez-vous annulé"] * 2 + ["Rendez-vous confirmé"] * 2


def test_a_cancel_and_a_move_sent_together_one_happens(server, client):
    base, app = server
    days = working_days(10, after=9)
    outcomes = set()
    for n in range(5):
        status, _, booking = call(
            "POST", f"{base}/api/v1/bookings", client, {"service": "erplib", "start": at(days[n], 11)}
        )
        assert status == 201
        url = f"{base}/api/v1/bookings/{booking['id']}"
        (cancel_status, _, cancelled), (move_status, move_type, moved) = together(
            [("POST", f"{url}/cancel", client, None), ("PATCH", url, client, {"start": at(days[n + 5], 15)})]
        )
        seen = facts(app, booking["id"])
        if (cancel_status, move_status) == (200, 200):
            # not at the same moment after all (a loaded machine ran one request through before the other read
            # the booking): moved, then cancelled as moved. Each happened once, in order.
            outcomes.add("moved, then cancelled")
            assert seen["status"] == "cancelled" and seen["sequence"] == 2 and seen["held"] == (0, 0)
            assert seen["audit"] == ["booking.confirm", "booking.reschedule", "booking.cancel"]
            assert (
                seen["mails"] == ["Rendez-vous annulé"] * 2 + ["Rendez-vous confirmé"] * 2 + ["Rendez-vous déplacé"] * 2
            )
            continue
        assert sorted((cancel_status, move_status)) == [200, 409]
        assert seen["sequence"] == 1
        if cancel_status == 200:
            outcomes.add("cancelled")
            assert move_type == "application/problem+json"
            assert moved["detail"] == "Ce rendez-vous est déjà annulé : le déplacement n'est plus possible."
            assert (
                seen["status"] == "cancelled"
                and seen["held"] == (0, 0)
                and datetime.fromisoformat(seen["start"]) == datetime.fromisoformat(booking["start"])
            )
            assert seen["audit"] == ["booking.confirm", "booking.cancel"]
            assert seen["mails"] == ["Rendez-vous annulé"] * 2 + ["Rendez-vous confirmé"] * 2
        else:
            outcomes.add("moved")
            assert cancelled["detail"].startswith("Ce rendez-vous vient d'être déplacé au ")
            assert seen["status"] == "confirmed" and seen["held"] == (45, 0)
            assert seen["audit"] == ["booking.confirm", "booking.reschedule"]
            assert seen["mails"] == ["Rendez-vous confirmé"] * 2 + ["Rendez-vous déplacé"] * 2
    assert outcomes  # either order may win; neither may win twice, nor both at once


def test_a_hold_confirmed_and_released_together_ends_one_way(server, client):
    base, app = server
    outcomes = set()
    for day in working_days(5, after=9):
        status, _, hold = call(
            "POST", f"{base}/api/v1/bookings", client, {"service": "erplib", "start": at(day, 16), "hold": True}
        )
        assert status == 201 and hold["status"] == "held"
        url = f"{base}/api/v1/bookings/{hold['id']}"
        (confirm_status, confirm_type, confirmed), (release_status, _, _) = together(
            [("POST", f"{url}/confirm", client, None), ("POST", f"{url}/cancel", client, None)]
        )
        seen = facts(app, hold["id"])
        # cancelling is allowed from both states: the release always happens, once, and gives everything back
        assert release_status == 200
        assert seen["status"] == "cancelled" and seen["sequence"] == 1 and seen["held"] == (0, 0)
        if confirm_status == 200:
            # confirmed first, then cancelled as confirmed: the client is told both (a hold alone is never mailed)
            outcomes.add("confirmed, then cancelled")
            assert seen["audit"] == ["booking.hold", "booking.confirm", "booking.cancel"]
            assert seen["mails"] == ["Rendez-vous annulé"] * 2 + ["Rendez-vous confirmé"] * 2
        else:
            outcomes.add("released")
            assert confirm_status == 409 and confirm_type == "application/problem+json"
            assert confirmed["detail"] == "Ce rendez-vous est déjà annulé : la confirmation n'est plus possible."
            assert seen["audit"] == ["booking.hold", "booking.cancel"]
            assert seen["mails"] == []
    assert outcomes  # either order may win; a released hold is never confirmed, a confirmed one is cancelled as such


def test_an_outcome_and_a_planners_cancel_sent_together_one_happens(server, client, consultant):
    base, app = server
    consultant_id, email = consultant
    with app.app_context():
        contact = db.session.get(User, call("GET", f"{base}/api/v1/me", client)[2]["id"])
        planner = tokens.create(f.user("planner"))
        db.session.commit()
        past = []
        for day in working_days(6, after=-16):  # sessions of the last two weeks, booked a week before they began
            start = datetime.combine(day, clock(9), PARIS)
            past.append(
                bookings.book(contact, "erplib", start, start - timedelta(days=7), consultant_id=consultant_id).id
            )
    browser, outcomes = Browser(base, email), set()
    for n, booking_id in enumerate(past):
        outcome = ("completed", "no_show")[n % 2]
        # a page's POST takes longer than the API's: the cancels leave 0 to 20 ms later, still while the outcome
        # is in flight, so that either may reach the lock first
        cancel = partial(call, "POST", f"{base}/api/v1/bookings/{booking_id}/cancel")
        (cancel_status, cancel_type, cancelled), (client_status, _, refused), page = at_once(
            [
                partial(later, n * 0.004, partial(cancel, planner)),
                partial(later, n * 0.004, partial(cancel, client)),
                partial(browser.post, f"/consultant/rendez-vous/{booking_id}/issue", outcome=outcome),
            ]
        )
        seen = facts(app, booking_id)
        # the session has begun: the client may no longer cancel it, whatever reached the lock first
        assert client_status == 409 and refused["code"] in ("already_started", "state_changed"), refused
        assert (cancel_status == 200) != ("Issue enregistrée." in page), (cancel_status, cancelled)
        if cancel_status == 200:
            outcomes.add("cancelled")
            assert "Ce rendez-vous est déjà annulé : aucune issue ne peut plus être enregistrée." in page
            # a planner's cancellation gives the session back, as one made in time does
            assert seen["status"] == "cancelled" and seen["sequence"] == 1 and seen["held"] == (0, 0)
            assert seen["audit"] == ["booking.confirm", "booking.cancel"]
            assert seen["mails"] == ["Rendez-vous annulé"] * 2 + ["Rendez-vous confirmé"] * 2
        else:
            outcomes.add(outcome)
            assert cancel_type == "application/problem+json"
            assert cancelled["detail"].endswith(" : l'annulation n'est plus possible.")
            assert cancelled["detail"].startswith(
                {"completed": "Ce rendez-vous est déjà réalisé", "no_show": "Ce rendez-vous est déjà clos"}[outcome]
            )
            assert seen["status"] == outcome and seen["sequence"] == 0 and seen["held"] == (45, 0)
            assert seen["audit"] == ["booking.confirm", f"booking.{outcome}"]
            assert seen["mails"] == ["Rendez-vous confirmé"] * 2
    assert outcomes  # either may win; never both: an outcome on a cancelled session, or a cancelled outcome
