"""The reshuffle queue in the plans' own table: the web writes a plan `queued`; a scheduler's worker claims it
(`running`, one more attempt), beats while computing, and writes the result only while its claim holds. A
worker that dies, or stops beating, gives the plan back to the queue, MAX_ATTEMPTS computations at most.

Claims take `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several schedulers share the queue without waiting
on each other; on SQLite the write lock taken first (BEGIN IMMEDIATE) serialises them. The attempt number
is the claim's fencing token: a worker whose plan was reclaimed can no longer write to it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, func, select, update

from ..extensions import db
from ..models import ReshufflePlan
from . import locking

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a plan whose computation kills its process each time is given up, not retried for ever
HEARTBEAT_SECONDS = 2.0  # how often a computing worker says it is alive


def stale_after() -> timedelta:
    """A running plan whose worker has not beaten for this long is reclaimed (RESHUFFLE_STALE_SECONDS)."""
    return timedelta(seconds=current_app.config.get("RESHUFFLE_STALE_SECONDS", 30))


def claim(worker: str, now: datetime) -> tuple[int, int] | None:
    """The oldest queued plan, now `running` for `worker`: (plan id, attempt), or None when none waits."""
    with locking.locked([]):
        plan_id = db.session.scalar(
            select(ReshufflePlan.id)
            .where(ReshufflePlan.status == "queued")
            .order_by(ReshufflePlan.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if plan_id is None:
            return None
        attempt = db.session.execute(
            update(ReshufflePlan)
            .where(ReshufflePlan.id == plan_id, ReshufflePlan.status == "queued")
            .values(
                status="running",
                attempts=ReshufflePlan.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                worker=worker[:120],
                progress={},
                error="",
            )
            .returning(ReshufflePlan.attempts)
        ).scalar()
    return (plan_id, attempt) if attempt is not None else None


def _held(plan_id: int, attempt: int):
    """The condition under which a worker may still write to its plan."""
    return (ReshufflePlan.id == plan_id, ReshufflePlan.status == "running", ReshufflePlan.attempts == attempt)


def beat(plan_id: int, attempt: int, now: datetime, **values) -> bool:
    """The worker is alive (and, with `progress=…`, where it stands); False once its claim is lost."""
    with locking.locked([]):
        done = db.session.execute(
            update(ReshufflePlan).where(*_held(plan_id, attempt)).values(heartbeat_at=now, **values)
        )
        return cast(CursorResult, done).rowcount == 1


def held(plan_id: int, attempt: int, *also) -> ReshufflePlan | None:
    """Inside a locked() block: the plan, row-locked, if this claim still holds it (else None)."""
    return db.session.scalars(
        select(ReshufflePlan)
        .where(*_held(plan_id, attempt), *also)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def give_back(plan_id: int, attempt: int, now: datetime, why: str, *also) -> str | None:
    """A computation that ended without a result (its process died, overran or went silent): back to the
    queue, or failed once MAX_ATTEMPTS computations were interrupted. The new status; None if the claim was
    lost (or `also`, further conditions, no longer hold)."""
    with locking.locked([]):
        plan = held(plan_id, attempt, *also)
        if plan is None:
            return None
        if plan.attempts >= MAX_ATTEMPTS:
            log.error("reshuffle plan %s given up after %d interrupted computations (%s)", plan_id, plan.attempts, why)
            plan.status, plan.finished_at = "failed", now
            plan.error = (
                f"le calcul a été interrompu {plan.attempts} fois sans aboutir ({why}). Relancez-le ; "
                "si cela se reproduit, signalez-le à l'administrateur."
            )
        else:
            log.warning("reshuffle plan %s interrupted (%s): queued again", plan_id, why)
            plan.status, plan.worker, plan.heartbeat_at = "queued", "", None
        return plan.status


def reclaim(now: datetime) -> int:
    """Plans whose worker stopped beating (its host or scheduler died) go back to the queue, or fail after
    MAX_ATTEMPTS: never `running` for ever. Plans left by a web thread before the queue have no heartbeat."""
    silent = (
        func.coalesce(ReshufflePlan.heartbeat_at, ReshufflePlan.started_at, ReshufflePlan.created_at)
        < now - stale_after()
    )
    stale = db.session.execute(
        select(ReshufflePlan.id, ReshufflePlan.attempts).where(ReshufflePlan.status == "running", silent)
    ).all()
    db.session.rollback()  # end the read: each plan is re-checked under its row lock
    return sum(
        give_back(plan_id, attempt, now, "le calculateur ne donnait plus signe de vie", silent) is not None
        for plan_id, attempt in stale
    )


def ahead(plan: ReshufflePlan) -> int:
    """How many queued plans will be computed before this one."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(ReshufflePlan)
            .where(ReshufflePlan.status == "queued", ReshufflePlan.id < plan.id)
        )
        or 0
    )


def state(plan: ReshufflePlan, now: datetime) -> dict:
    """Where a plan stands, in figures: the page's progress and its JSON status (web/plan_status.py)."""
    progress = plan.progress or {}
    started = plan.started_at if plan.status == "running" else None
    return {
        "id": plan.id,
        "status": plan.status,
        "done": plan.status not in ("queued", "running"),
        "ahead": ahead(plan) if plan.status == "queued" else 0,
        "waited": round(max(0.0, (now - plan.created_at).total_seconds()), 1) if plan.status == "queued" else 0.0,
        "elapsed": round(max(0.0, (now - started).total_seconds()), 1) if started else progress.get("elapsed", 0.0),
        "limit": progress.get("limit") or current_app.config["RESHUFFLE_SECONDS"],
        "value": progress.get("value"),
        "bound": progress.get("bound"),
        "attempts": plan.attempts,
        "error": plan.error if plan.status == "failed" else "",
    }
