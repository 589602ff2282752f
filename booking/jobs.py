"""Background jobs (APScheduler 3), defined in code. Each job takes only the clock, claims its rows
before acting (running twice does no harm), and runs only in the process holding the lease."""

from __future__ import annotations

import logging
import os
import socket
import uuid

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from . import plan_workers
from .models.types import utcnow
from .services import (
    calendar_sync,
    callbacks,
    companies,
    holds,
    hour_bank,
    interventions,
    lease,
    mail,
    reminders,
    webhook_delivery,
)

log = logging.getLogger(__name__)

# (function of `now`, trigger): the whole schedule, in one place.
JOBS = [
    (mail.deliver, {"trigger": "interval", "seconds": 10}),  # the outbox: mail leaves within seconds
    (webhook_delivery.deliver, {"trigger": "interval", "seconds": 10}),  # webhooks, never from a request
    (holds.expire, {"trigger": "interval", "minutes": 1}),
    (reminders.send_reminders, {"trigger": "interval", "minutes": 5}),
    (interventions.send_prerequisite_reminders, {"trigger": "interval", "minutes": 15}),
    (interventions.check_gates, {"trigger": "interval", "minutes": 5}),
    (hour_bank.alert_low_balances, {"trigger": "interval", "hours": 1}),
    (hour_bank.roll_over, {"trigger": "cron", "hour": 0, "minute": 5}),
    # planned tier changes: Company.tier follows its contract periods within 15 minutes of Paris midnight
    (companies.apply_due, {"trigger": "interval", "minutes": 15}),
    (callbacks.alert_at_risk, {"trigger": "interval", "minutes": 10}),
    (calendar_sync.refresh_all, {"trigger": "interval", "minutes": 30}),  # queues every URL calendar
    (calendar_sync.import_queued, {"trigger": "interval", "seconds": 10}),  # reads them, never in a web request
]
# Reshuffle plans are not a job here: the scheduler's own worker processes compute them (plan_workers.py).


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run(app, holder: str, function) -> int | None:
    """One job run, in an app context, if this process holds (or can take) the lease."""
    with app.app_context():
        now = utcnow()
        if not lease.acquire(holder, now):
            return None
        result = function(now)
        if result:
            log.info("%s: %s", function.__name__, result)
        return result


def run_all_once(app, holder: str | None = None) -> dict[str, int | None]:
    """Every job once (tests, `flask scheduler --once`); None for a job this process did not run."""
    holder = holder or holder_name()
    return {f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}": run(app, holder, fn) for fn, _ in JOBS}


def _configure(scheduler, app) -> None:
    holder = holder_name()
    for function, trigger in JOBS:
        scheduler.add_job(
            run,
            args=(app, holder, function),
            id=f"{function.__module__}.{function.__name__}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            **trigger,
        )


def start_in_process(app) -> BackgroundScheduler:
    """Run the jobs in a thread of this process, and its reshuffle workers (embedded setup, `make run`)."""
    if app.extensions.get("scheduler"):
        return app.extensions["scheduler"]
    scheduler = BackgroundScheduler(timezone="UTC")
    _configure(scheduler, app)
    scheduler.start()
    plan_workers.start(app)
    app.extensions["scheduler"] = scheduler
    return scheduler


def run_blocking(app) -> None:
    """Run the jobs in this process, and its reshuffle workers, until interrupted (`flask scheduler`, production)."""
    scheduler = BlockingScheduler(timezone="UTC")
    _configure(scheduler, app)
    workers = plan_workers.start(app)
    log.info("scheduler started with %d jobs and %d reshuffle workers", len(JOBS), workers.size if workers else 0)
    try:
        scheduler.start()
    finally:
        if workers:
            workers.stop()
