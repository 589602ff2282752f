"""What a slot promises, said on the slot before consent: free cancellation until when, or not; prerequisites due."""

import html
from datetime import UTC, date, datetime

import pytest
import time_machine

from booking.extensions import db
from booking.services import availability, promises
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


@pytest.fixture
def client(any_app):
    """A client of the app on both databases; conftest's `auth` logs in through it."""
    return any_app.test_client()


def texts(kind, start):
    return [(n.kind, n.text) for n in promises.notes(kind, paris(start), NOW)]


def test_inside_the_cut_off_cancelling_is_not_refunded(app):
    # Wednesday 09:00 + 24 business hours = Monday 12:30 (7.5 h a day): a slot before is inside the cut-off
    assert texts("erplib", "2026-12-04 14:30") == [("late_cancel", "annulation non remboursable")]
    assert texts("erplib", "2026-12-08 10:00") == [("free_cancel", "annulation gratuite jusqu'au mer. 2 déc. 17:30")]


def test_a_minor_update_says_by_when_its_prerequisites_are_due(app):
    assert texts("minor_update", "2026-12-09 14:00") == [
        ("free_cancel", "annulation gratuite jusqu'au ven. 4 déc. 11:00"),
        ("prerequisites", "prérequis à confirmer avant le ven. 4 déc. 11:00"),
    ]


def test_a_callback_costs_nothing_to_cancel(app):
    assert texts("callback", "2026-12-03 10:00") == []


def test_no_minor_update_is_offered_before_its_gate(any_app):
    f.consultant(skills=("installation",))
    start, end = availability.local_range(date(2026, 12, 2), date(2026, 12, 11))
    found = availability.slots("minor_update", f.company(), start, end, NOW)
    gate = availability.BUSINESS.add_minutes(NOW, 24 * 60)  # Monday 7 December 12:30
    assert found and min(s.start for s in found) == paris("2026-12-07 14:00") and all(s.start > gate for s in found)


def test_the_week_page_shows_the_notes(any_app, client, auth):
    f.consultant(skills=("installation",))
    user = f.user("client", f.company("serenite"))
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        auth.login(user.email)
        page = html.unescape(client.get("/portail/reserver/erplib?semaine=2026-12-07").get_data(as_text=True))
        assert "annulation non remboursable" in page and "annulation gratuite jusqu'au" in page
        minor = html.unescape(client.get("/portail/reserver/minor_update?semaine=2026-12-07").get_data(as_text=True))
        assert "prérequis à confirmer avant le" in minor and "annulation gratuite jusqu'au" in minor
