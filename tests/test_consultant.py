"""The consultant's pages: a follow-up is offered, and opened, for sessions that have started only."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime

import pytest
import time_machine

from booking.extensions import db
from booking.services import bookings
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
UNDER_WAY = datetime(2026, 12, 7, 9, 20, tzinfo=UTC)  # Monday 10:20 in Paris


@pytest.fixture
def client(any_app):
    """A client of the app on both databases; conftest's `auth` logs in through it."""
    return any_app.test_client()


@pytest.fixture
def sessions(any_app):
    company = f.company("serenite", contract_start=date(2026, 1, 1))
    contact = f.user("client", company)
    consultant = f.consultant(skills=("installation",))
    db.session.commit()
    started = bookings.book(contact, "erplib", datetime(2026, 12, 7, 10, tzinfo=PARIS), NOW)
    later = bookings.book(contact, "erplib", datetime(2026, 12, 7, 14, tzinfo=PARIS), NOW)
    return consultant, started, later


def test_a_follow_up_is_offered_and_opened_for_a_started_session_only(client, auth, sessions):
    consultant, started, later = sessions
    with time_machine.travel(UNDER_WAY, tick=False):
        auth.login(consultant.user.email)
        home = client.get("/consultant/").get_data(as_text=True)
        assert f"/consultant/rendez-vous/{started.id}/suivi" in home
        assert f"/consultant/rendez-vous/{later.id}/suivi" not in home
        assert client.get(f"/consultant/rendez-vous/{started.id}/suivi").status_code == 200
        opened = client.get(f"/consultant/rendez-vous/{later.id}/suivi", follow_redirects=True)
        assert opened.request.path == "/consultant/"
        assert "n'a pas encore commencé" in html.unescape(opened.get_data(as_text=True))
        sent = client.post(
            f"/consultant/rendez-vous/{later.id}/suivi",
            data={"start": datetime(2026, 12, 8, 10, tzinfo=PARIS).isoformat()},
            follow_redirects=True,
        )
    assert "n'a pas encore commencé" in html.unescape(sent.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.query(type(later)).filter_by(follow_up_of_id=later.id).count() == 0
