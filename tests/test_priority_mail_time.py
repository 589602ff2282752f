"""The mail confirming a priority consulting placed by a plan says its cancellation limit at the plan's application
(the change's time), not the clock's: a mail composed when the clock already reads past that limit says what the
quote's acceptance did (as tests/test_notify.py checks for a booking)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine
from sqlalchemy import select

from booking.extensions import db
from booking.models import Absence, Booking, OutboxMessage
from booking.services import costs, priority
from calendars.worktime import PARIS

from . import factories as f
from .plans import computed

NOW = datetime(2026, 11, 30, 8, tzinfo=UTC)  # Monday 09:00 in Paris


def test_the_placement_s_mail_says_the_cancellation_limit_at_the_plan_s_application(app):
    app.config["RESHUFFLE_SECONDS"] = 2
    requester = f.user("client", f.company("serenite", contract_start=date(2026, 1, 1)))
    expert = f.consultant(skills=("migration",))
    # away until Friday: the placement lands beyond the free-cancellation cut-off of the acceptance
    expert.absences.append(Absence(start_at=NOW, end_at=datetime(2026, 12, 4, 0, tzinfo=PARIS)))
    planner = f.user("planner")
    db.session.commit()
    with time_machine.travel(NOW, tick=True):
        request = priority.request_consulting(requester, "migration", 1, "days", "Migration paie", NOW)
        plan = computed(priority.decide(planner, request, True, NOW).id)
    assert plan.status == "ready", plan.error
    start = datetime.fromisoformat(plan.plan["placements"][0]["start"])
    with time_machine.travel(start - timedelta(minutes=1), tick=False):  # the clock: past any free limit
        priority.accept_quote(requester, request, NOW)  # the change's time: the acceptance's
        [placed] = db.session.scalars(select(Booking).where(Booking.kind == "priority_consulting")).all()
        limit = costs.for_booking(placed).free_cancel_until
        assert limit is not None and NOW < limit < start - timedelta(minutes=1)
        mail = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.booking_id == placed.id, OutboxMessage.recipient == requester.email)
            .order_by(OutboxMessage.id.desc())
        ).first()
    body = mail.body.replace("\u202f", " ").replace("\xa0", " ")
    assert " jusqu'au " in body and "Moins de" not in body, body
