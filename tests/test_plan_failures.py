"""A reshuffle whose computation fails ends `failed` with its reason, on the planner's page; one whose
process keeps dying is retried a few times, then given up, never left `running` for ever."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import time_machine
from sqlalchemy import update

from booking.extensions import db
from booking.models import ReshufflePlan
from booking.services import priority
from calendars.worktime import PARIS

from . import factories as f
from .test_priority import wait

NOW = datetime(2026, 11, 30, 8, tzinfo=timezone.utc)  # Monday 09:00 in Paris


def _request_with_a_departed_consultant():
    """A confirmed booking held by a consultant since deactivated: the solver's instance names a
    consultant it does not list, and building it raises (a real fault, found by the adversarial test)."""
    requester = f.user("client", f.company("serenite", contract_start=date(2026, 1, 1)))
    f.consultant(skills=("migration",))
    gone = f.consultant(skills=("comptabilite",))
    f.booking(gone, datetime(2026, 12, 2, 10, tzinfo=PARIS), booked_at=NOW - timedelta(days=30))
    gone.user.active = False
    planner = f.user("planner")
    db.session.commit()
    return priority.request_consulting(requester, "migration", 1, "days", "Migration", NOW), planner


def test_a_computation_that_raises_is_recorded_as_failed_with_its_reason(any_app):
    any_app.config["RESHUFFLE_SECONDS"] = 1
    request, planner = _request_with_a_departed_consultant()
    with time_machine.travel(NOW, tick=True):
        plan = wait(priority.decide(planner, request, True, NOW).id, seconds=30)
    assert plan.status == "failed" and plan.finished_at is not None
    assert "le calcul a échoué" in plan.error and "InstanceError" in plan.error
    assert priority.resume_abandoned(NOW + timedelta(hours=1)) == 0  # nothing left to retry


def test_the_planner_sees_the_failure(app, client, auth):
    app.config["RESHUFFLE_SECONDS"] = 1
    request, planner = _request_with_a_departed_consultant()
    with time_machine.travel(NOW, tick=True):
        plan = wait(priority.decide(planner, request, True, NOW).id, seconds=30)
    auth.login(planner.email)
    page = client.get(f"/planification/plans/{plan.id}").get_data(as_text=True)
    assert "le calcul a échoué" in page and "Relancez-le" in page


def test_an_interrupted_computation_is_retried_then_given_up(any_app):
    request, planner = _request_with_a_departed_consultant()
    plan = ReshufflePlan(kind="priority", status="running", request_id=request.id, created_at=NOW,
                         attempts=priority.MAX_ATTEMPTS)  # as if each computation had killed its process
    db.session.add(plan)
    db.session.commit()
    assert priority.resume_abandoned(NOW + timedelta(seconds=30)) == 0  # still within its time: not abandoned
    later = NOW + timedelta(hours=1)
    assert priority.resume_abandoned(later) == 0
    f.reread()
    plan = db.session.get(ReshufflePlan, plan.id)
    assert plan.status == "failed" and f"interrompu {priority.MAX_ATTEMPTS} fois" in plan.error
    assert plan.attempts == priority.MAX_ATTEMPTS + 1


def test_an_abandoned_plan_is_claimed_once_and_counted(any_app):
    any_app.config["RESHUFFLE_SECONDS"] = 1
    request, planner = _request_with_a_departed_consultant()
    plan = ReshufflePlan(kind="priority", status="running", request_id=request.id, created_at=NOW)
    db.session.add(plan)
    db.session.commit()
    assert priority.resume_abandoned(NOW + timedelta(hours=1)) == 1
    f.reread()
    plan = db.session.get(ReshufflePlan, plan.id)
    assert plan.attempts == 2 and plan.status == "failed"  # computed again here, and its failure recorded
    db.session.execute(update(ReshufflePlan).where(ReshufflePlan.id == plan.id).values(status="running"))
    db.session.commit()
    assert priority.resume_abandoned(NOW + timedelta(hours=1)) == 0  # claimed at NOW + 1 h: not yet abandoned
