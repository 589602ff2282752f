"""Queued reshuffle plans computed in the test's own process, by the functions a scheduler's worker runs
(claim, then compute): fixed-date tests keep their frozen clock, which a worker process would not share."""

from __future__ import annotations

from booking.extensions import db
from booking.models import ReshufflePlan
from booking.models.types import utcnow
from booking.services import plan_compute, plan_queue

from . import factories as f


def computed(plan_id: int) -> ReshufflePlan:
    """Compute the queue, oldest first, until this plan is done; the plan as the database now holds it."""
    while (claimed := plan_queue.claim("test:worker", utcnow())) is not None:
        plan_compute.compute(*claimed)
        if claimed[0] == plan_id:
            break
    f.reread()
    plan = db.session.get(ReshufflePlan, plan_id)
    assert plan.status not in ("queued", "running"), plan.status
    return plan
