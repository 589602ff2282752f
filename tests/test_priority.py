"""Priority consulting and absence repair, end to end: request, accept, plan queued and computed, quote,
apply in one transaction (or refuse a stale plan), compensations and mails. Plans are computed here by the
functions a scheduler's worker runs (tests/plans.py); test_plan_workers_pg.py runs the real workers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from flask import render_template_string
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from booking.extensions import db
from booking.models import AuditEntry, Booking, Compensation, OutboxMessage, PriorityRequest, ReshufflePlan
from booking.services import plan_queue, priority
from booking.services.errors import Conflict, Invalid, NotEntitled
from calendars.worktime import PARIS

from . import factories as f
from .plans import computed

NOW = datetime(2026, 11, 30, 8, tzinfo=UTC)  # Monday 09:00 in Paris


def wait(plan_id: int) -> ReshufflePlan:
    """The plan computed as a scheduler's worker computes it (tests/plans.py)."""
    return computed(plan_id)


@pytest.fixture
def world(app):
    app.config["RESHUFFLE_SECONDS"] = 2
    requester_company = f.company("serenite", contract_start=date(2026, 1, 1), name="Pressé SA")
    other = f.company("confort", name="Patient SARL")
    requester, patient = f.user("client", requester_company), f.user("client", other)
    expert = f.consultant(skills=("migration",))
    spare = f.consultant(skills=("comptabilite",))
    planner = f.user("planner")
    # the expert is booked every morning of the next three weeks, long in advance
    for day in range(1, 19):
        start = datetime(2026, 12, day, 9, tzinfo=PARIS)
        if start.weekday() < 5:
            f.booking(expert, start, company=other, contact=patient, booked_at=NOW - timedelta(days=30))
    db.session.commit()
    return {"requester": requester, "patient": patient, "expert": expert, "spare": spare, "planner": planner}


@pytest.mark.parametrize("tier, allowed", [("serenite", True), ("confort", True), ("standard", False)])
def test_who_may_request(app, tier, allowed):
    f.consultant(skills=("migration",))
    contact = f.user("client", f.company(tier))
    db.session.commit()
    if allowed:
        assert priority.request_consulting(contact, "migration", 1, "days", "urgent", NOW).status == "requested"
    else:
        with pytest.raises(NotEntitled, match="Standard n'inclut pas"):
            priority.request_consulting(contact, "migration", 1, "days", "urgent", NOW)


@pytest.mark.parametrize(
    "tier, locale, sentence",
    [
        ("standard", "fr", "La formule Standard n'inclut pas le conseil prioritaire."),
        ("standard", "en", "The Standard plan does not include priority consulting."),
        ("confort", "fr", None),
        ("serenite", "fr", None),
    ],
)
def test_the_request_page_says_up_front_when_the_tier_does_not_include_it(app, client, auth, tier, locale, sentence):
    f.consultant(skills=("migration",))
    contact = f.user("client", f.company(tier), locale=locale)
    db.session.commit()
    auth.login(contact.email)
    page = client.get("/portail/priorite").get_data(as_text=True)
    assert ('id="amount"' in page) == (sentence is None)  # the form, only for a tier that includes it
    if sentence is None:
        assert 'data-testid="not-included"' not in page
        return
    with force_locale(locale):
        assert sentence == priority.refusal(contact.company)  # the service's sentence, said before any form
    note = page[page.index('data-testid="not-included"') : page.index("</p>", page.index('data-testid="not-included"'))]
    assert sentence.replace("'", "&#39;") in note
    posted = client.post("/portail/priorite", data={"skill": "migration", "amount": "1", "unit": "days"})
    text = posted.get_data(as_text=True)
    assert posted.status_code == 403 and 'data-testid="not-included"' in text and 'role="alert"' in text
    assert 'class="error"' not in text and 'id="amount"' not in text  # page-level, not under the Duration field
    assert db.session.scalar(select(func.count()).select_from(PriorityRequest)) == 0


@pytest.mark.parametrize(
    "locale, shown",
    [
        ("fr", ["Achats", "Comptabilité", "Migration", "Paie"]),
        ("en", ["Accounting", "Migration", "Payroll", "Purchasing"]),
    ],
)
def test_the_request_form_offers_known_skills_by_label_in_the_readers_language(app, client, auth, locale, shown):
    f.consultant(skills=("paie", "accounting", "purchasing"))  # two words typed before skills were a choice
    f.consultant(skills=("migration", "comptabilite", "achats"))
    contact = f.user("client", f.company("serenite"), locale=locale)
    db.session.commit()
    auth.login(contact.email)
    page = client.get("/portail/priorite").get_data(as_text=True)
    select_ = page[page.index('<select id="skill"') : page.index("</select>", page.index('<select id="skill"'))]
    assert re.findall(r"<option[^>]*>([^<]+)</option>", select_) == shown
    assert "accounting" not in select_ and "purchasing" not in select_
    with pytest.raises(Invalid) as refused:
        priority.request_consulting(contact, "accounting", 1, "days", "urgent", NOW)
    assert refused.value.code == "unknown_skill"


def test_request_plan_quote_apply(world):
    with time_machine.travel(NOW, tick=True):
        request = priority.request_consulting(world["requester"], "migration", 1, "days", "Migration paie", NOW)
        plan = priority.decide(world["planner"], request, True, NOW)
        plan = wait(plan.id)
    assert plan.status == "ready", plan.error
    request = db.session.get(PriorityRequest, request.id)
    assert request.status == "planned" and request.quote_eur == plan.plan["objective"]["compensation_eur"] > 0
    assert plan.progress["value"] == plan.plan["objective"]["value"]
    moved_ids = [int(m["id"][1:]) for m in plan.plan["moves"]]
    before_mail = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    priority.accept_quote(world["requester"], request, NOW)
    db.session.expire_all()
    assert db.session.get(PriorityRequest, request.id).status == "applied"
    new = db.session.scalars(select(Booking).where(Booking.kind == "priority_consulting")).all()
    assert len(new) == 1 and new[0].company_id == request.company_id and new[0].consultant_id == world["expert"].id
    moved = [db.session.get(Booking, i) for i in moved_ids]
    assert moved and all(b.sequence == 1 and b.status == "confirmed" for b in moved)
    assert all(
        not (b.consultant_id == new[0].consultant_id and b.start_at < new[0].end_at and new[0].start_at < b.end_at)
        for b in moved
    )
    paid = db.session.scalar(select(func.sum(Compensation.amount_eur)))
    assert float(paid) == pytest.approx(request.quote_eur)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) > before_mail
    with pytest.raises(Conflict):
        priority.apply(world["planner"], db.session.get(ReshufflePlan, plan.id), NOW)


def test_a_plan_made_stale_by_a_change_is_refused_and_replanned(world):
    with time_machine.travel(NOW, tick=True):
        request = priority.request_consulting(world["requester"], "migration", 1, "days", "x", NOW)
        plan = wait(priority.decide(world["planner"], request, True, NOW).id)
        assert plan.status == "ready"
        moved = db.session.get(Booking, int(plan.plan["moves"][0]["id"][1:]))
        moved.notes, moved.sequence = "changed by the client", moved.sequence + 1
        db.session.commit()
        with pytest.raises(Conflict, match="a changé"):
            priority.accept_quote(world["requester"], request, NOW, plan.id)
        assert db.session.get(ReshufflePlan, plan.id).status == "stale"
        # nothing was accepted: the acceptance is recorded in the apply's own transaction, or not at all
        assert db.session.get(PriorityRequest, request.id).client_accepted_at is None
        assert not db.session.scalars(select(AuditEntry).where(AuditEntry.action == "priority.quote_accepted")).all()
        assert (
            db.session.scalar(select(func.count()).select_from(Booking).where(Booking.kind == "priority_consulting"))
            == 0
        )
        fresh = db.session.scalars(select(ReshufflePlan).order_by(ReshufflePlan.id.desc())).first()
        assert fresh.id != plan.id and wait(fresh.id).status == "ready"


def test_an_absence_over_booked_time_is_repaired(world):
    with time_machine.travel(NOW, tick=True):
        start, end = datetime(2026, 12, 9, 0, tzinfo=PARIS), datetime(2026, 12, 10, 0, tzinfo=PARIS)
        plan = priority.mark_absent(world["planner"], world["expert"], start, end, "Malade", NOW)
        plan = wait(plan.id)
        assert plan.status == "ready" and plan.kind == "repair" and plan.plan["moves"]
        priority.apply(world["planner"], plan, NOW)
    hit = db.session.scalars(
        select(Booking).where(
            Booking.consultant_id == world["expert"].id, Booking.start_at >= start, Booking.start_at < end
        )
    ).all()
    assert hit == []


def test_planner_pages_show_progress_and_diff(world, client, auth):
    with time_machine.travel(NOW, tick=True):
        request = priority.request_consulting(world["requester"], "migration", 1, "days", "x", NOW)
        assert wait(priority.decide(world["planner"], request, True, NOW).id).status == "ready"
        auth.login(world["planner"].email)
        page = client.get(f"/planification/priorite/{request.id}").get_data(as_text=True)
        assert "Rendez-vous déplacés" in page and "Patient SARL" in page and "Appliquer le plan" in page
        # the heading says how good the plan is in words, not the solver's status and figures
        heading = re.search(r'data-testid="plan-heading">(.*?)</h2>', page).group(1)
        assert re.fullmatch(
            r"Plan proposé <small>\(le meilleur (possible|trouvé dans le temps imparti)\)</small>", heading
        )
        assert not re.search(r"OPTIMAL|FEASIBLE|valeur|borne", page)
        # the moved bookings stack on a phone, each cell named by its column
        moved = page[
            page.index("<h2>Rendez-vous déplacés</h2>") : page.index("</table>", page.index("<h2>Rendez-vous déplacés"))
        ]
        assert '<table class="stack">' in moved
        cells = re.findall(r"<td([^>]*)>", moved)
        assert cells and all("data-label=" in c for c in cells)
        assert {'data-label="Après"', 'data-label="Compensation"'} <= {c.strip() for c in cells}
        # each bar of the before/after timelines is named by its service and times, not by a tooltip alone
        assert re.search(r'role="img" aria-label="Session ERP-Lib \(45 min\), \d\d:\d\d–\d\d:\d\d"', page)
        week = client.get("/planification/semaine?semaine=2026-12-07").get_data(as_text=True)
        assert 'class="block kind-erplib"' in week


@pytest.mark.parametrize(
    "locale, duration, unit, plan_line, headings",
    [
        (
            "fr",
            "2 heures",
            "heures",
            "Conseil prioritaire :</strong> ",
            {
                "OPTIMAL": "Plan proposé <small>(le meilleur possible)</small>",
                "FEASIBLE": "Plan proposé <small>(le meilleur trouvé dans le temps imparti)</small>",
            },
        ),
        (
            "en",
            "2 hours",
            "hours",
            "Priority consulting:</strong> ",
            {
                "OPTIMAL": "Proposed plan <small>(the best possible)</small>",
                "FEASIBLE": "Proposed plan <small>(the best found in the time allowed)</small>",
            },
        ),
    ],
)
def test_durations_read_as_words_and_colons_follow_the_language(
    world, client, auth, locale, duration, unit, plan_line, headings
):
    world["requester"].locale = world["planner"].locale = locale
    db.session.commit()
    with time_machine.travel(NOW, tick=True):
        request = priority.request_consulting(world["requester"], "migration", 2, "hours", "x", NOW)
        assert wait(priority.decide(world["planner"], request, True, NOW).id).status == "ready"
        auth.login(world["requester"].email)
        mine = client.get("/portail/priorite").get_data(as_text=True)
        auth.logout()
        auth.login(world["planner"].email)
        planner = client.get(f"/planification/priorite/{request.id}").get_data(as_text=True)
    assert f"{duration}, " in mine and f'<option value="hours">{unit}</option>' in mine
    assert f"<dd>{duration}</dd>" in planner and plan_line in planner
    heading = re.search(r'data-testid="plan-heading">(.*?)</h2>', planner).group(1)
    assert heading in (headings["OPTIMAL"], headings["FEASIBLE"])
    assert "(s)" not in mine + planner and "</strong> :" not in planner


def test_a_plan_left_running_by_a_dead_web_process_is_queued_again_and_computed(world):
    """Before the queue, plans were computed in a web worker's thread: one still `running` when that worker
    died has no heartbeat; the scheduler reclaims it from its creation time, and computes it again."""
    with time_machine.travel(NOW, tick=True):
        request = priority.request_consulting(world["requester"], "migration", 1, "days", "Migration paie", NOW)
        request.status = "accepted"
        abandoned = ReshufflePlan(
            kind="priority", status="running", request=request, attempts=1, created_at=NOW - timedelta(hours=1)
        )
        fresh = ReshufflePlan(kind="priority", status="running", request=request, attempts=1, created_at=NOW)
        db.session.add_all([abandoned, fresh])
        db.session.commit()
        assert plan_queue.reclaim(NOW) == 1
        assert plan_queue.reclaim(NOW) == 0  # queued again: never handed out twice
        assert wait(abandoned.id).status == "ready"
    db.session.expire_all()
    assert db.session.get(ReshufflePlan, abandoned.id).attempts == 2
    assert db.session.get(ReshufflePlan, fresh.id).status == "running"  # still within its time: left alone


def test_a_twin_apply_that_read_the_plan_ready_is_refused_under_the_locks(world):
    """Two planners apply the same plan at once: the second read it ready before the first committed, so only the
    re-read under the locks can stop it (its check before the locks passes). It is refused and changes nothing."""
    with time_machine.travel(NOW, tick=True):
        request = priority.request_consulting(world["requester"], "migration", 1, "days", "x", NOW)
        plan = wait(priority.decide(world["planner"], request, True, NOW).id)
        assert plan.status == "ready", plan.error
        priority.apply_as_planner(world["planner"], plan, NOW, "Accord par téléphone")

        def counts() -> tuple[int, ...]:
            return tuple(
                db.session.scalar(select(func.count()).select_from(model))
                for model in (Booking, Compensation, OutboxMessage, AuditEntry)
            )

        before = counts()
        twin = db.session.get(ReshufflePlan, plan.id)
        assert twin.status == "applied"
        set_committed_value(twin, "status", "ready")  # as the twin request read it, before the first commit
        with pytest.raises(Conflict, match="^Ce plan vient d'être appliqué ou remplacé") as refused:
            priority.apply(world["planner"], twin, NOW)
        assert refused.value.code == "plan_not_ready"
        db.session.expire_all()
        assert counts() == before and db.session.get(ReshufflePlan, plan.id).status == "applied"
        assert db.session.scalar(select(func.count()).where(Booking.kind == "priority_consulting")) == 1


@pytest.mark.parametrize(
    "status, locale, heading",
    [
        ("OPTIMAL", "fr", "Plan proposé <small>(le meilleur possible)</small>"),
        ("FEASIBLE", "fr", "Plan proposé <small>(le meilleur trouvé dans le temps imparti)</small>"),
        ("OPTIMAL", "en", "Proposed plan <small>(the best possible)</small>"),
        ("FEASIBLE", "en", "Proposed plan <small>(the best found in the time allowed)</small>"),
    ],
)
def test_the_plans_heading_says_how_good_it_is_in_words(app, status, locale, heading):
    """The two statuses a plan shown can have (plan_compute fails the others), without the solver's figures."""
    plan = SimpleNamespace(id=1, status="applied", request=None)
    objective = {"value": 714, "best_bound": 714, "compensation_eur": 0}
    diff = SimpleNamespace(status=status, objective=objective, placements=[], moves=[], per_client=[], timelines=[])
    with app.test_request_context(), force_locale(locale):
        page = render_template_string(
            '{% from "priority/_plan.html" import show_plan %}{{ show_plan(plan, diff, None) }}', plan=plan, diff=diff
        )
    assert re.search(r'data-testid="plan-heading">(.*?)</h2>', page).group(1) == heading
    assert "714" not in page and status not in page
