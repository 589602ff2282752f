"""One claimed reshuffle plan computed: the instance from the database, CP-SAT with its progress on the plan
row, then the plan (and the priority quote) or why there is none. Runs in a scheduler's worker process
(booking/plan_workers.py); every write is fenced by the claim's attempt (services/plan_queue.py)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from solver.instance import read_instance

from ..extensions import db
from ..models import ACTIVE_STATUSES, Booking, ReshufflePlan
from ..models.types import utcnow
from . import audit, locking, notify, plan_queue, quotes, reshuffle

log = logging.getLogger(__name__)
PROGRESS_SECONDS = 0.5  # the page's progress is at most this old, the row written no more often


def snapshot(now: datetime) -> dict:
    """Every active booking of the horizon as the plan sees it; applying checks that nothing changed."""
    end = now + timedelta(weeks=reshuffle.WEEKS)
    rows = db.session.execute(
        select(Booking.id, Booking.start_at, Booking.consultant_id, Booking.status, Booking.sequence).where(
            Booking.status.in_(ACTIVE_STATUSES), Booking.end_at > now, Booking.start_at < end
        )
    )
    return {str(i): [s.isoformat(), c, st, q] for i, s, c, st, q in rows}


def compute(plan_id: int, attempt: int) -> None:
    """Compute a plan claimed as `attempt`. A computation that raises is recorded as failed with its reason:
    never a plan left `running` for ever."""
    try:
        _compute(plan_id, attempt)
    except Exception as error:
        log.exception("reshuffle plan %s failed", plan_id)
        db.session.rollback()
        with locking.locked([]):
            plan = plan_queue.held(plan_id, attempt)
            if plan is not None:
                plan.status, plan.finished_at = "failed", utcnow()
                plan.error = (
                    f"le calcul a échoué ({type(error).__name__} : {str(error)[:200]}). Relancez-le ; "
                    "si l'erreur revient, signalez-la à l'administrateur."
                )


def _compute(plan_id: int, attempt: int) -> None:
    # Imported here, in the worker process that solves: the web's processes, which import this module for
    # `snapshot`, would otherwise load CP-SAT and pandas (which ortools imports) for nothing: about 0.4 s of
    # CPU at each start, and their memory in every gunicorn worker.
    from solver.model import solve

    queued = db.session.get_one(ReshufflePlan, plan_id)
    # as of the request, or of now when it waited (a reclaimed plan): never a start already in the past
    now = max(queued.created_at, utcnow())
    raw = reshuffle.build(now, [queued.request] if queued.request else [])
    seen = snapshot(now)
    limit = current_app.config["RESHUFFLE_SECONDS"]
    with locking.locked([]):
        plan = plan_queue.held(plan_id, attempt)
        if plan is None:
            return  # reclaimed meanwhile: another worker computes it
        plan.instance, plan.snapshot, plan.progress = raw, seen, {"elapsed": 0.0, "limit": limit}
    last = [0.0]
    app, home = current_app._get_current_object(), threading.get_ident()  # type: ignore[attr-defined]

    def progress(elapsed: float, value: float, bound: float) -> None:
        if time.monotonic() - last[0] < PROGRESS_SECONDS:
            return
        last[0] = time.monotonic()
        values = {"elapsed": round(elapsed, 1), "limit": limit, "value": value, "bound": bound}
        if threading.get_ident() == home:
            plan_queue.beat(plan_id, attempt, utcnow(), progress=values)
            return
        # CP-SAT calls back from its own worker threads, outside this app context: the beat gets a context, and so
        # a session and a connection, of its own (a plan failed on "Working outside of application context")
        with app.app_context():
            plan_queue.beat(plan_id, attempt, utcnow(), progress=values)

    result = solve(read_instance(raw), limit, progress=progress)
    with locking.locked([]):
        plan = plan_queue.held(plan_id, attempt)
        if plan is None:
            log.warning(
                "reshuffle plan %s: attempt %s finished after its claim was lost; result dropped", plan_id, attempt
            )
            return
        _record(plan, result, limit)


def _record(plan: ReshufflePlan, result, limit: float) -> None:
    """The solver's answer on the plan; a priority plan's quote goes to its requester."""
    plan.plan = result.to_json()
    plan.finished_at = utcnow()
    plan.progress = {
        "elapsed": round(result.seconds, 1),
        "limit": limit,
        "value": result.objective.get("value"),
        "bound": result.objective.get("best_bound"),
    }
    if result.status not in ("OPTIMAL", "FEASIBLE"):
        plan.status, plan.error = "failed", result.reason or result.status
        return
    plan.status = "ready"
    if plan.request:
        plan.request.status = "planned"
        plan.request.quote_eur = result.objective["compensation_eur"]
        plan.request.quote_valid_until = quotes.valid_until(plan)
        plan.request.client_accepted_at = plan.request.agreement_note = None  # a new quote, a new consent
        notify.quote_ready(plan.request, plan)
        audit.record(None, "priority.quote_ready", plan.request, plan=plan.id, quote_eur=plan.request.quote_eur)
