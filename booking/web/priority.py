"""Priority consulting and reshuffle plans, the planner's side: decide on a request, follow the plan's
progress, read its diff, apply or recompute it (priority plans and absence repairs alike)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from calendars.worktime import PARIS
from ..auth import role_required
from ..extensions import db
from ..models import Booking, Consultant, PriorityRequest, ReshufflePlan
from ..models.types import utcnow
from ..services import priority, quotes, solver_ids
from ..services.errors import Invalid, ServiceError
from .forms.priority import ApplyPlanForm
from .money import eur

bp = Blueprint("priority", __name__)
bp.add_app_template_global(eur, "eur")  # amounts in the reader's format on every page (quotes, billing)


def request_for(request_id: int) -> PriorityRequest:
    found = db.session.get(PriorityRequest, request_id)
    if found is None or (current_user.role == "client" and found.company_id != current_user.company_id):
        abort(404)
    return found


@bp.route("/planification/priorite/<int:request_id>")
@role_required("planner", "admin")
def request_page(request_id: int):
    found = request_for(request_id)
    plan = priority.latest(found)
    return render_template("priority/request.html", req=found, plan=plan, diff=_diff(plan) if plan else None,
                           quote=quotes.build(found, plan), now=utcnow(), apply_form=ApplyPlanForm())


@bp.post("/planification/priorite/<int:request_id>/decision")
@role_required("planner", "admin")
def decide(request_id: int):
    found = request_for(request_id)
    try:
        priority.decide(current_user, found, request.form.get("decision") == "accept", utcnow())
    except ServiceError as error:
        flash(error.message, "error")
    return redirect(url_for("priority.request_page", request_id=request_id))


@bp.post("/planification/plans/<int:plan_id>/appliquer")
@role_required("planner", "admin")
def apply(plan_id: int):
    plan = db.session.get(ReshufflePlan, plan_id) or abort(404)
    form = ApplyPlanForm()
    try:
        if not form.validate_on_submit():
            raise Invalid(_("Formulaire invalide : rechargez la page et recommencez."))
        priority.apply_as_planner(current_user, plan, utcnow(), form.agreement.data or "")
        flash(_("Plan appliqué : les clients et consultants concernés ont reçu leur invitation mise à jour."), "success")
    except ServiceError as error:
        flash(error.message, "error")
    return redirect(_plan_home(plan))


@bp.post("/planification/plans/<int:plan_id>/recalculer")
@role_required("planner", "admin")
def recompute(plan_id: int):
    plan = db.session.get(ReshufflePlan, plan_id) or abort(404)
    fresh = priority.start(current_user, plan.kind, utcnow(), request=plan.request,
                           consultant=db.session.get(Consultant, plan.consultant_id) if plan.consultant_id else None)
    return redirect(_plan_home(fresh))


@bp.route("/planification/plans/<int:plan_id>")
@role_required("planner", "admin")
def plan_page(plan_id: int):
    plan = db.session.get(ReshufflePlan, plan_id) or abort(404)
    return render_template("priority/repair.html", plan=plan, diff=_diff(plan), apply_form=ApplyPlanForm())


def _plan_home(plan: ReshufflePlan) -> str:
    if plan.request_id:
        return url_for("priority.request_page", request_id=plan.request_id)
    return url_for("priority.plan_page", plan_id=plan.id)


def _diff(plan: ReshufflePlan) -> dict | None:
    """What the plan changes: moved bookings with their compensation, per client, and per-consultant timelines."""
    if not plan.plan:
        return None
    moves = plan.plan.get("moves", [])
    rows, per_client = [], defaultdict(float)
    bookings = {m["id"]: db.session.get(Booking, solver_ids.booking_id(m["id"])) for m in moves}
    names = {c.id: c.name for c in db.session.scalars(select(Consultant))}
    for move in moves:
        booking = bookings[move["id"]]
        rows.append({"booking": booking, "from_consultant": names.get(solver_ids.consultant_id(move["from"]["consultant"])),
                     "from": datetime.fromisoformat(move["from"]["start"]),
                     "to_consultant": names.get(solver_ids.consultant_id(move["to"]["consultant"])),
                     "to": datetime.fromisoformat(move["to"]["start"]), "eur": move["compensation_eur"]})
        per_client[booking.company.name] += move["compensation_eur"]
    return {"rows": rows, "per_client": sorted(per_client.items()), "objective": plan.plan.get("objective", {}),
            "status": plan.plan.get("status"), "reason": plan.plan.get("reason", ""),
            "placements": [{"consultant": names.get(solver_ids.consultant_id(p["consultant"])), "start": datetime.fromisoformat(p["start"]),
                            "end": datetime.fromisoformat(p["end"])} for p in plan.plan.get("placements", [])],
            "timelines": _timelines(plan, moves, names)}


def _timelines(plan: ReshufflePlan, moves: list[dict], names: dict) -> list[dict]:
    """Before/after bars for each consultant and day the plan touches (percent of 09:00–18:00)."""
    def bar(start: datetime, end: datetime) -> tuple[float, float]:
        local_start, local_end = start.astimezone(PARIS), end.astimezone(PARIS)
        a = max(0.0, (local_start.hour * 60 + local_start.minute - 540) / 540 * 100)
        b = min(100.0, (local_end.hour * 60 + local_end.minute - 540) / 540 * 100) if local_end.date() == local_start.date() else 100.0
        return round(a, 1), round(max(b - a, 0.8), 1)

    before, after, touched = defaultdict(list), defaultdict(list), set()
    moved = {m["id"]: m for m in moves}
    for b in plan.instance.get("bookings", []):
        start = datetime.fromisoformat(b["start"])
        end = start + timedelta(minutes=b["duration_minutes"]) if b["span"] == "block" else start.replace(hour=17)
        before[(b["consultant"], start.astimezone(PARIS).date())].append((b["kind"], *bar(start, end)))
        if b["id"] in moved:
            to = moved[b["id"]]["to"]
            new_start, new_end = datetime.fromisoformat(to["start"]), datetime.fromisoformat(to["end"])
            after[(to["consultant"], new_start.astimezone(PARIS).date())].append((b["kind"], *bar(new_start, new_end)))
            touched |= {(b["consultant"], start.astimezone(PARIS).date()), (to["consultant"], new_start.astimezone(PARIS).date())}
        else:
            after[(b["consultant"], start.astimezone(PARIS).date())].append((b["kind"], *bar(start, end)))
    for p in plan.plan.get("placements", []):
        start, end = datetime.fromisoformat(p["start"]), datetime.fromisoformat(p["end"])
        day = start.astimezone(PARIS).date()
        while day <= end.astimezone(PARIS).date():
            after[(p["consultant"], day)].append(("priority_consulting", 0.0, 100.0))
            touched.add((p["consultant"], day))
            day += timedelta(days=1)
    return [{"consultant": names.get(solver_ids.consultant_id(c), c), "day": d, "before": before[(c, d)], "after": after[(c, d)]}
            for c, d in sorted(touched, key=lambda k: (k[1], k[0]))][:40]
