"""Background jobs (APScheduler 3), defined in code; each takes no objects, only the clock."""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from .models.types import utcnow
from .services import holds

log = logging.getLogger(__name__)


def expire_holds() -> None:
    count = holds.expire(utcnow())
    if count:
        log.info("expired %d holds", count)


# (function, trigger arguments); every job is idempotent, so a late or repeated run does no harm.
JOBS = [
    (expire_holds, {"trigger": "interval", "minutes": 1}),
]


def _configure(scheduler, app) -> None:
    def in_app_context(function):
        def run():
            with app.app_context():
                function()

        run.__name__ = function.__name__
        return run

    for function, trigger in JOBS:
        scheduler.add_job(in_app_context(function), id=function.__name__, replace_existing=True,
                          coalesce=True, max_instances=1, **trigger)


def start_in_process(app) -> BackgroundScheduler:
    """Run the jobs in a thread of this process (embedded setup, `make run`)."""
    if app.extensions.get("scheduler"):
        return app.extensions["scheduler"]
    scheduler = BackgroundScheduler(timezone="UTC")
    _configure(scheduler, app)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    return scheduler


def run_blocking(app) -> None:
    """Run the jobs in this process until interrupted (`flask scheduler`, production)."""
    scheduler = BlockingScheduler(timezone="UTC")
    _configure(scheduler, app)
    log.info("scheduler started with %d jobs", len(JOBS))
    scheduler.start()
