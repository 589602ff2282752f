"""The reshuffle queue: the web only writes a plan `queued`; claims skip the rows another scheduler is taking;
the plan's status as JSON for its page, in French and English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import time_machine

from booking.extensions import db
from booking.models import ReshufflePlan
from booking.services import plan_queue, priority

from . import factories as f

NOW = datetime(2026, 11, 30, 8, tzinfo=UTC)  # Monday 09:00 in Paris


def _repairs(count: int) -> list[int]:
    consultant = f.consultant()
    db.session.commit()
    return [priority.start_repair(None, consultant, NOW).id for _ in range(count)]


def test_starting_a_plan_only_queues_it(any_app):
    (plan_id,) = _repairs(1)
    f.reread()
    plan = db.session.get(ReshufflePlan, plan_id)
    assert (plan.status, plan.attempts, plan.worker, plan.instance, plan.progress) == ("queued", 0, "", {}, {})
    assert plan_queue.claim("host:7", NOW) == (plan_id, 1)
    assert plan_queue.claim("host:8", NOW) is None  # claimed once
    f.reread()
    plan = db.session.get(ReshufflePlan, plan_id)
    assert (plan.status, plan.worker, plan.started_at, plan.heartbeat_at) == ("running", "host:7", NOW, NOW)


def test_a_claim_skips_the_plan_another_scheduler_is_taking(pg_app):
    first, second = _repairs(2)
    with psycopg.connect(db.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")) as other:
        other.execute("SELECT id FROM reshuffle_plans WHERE id = %s FOR UPDATE", (first,))
        assert plan_queue.claim("host:2", NOW) == (second, 1)  # at once: no wait on the locked row
        assert plan_queue.claim("host:2", NOW) is None
        other.rollback()
    assert plan_queue.claim("host:1", NOW) == (first, 1)


def test_the_status_follows_the_plan_in_json(app, client, auth):
    app.config["RESHUFFLE_SECONDS"] = 4
    first, second = _repairs(2)
    planner = f.user("planner")
    db.session.commit()
    with time_machine.travel(NOW + timedelta(seconds=75), tick=False):
        auth.login(planner.email)
        queued = client.get(f"/planification/plans/{second}/etat").get_json()
        assert (queued["status"], queued["ahead"], queued["waited"], queued["done"]) == ("queued", 1, 75.0, False)
        assert queued["label"] == "En attente d'un calculateur"
        assert queued["text"] == (
            "1 plan à calculer avant celui-ci · en attente depuis 75,0 s · aucun calculateur ne "
            "l'a encore pris : vérifiez que le planificateur de tâches tourne."
        )
        plan_queue.claim("host:1", NOW + timedelta(seconds=73))
        plan_queue.beat(
            first,
            1,
            NOW + timedelta(seconds=75),
            progress={"elapsed": 1.5, "limit": 4, "value": 1234.0, "bound": 1200.0},
        )
        running = client.get(f"/planification/plans/{first}/etat").get_json()
        assert (running["status"], running["elapsed"], running["limit"], running["value"]) == (
            "running",
            2.0,
            4,
            1234.0,
        )
        assert running["text"] == "2,0 s écoulées sur 4,0 · meilleur plan : 1\u202f234 · borne : 1\u202f200"
        page = client.get(f"/planification/plans/{first}").get_data(as_text=True)
        assert f'data-plan-status="/planification/plans/{first}/etat"' in page and "plan_progress.js" in page
        assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page  # without scripts
        client.post("/langue/en")
        english = client.get(f"/planification/plans/{first}/etat").get_json()
        assert (english["label"], english["text"]) == (
            "Optimising…",
            "2.0 s elapsed of 4.0 · best plan: 1,234 · bound: 1,200",
        )
        missing = client.get("/planification/plans/999/etat")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.get_json()["code"] == "plan_not_found"
