"""A reshuffle whose computation fails ends `failed` with its reason, on the planner's page; one whose
worker keeps dying, or goes silent, is queued again a few times, then given up, never left `running` for ever."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine

from booking.extensions import db
from booking.models import ReshufflePlan
from booking.services import plan_compute, plan_queue, priority
from calendars.worktime import PARIS

from . import factories as f
from .test_priority import wait

NOW = datetime(2026, 11, 30, 8, tzinfo=UTC)  # Monday 09:00 in Paris


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
        plan = wait(priority.decide(planner, request, True, NOW).id)
    assert plan.status == "failed" and plan.finished_at is not None
    assert "le calcul a échoué" in plan.error and "InstanceError" in plan.error
    assert plan_queue.reclaim(NOW + timedelta(hours=1)) == 0  # nothing left to retry


def test_the_planner_sees_the_failure(app, client, auth):
    app.config["RESHUFFLE_SECONDS"] = 1
    request, planner = _request_with_a_departed_consultant()
    with time_machine.travel(NOW, tick=True):
        plan = wait(priority.decide(planner, request, True, NOW).id)
    auth.login(planner.email)
    page = client.get(f"/planification/plans/{plan.id}").get_data(as_text=True)
    assert "le calcul a échoué" in page and "Relancez-le" in page


def test_a_worker_that_dies_each_time_is_given_up_after_three_computations(any_app):
    request, _planner = _request_with_a_departed_consultant()
    plan = priority.start(None, "priority", NOW, request=request)
    outcomes = []
    for n in range(1, plan_queue.MAX_ATTEMPTS + 1):
        assert plan_queue.claim("host:1", NOW) == (plan.id, n)
        outcomes.append(plan_queue.give_back(plan.id, n, NOW, "processus de calcul arrêté (code -9)"))
    assert outcomes == ["queued"] * (plan_queue.MAX_ATTEMPTS - 1) + ["failed"]
    assert plan_queue.claim("host:1", NOW) is None  # never retried for ever
    f.reread()
    plan = db.session.get(ReshufflePlan, plan.id)
    assert plan.status == "failed" and f"interrompu {plan_queue.MAX_ATTEMPTS} fois" in plan.error
    assert "code -9" in plan.error


def test_a_silent_worker_s_plan_is_reclaimed_then_given_up(any_app):
    request, _planner = _request_with_a_departed_consultant()
    plan = ReshufflePlan(
        kind="priority",
        status="running",
        request_id=request.id,
        created_at=NOW,
        started_at=NOW,
        heartbeat_at=NOW,
        attempts=plan_queue.MAX_ATTEMPTS,
    )
    db.session.add(plan)
    db.session.commit()
    assert plan_queue.reclaim(NOW + timedelta(seconds=20)) == 0  # it beat 20 s ago: alive
    assert plan_queue.reclaim(NOW + timedelta(hours=1)) == 1
    f.reread()
    plan = db.session.get(ReshufflePlan, plan.id)
    assert plan.status == "failed" and f"interrompu {plan_queue.MAX_ATTEMPTS} fois" in plan.error
    assert plan.attempts == plan_queue.MAX_ATTEMPTS


def test_a_reclaimed_plan_refuses_its_former_worker(any_app):
    """The attempt number fences the claim: a worker that went silent, then wakes up, writes nothing."""
    any_app.config["RESHUFFLE_SECONDS"] = 1
    request, _planner = _request_with_a_departed_consultant()
    plan = priority.start(None, "priority", NOW, request=request)
    assert plan_queue.claim("host:1", NOW) == (plan.id, 1)
    assert plan_queue.reclaim(NOW + timedelta(hours=1)) == 1
    assert plan_queue.reclaim(NOW + timedelta(hours=1)) == 0  # queued again, once
    assert plan_queue.claim("host:2", NOW + timedelta(hours=1)) == (plan.id, 2)
    assert not plan_queue.beat(plan.id, 1, NOW + timedelta(hours=1))
    assert plan_queue.give_back(plan.id, 1, NOW + timedelta(hours=1), "late") is None
    with time_machine.travel(NOW, tick=True):
        plan_compute.compute(plan.id, 1)  # the former worker's result (a failure here) is dropped
        f.reread()
        plan = db.session.get(ReshufflePlan, plan.id)
        assert (plan.status, plan.worker, plan.error) == ("running", "host:2", "")
        plan_compute.compute(plan.id, 2)
    f.reread()
    assert db.session.get(ReshufflePlan, plan.id).status == "failed"  # the departed consultant, recorded


def test_progress_reported_from_the_solver_s_own_threads_reaches_the_plan(any_app, monkeypatch):
    """CP-SAT calls back from its worker threads, outside the app's context: a progress beat made there failed
    the whole plan ("Working outside of application context") whenever the exact model still improved the plan
    after PROGRESS_SECONDS, which a slow or busy machine reached (seen at one clock of `make test-calendar`).
    With every improvement beating, the plan is computed and its progress written."""
    monkeypatch.setattr(plan_compute, "PROGRESS_SECONDS", 0.0)
    any_app.config["RESHUFFLE_SECONDS"] = 2
    requester = f.user("client", f.company("serenite", contract_start=date(2026, 1, 1)))
    planner = f.user("planner")
    f.consultant(skills=("migration",))
    db.session.commit()
    with time_machine.travel(NOW, tick=True):
        request = priority.request_consulting(requester, "migration", 1, "days", "Migration paie", NOW)
        plan = wait(priority.decide(planner, request, True, NOW).id)
    assert plan.status == "ready", plan.error
    assert plan.progress["elapsed"] >= 0 and "value" in plan.progress
