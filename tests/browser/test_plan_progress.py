"""A plan's page follows its computation by the scheduler's workers in place (queued, running with its
elapsed time and best value so far), then shows the plan: at desktop and at phone width."""

import re
import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from booking.extensions import db
from booking.models import Company, Consultant, ReshufflePlan, User
from booking.services import priority

from .conftest import write_lock_first
from .test_login import SHOTS, login

PLANNER = "planification@erplib.example"


def _queued_plan(app) -> int:
    """A Sérénité client's request, accepted: its plan is queued for the workers; the request's id."""
    with app.app_context():
        company = db.session.scalar(select(Company).where(Company.name == "Laboratoires Bernard"))
        planner = db.session.scalar(select(User).where(User.email == PLANNER))
        now = datetime.now(UTC)
        request = priority.request_consulting(company.contacts[0], "migration", 1, "days", "Suivi du calcul", now)
        priority.decide(planner, request, True, now)
        db.session.remove()
        return request.id


@contextmanager
def _workers_held(app):
    """The live database's write lock held (SQLite): the workers cannot claim the plan meanwhile, so that the
    page shows it queued for a few seconds, whatever the machine's speed."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_the_plan_page_follows_the_computation_in_place_then_shows_the_plan(page, live_app, width):
    app, live_server = live_app
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, PLANNER)
    request_id = _queued_plan(app)
    with _workers_held(app):
        page.goto(f"{live_server}/planification/priorite/{request_id}")
        expect(page.get_by_test_id("plan-state")).to_have_text("En attente d'un calculateur")
        progress = page.get_by_test_id("progress")
        page.evaluate("window.stayed = true")  # gone if the page reloads
        first = progress.text_content()
        expect(progress).not_to_have_text(first, timeout=15_000)  # the script's update, not a reload
        assert page.evaluate("window.stayed === true")
        assert re.search(r"en attente depuis \d+,\d s", progress.text_content())
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SHOTS / f"plan-queued-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than the screen
    expect(page.get_by_role("heading", name="Plan proposé")).to_be_visible(timeout=60_000)
    assert page.evaluate("window.stayed === undefined")  # reloaded once done, to show the plan
    page.screenshot(path=SHOTS / f"plan-computed-{width}.png", full_page=True)


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_a_running_plan_shows_its_elapsed_time_and_best_value_so_far(page, live_app, width):
    """As a worker leaves the row mid-run (a second attempt, after an interruption)."""
    app, live_server = live_app
    with app.app_context():
        write_lock_first()
        consultant = db.session.scalar(select(Consultant).order_by(Consultant.id))
        now = datetime.now(UTC)
        plan = ReshufflePlan(
            kind="repair",
            status="running",
            consultant_id=consultant.id,
            created_at=now,
            started_at=now - timedelta(seconds=1),
            heartbeat_at=now,
            worker="ailleurs:1",
            attempts=2,
            progress={"elapsed": 0.8, "limit": 3, "value": 12345, "bound": 12000},
        )
        db.session.add(plan)
        db.session.commit()
        plan_id = plan.id
    try:
        page.set_viewport_size({"width": width, "height": 900})
        login(page, live_server, PLANNER)
        page.goto(f"{live_server}/planification/plans/{plan_id}")
        expect(page.get_by_test_id("plan-state")).to_have_text("Optimisation en cours…")
        progress = page.get_by_test_id("progress")
        expect(progress).to_have_text(
            re.compile(
                r"\d,\d s écoulées sur 3,0 · meilleur plan : 12\s345 · "
                r"borne : 12\s000 · repris après l'interruption du calcul précédent"
            )
        )
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SHOTS / f"plan-running-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        with app.app_context():  # no worker computes it: end it, so that none reclaims it later
            db.session.execute(
                update(ReshufflePlan).where(ReshufflePlan.id == plan_id).values(status="failed", error="test")
            )
            db.session.commit()
