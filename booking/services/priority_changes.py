"""What moving or cancelling an applied priority consulting implies, said to the planner before they do it."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import format_currency
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..models import AuditEntry, Booking, Compensation, ReshufflePlan


def plan_of(booking: Booking) -> ReshufflePlan | None:
    """The applied plan that placed this priority consulting (its audit row names it)."""
    details = db.session.scalar(
        select(AuditEntry.details)
        .where(
            AuditEntry.action == "booking.priority",
            AuditEntry.object_type == "booking",
            AuditEntry.object_id == booking.id,
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    plan_id = (details or {}).get("plan")
    return db.session.get(ReshufflePlan, plan_id) if plan_id else None


def consequences(booking: Booking, change: str) -> str:
    """One paragraph: the plan is not undone — moved bookings stay moved, compensations charged stay due."""
    plan = plan_of(booking)
    moved = len((plan.plan or {}).get("moves", [])) if plan else 0
    if not moved:
        return (
            _("Annuler ce conseil prioritaire ne touche aucun autre rendez-vous.")
            if change == "cancel"
            else _("Déplacer ce conseil prioritaire ne touche aucun autre rendez-vous.")
        )
    assert plan is not None  # moves come from a plan
    charged = db.session.scalar(
        select(func.coalesce(func.sum(Compensation.amount_eur), 0)).where(Compensation.plan_id == plan.id)
    ) or Decimal(0)
    values = {"plan": plan.id, "moved": moved, "charged": format_currency(Decimal(charged), "EUR")}
    if change == "cancel":
        return _(
            "Annuler ce conseil prioritaire ne défait pas le plan n°%(plan)s : les %(moved)s rendez-vous d'autres "
            "clients déplacés pour lui ne reviennent pas à leur place, et les compensations déjà facturées "
            "(%(charged)s) restent dues.",
            **values,
        )
    return _(
        "Déplacer ce conseil prioritaire ne défait pas le plan n°%(plan)s : les %(moved)s rendez-vous d'autres "
        "clients déplacés pour lui ne reviennent pas à leur place, et les compensations déjà facturées "
        "(%(charged)s) restent dues.",
        **values,
    )
