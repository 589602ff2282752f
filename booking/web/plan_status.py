"""A reshuffle plan's progress for its page: the fragment's words, and a small JSON status that the page's
script polls (queued, running with its elapsed time and best value so far, then done or failed)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _

from ..api.problems import problem
from ..auth import role_required
from ..extensions import db
from ..models import ReshufflePlan
from ..models.types import utcnow
from ..services import plan_queue, plan_view

bp = Blueprint("plan_status", __name__)
WAITING_LONG_SECONDS = 60  # queued longer than this: no worker is taking plans, which the planner should know


def _number(value: float) -> str:
    return format_decimal(value, "#,##0")  # 12 345 on French pages, 12,345 on English ones


def _seconds(value: float) -> str:
    return format_decimal(value, "0.0")


def _label(status: str) -> str:
    return {
        "queued": _("En attente d'un calculateur"),
        "running": _("Optimisation en cours…"),
        "ready": _("Plan calculé"),
        "failed": _("Calcul en échec"),
    }.get(status, _("Calcul terminé"))


def _text(found: dict) -> str:
    """One sentence of where the plan stands, in the reader's language and number format."""
    if found["status"] == "queued":
        parts = [
            ngettext(
                "%(num)d plan à calculer avant celui-ci", "%(num)d plans à calculer avant celui-ci", found["ahead"]
            )
            if found["ahead"]
            else _("Il sera calculé dès qu'un calculateur est libre"),
            _("en attente depuis %(s)s s", s=_seconds(found["waited"])),
        ]
        if found["waited"] > WAITING_LONG_SECONDS:
            parts.append(_("aucun calculateur ne l'a encore pris : vérifiez que le planificateur de tâches tourne"))
        return " · ".join(parts) + "."
    if found["status"] == "running":
        parts = [_("%(s)s s écoulées sur %(limit)s", s=_seconds(found["elapsed"]), limit=_seconds(found["limit"]))]
        if found["value"] is not None:
            parts.append(_("meilleur plan : %(v)s", v=_number(found["value"])))
            parts.append(_("borne : %(b)s", b=_number(found["bound"] or 0)))
        if found["attempts"] > 1:
            parts.append(_("repris après l'interruption du calcul précédent"))
        return " · ".join(parts)
    return plan_view.why_failed(found["error"]) or _("Calcul terminé : rechargez la page pour voir le plan.")


def plan_state(plan: ReshufflePlan) -> dict:
    """The figures of `plan_queue.state`, with the status's label and the sentence the page shows."""
    found = plan_queue.state(plan, utcnow())
    return {**found, "label": _label(found["status"]), "text": _text(found)}


bp.add_app_template_global(plan_state, "plan_state")
bp.add_app_template_global(plan_view.why_failed, "plan_error")


@bp.route("/planification/plans/<int:plan_id>/etat")
@role_required("planner", "admin")
def status(plan_id: int):
    plan = db.session.get(ReshufflePlan, plan_id)
    if plan is None:
        return problem(404, _("Ce plan n'existe pas."), code="plan_not_found")
    response = jsonify(plan_state(plan))
    response.headers["Cache-Control"] = "no-store"
    return response
