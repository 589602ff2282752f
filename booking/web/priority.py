"""Priority consulting and reshuffle plans, the planner's side: decide on a request, follow the plan's
progress, read its diff, apply or recompute it (priority plans and absence repairs alike)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import role_required
from ..extensions import db
from ..models import PriorityRequest, ReshufflePlan
from ..models.types import utcnow
from ..services import plan_view, priority, quotes
from ..services.errors import Invalid, ServiceError
from .forms.priority import ApplyPlanForm
from .money import eur
from .refusals import flash_refusal

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
    return render_template(
        "priority/request.html",
        req=found,
        plan=plan,
        diff=plan_view.describe(plan) if plan else None,
        quote=quotes.build(found, plan),
        now=utcnow(),
        apply_form=ApplyPlanForm(),
    )


@bp.post("/planification/priorite/<int:request_id>/decision")
@role_required("planner", "admin")
def decide(request_id: int):
    found = request_for(request_id)
    try:
        priority.decide(current_user, found, request.form.get("decision") == "accept", utcnow())
    except ServiceError as error:
        flash_refusal(error)
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
        flash(
            _("Plan appliqué : les clients et consultants concernés ont reçu leur invitation mise à jour."), "success"
        )
    except ServiceError as error:
        flash_refusal(error)
    return redirect(_plan_home(plan))


@bp.post("/planification/plans/<int:plan_id>/recalculer")
@role_required("planner", "admin")
def recompute(plan_id: int):
    plan = db.session.get(ReshufflePlan, plan_id) or abort(404)
    try:
        plan = priority.recompute(current_user, plan, utcnow())
    except ServiceError as error:
        flash_refusal(error)
    return redirect(_plan_home(plan))


@bp.route("/planification/plans/<int:plan_id>")
@role_required("planner", "admin")
def plan_page(plan_id: int):
    plan = db.session.get(ReshufflePlan, plan_id) or abort(404)
    return render_template("priority/repair.html", plan=plan, diff=plan_view.describe(plan), apply_form=ApplyPlanForm())


def _plan_home(plan: ReshufflePlan) -> str:
    if plan.request_id:
        return url_for("priority.request_page", request_id=plan.request_id)
    return url_for("priority.plan_page", plan_id=plan.id)
