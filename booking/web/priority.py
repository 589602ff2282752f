"""Priority consulting and reshuffle plans, the planner's side: accept a request or refuse it with a reason, follow
the plan's progress, read its diff, apply or recompute it (priority plans and absence repairs alike)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import role_required
from ..extensions import db
from ..models import PriorityRequest, ReshufflePlan
from ..models.bookings import REFUSAL_REASON_MAX
from ..models.types import utcnow
from ..services import plan_view, priority, quotes
from ..services.errors import Invalid, ServiceError
from .forms import refused
from .forms.priority import ApplyPlanForm, RefuseRequestForm
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
    if request.form.get("decision") != "accept":  # a refusal asks for its reason first (a page with the old button)
        return redirect(url_for("priority.refuse", request_id=request_id))
    try:
        priority.decide(current_user, found, True, utcnow())
    except ServiceError as error:
        flash_refusal(error)
    else:
        flash(_("Demande acceptée : le plan se calcule ; le client recevra le devis par courriel."), "success")
    return redirect(url_for("priority.request_page", request_id=request_id))


@bp.route("/planification/priorite/<int:request_id>/refus", methods=["GET", "POST"])
@role_required("planner", "admin")
def refuse(request_id: int):
    """What refusing does and the reason the client will read, then the refusal (no JavaScript needed)."""
    found = request_for(request_id)
    form, status = RefuseRequestForm(), 200
    if form.validate_on_submit():
        try:
            priority.refuse(current_user, found, form.reason.data, utcnow())
        except ServiceError as error:
            refused(form, error)
            status = error.status
        else:
            flash(
                _("Demande refusée : %(name)s recevra votre motif par courriel.", name=found.requester.name), "success"
            )
            return redirect(url_for("priority.request_page", request_id=request_id))
    elif form.is_submitted():
        status = 422
    if found.status != "requested" and not form.form_errors:  # decided by another planner: said, and no form
        try:
            priority.check_undecided(found)
        except ServiceError as error:
            refused(form, error)
            status = error.status if form.is_submitted() else 200
    page = render_template("priority/refuse.html", req=found, form=form, reason_max=REFUSAL_REASON_MAX)
    return page, status


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
