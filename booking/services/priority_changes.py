"""What moving or cancelling an applied priority consulting implies, said to the planner before they do it."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import format_currency
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..models import AuditEntry, Booking, Compensation, ReshufflePlan, User
from . import audit


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
    """One paragraph: the plan is not undone — moved bookings stay moved, compensations charged stay due;
    cancelling says what becomes of the consulting's own price."""
    plan = plan_of(booking)
    text = _consequences(plan, change)
    request = plan.request if change == "cancel" and plan else None
    if request is not None and request.consulting_eur:
        text += " " + _(
            "Le conseil lui-même (%(price)s HT) n'est plus facturé une fois tous ses jours annulés.",
            price=format_currency(request.consulting_eur, "EUR"),
        )
    return text


def _consequences(plan: ReshufflePlan | None, change: str) -> str:
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
            "Annuler ce conseil prioritaire ne défait pas le plan n°%(plan)s : les rendez-vous déplacés pour lui "
            "(%(moved)s) ne reviennent pas à leur place, et les compensations déjà facturées (%(charged)s) "
            "restent dues.",
            **values,
        )
    return _(
        "Déplacer ce conseil prioritaire ne défait pas le plan n°%(plan)s : les rendez-vous déplacés pour lui "
        "(%(moved)s) ne reviennent pas à leur place, et les compensations déjà facturées (%(charged)s) "
        "restent dues.",
        **values,
    )


def _placed_by(plan: ReshufflePlan, company_id: int) -> list[int]:
    """The priority consulting bookings that `plan` created (their audit rows name it)."""
    rows = db.session.execute(
        select(AuditEntry.object_id, AuditEntry.details).where(
            AuditEntry.action == "booking.priority",
            AuditEntry.object_type == "booking",
            AuditEntry.object_id.in_(
                select(Booking.id).where(Booking.company_id == company_id, Booking.kind == "priority_consulting")
            ),
        )
    )
    return [booking_id for booking_id, details in rows if (details or {}).get("plan") == plan.id]


def forgo_price(actor: User, booking: Booking, cancelled: tuple[str, ...]) -> None:
    """`booking` (a priority consulting) was just cancelled, in the transaction that holds its locks: once
    every day its plan placed is cancelled, the consulting itself is no longer billed (a planner cancelled
    it: the client never got it). Compensations for the bookings moved for it stay due."""
    plan = plan_of(booking)
    request = plan.request if plan else None
    if plan is None or request is None or not request.consulting_eur:
        return
    statuses = db.session.scalars(select(Booking.status).where(Booking.id.in_(_placed_by(plan, request.company_id))))
    if all(status in cancelled for status in statuses):
        audit.record(
            actor, "priority.consulting_not_billed", request, plan=plan.id, was_eur=str(request.consulting_eur)
        )
        request.consulting_eur = Decimal("0.00")
