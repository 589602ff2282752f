"""A planner moves or cancels any booking from its page, priority consulting included: the consequences
come first (the plan is not undone, compensations stay due), then yes or no; a booking moved since the
page was shown is not changed blind."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
import time_machine

from booking.extensions import db
from booking.models import AuditEntry, Booking
from calendars.worktime import PARIS

from . import factories as f
from .dates import working_days

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris


@pytest.fixture
def client(any_app):
    """A client of the app on both databases; conftest's `auth` logs in through it."""
    return any_app.test_client()


@pytest.fixture
def world(any_app):
    with time_machine.travel(NOW, tick=False):
        days = working_days(2, today=NOW.astimezone(PARIS).date())
        company = f.company("serenite")
        consultant = f.consultant()
        planner = f.user("planner")
        priority = f.booking(
            consultant,
            datetime.combine(days[0], time(9), PARIS),
            minutes=9 * 60,
            company=company,
            kind="priority_consulting",
        )  # 09:00–18:00
        db.session.commit()
        yield {"planner": planner, "priority": priority, "days": days}


def test_a_planner_sees_the_consequences_then_cancels_a_priority_consulting(client, auth, world):
    with time_machine.travel(NOW, tick=False):
        auth.login(world["planner"].email)
        booking = world["priority"]
        page = client.get(f"/planification/rendez-vous/{booking.id}").get_data(as_text=True)
        assert "Annuler ce rendez-vous…" in page and "Voir ce que cela implique" in page
        step = client.get(f"/planification/rendez-vous/{booking.id}/annuler").get_data(as_text=True)
        assert "ne touche aucun autre rendez-vous" in step and "Oui, annuler ce rendez-vous" in step
        db.session.expire_all()
        assert db.session.get(Booking, booking.id).status == "confirmed"  # the step changed nothing
        done = client.post(
            f"/planification/rendez-vous/{booking.id}/annuler",
            data={"sequence": booking.sequence},
            follow_redirects=True,
        ).get_data(as_text=True)
        assert "Rendez-vous annulé" in done
        db.session.expire_all()
        assert db.session.get(Booking, booking.id).status == "cancelled"


def test_moving_asks_once_more_and_a_booking_moved_meanwhile_is_not_changed_blind(client, auth, world):
    with time_machine.travel(NOW, tick=False):
        auth.login(world["planner"].email)
        booking, day = world["priority"], world["days"][1]
        start, seen = f"{day.isoformat()}T09:00", world["priority"].sequence
        step = client.post(f"/planification/rendez-vous/{booking.id}/deplacer", data={"start": start, "sequence": seen})
        assert step.status_code == 200 and "Oui, déplacer ce rendez-vous" in step.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(Booking, booking.id).sequence == seen  # not moved yet
        stale = client.post(
            f"/planification/rendez-vous/{booking.id}/deplacer",
            data={"start": start, "sequence": seen + 7, "confirmed": "1"},
        )
        assert stale.status_code == 409
        moved = client.post(
            f"/planification/rendez-vous/{booking.id}/deplacer",
            data={"start": start, "sequence": seen, "confirmed": "1"},
        )
        assert moved.status_code == 302
        db.session.expire_all()
        after = db.session.get(Booking, booking.id)
        assert after.start_at.astimezone(PARIS).date() == day and after.sequence == seen + 1
        assert db.session.query(AuditEntry).filter_by(action="booking.reschedule", object_id=booking.id).count() == 1
        bad = client.post(f"/planification/rendez-vous/{booking.id}/deplacer", data={"start": "demain", "sequence": 1})
        assert bad.status_code == 422 and "Choisissez une date et une heure" in bad.get_data(as_text=True)


def test_clients_and_consultants_cannot_reach_the_planner_pages(client, auth, world):
    with time_machine.travel(NOW, tick=False):
        client_user = f.user("client", world["priority"].company)
        db.session.commit()
        auth.login(client_user.email)
        assert client.get(f"/planification/rendez-vous/{world['priority'].id}").status_code == 403


def test_a_move_to_a_time_the_spring_clock_change_skips_is_refused_with_the_reason(client, auth, world):
    """It asked « Déplacer ce rendez-vous ? » for 02:30 that day and showed 03:30."""
    with time_machine.travel(NOW, tick=False):
        auth.login(world["planner"].email)
        booking = world["priority"]
        spring = max(datetime(2027, 3, d) for d in range(25, 32) if datetime(2027, 3, d).weekday() == 6)
        step = client.post(
            f"/planification/rendez-vous/{booking.id}/deplacer",
            data={"start": f"{spring.date().isoformat()}T02:30", "sequence": booking.sequence},
        )
        assert step.status_code == 422 and "02:30 n'existe pas le 28 mars 2027" in step.get_data(as_text=True)
