"""Planners change any booking from its page, priority consulting included: what the change implies is
shown first (the plan it undoes nothing of, the compensations that stay due, the client's minutes), then
yes or no. The confirmation carries the SEQUENCE seen, so a booking moved meanwhile is not changed blind."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField
from wtforms.validators import DataRequired, NumberRange
from wtforms.widgets import HiddenInput

from calendars.worktime import PARIS

from ..auth import role_required
from ..labels import minutes_label
from ..models.types import utcnow
from ..services import access, bookings, costs, priority_changes
from ..services.errors import ServiceError
from . import consent
from .forms import managed_day, paris_wall_time
from .refusals import flash_refusal

bp = Blueprint("staff_bookings", __name__, url_prefix="/planification/rendez-vous")


class CancelForm(FlaskForm):
    sequence = IntegerField(widget=HiddenInput(), validators=[NumberRange(0, 2**31 - 1)])


class MoveForm(FlaskForm):
    start = DateTimeLocalField(
        _l("Nouveau début (heure de Paris)"),
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(_l("Choisissez une date et une heure.")), managed_day, paris_wall_time],
    )
    sequence = IntegerField(widget=HiddenInput(), validators=[NumberRange(0, 2**31 - 1)])


def _implications(booking, change: str, start: datetime | None = None) -> list[str]:
    """What the change does beyond the booking itself, in the words the service uses."""
    if booking.kind == "priority_consulting":
        return [priority_changes.consequences(booking, change)]
    if change == "cancel":
        return consent.will_happen(costs.cancellation(current_user, booking, utcnow()), booking.status == "held")
    assert start is not None  # a move's step says where to
    cost = costs.recount(booking, start, start + (booking.end_at - booking.start_at))[1]
    if cost is None:  # it keeps what it holds
        return [_("Le client reçoit l'invitation mise à jour ; ses minutes ne changent pas.")]
    return [
        _(
            "Le client reçoit l'invitation mise à jour. Le nouveau jour relève d'une autre année de contrat ou d'une "
            "autre formule : le rendez-vous y est compté de nouveau, %(included)s de sa banque d'heures et "
            "%(billable)s facturables.",
            included=minutes_label(cost.included_minutes),
            billable=minutes_label(cost.billable_minutes),
        )
    ]


@bp.get("/<int:booking_id>")
@role_required("planner", "admin")
def detail(booking_id: int):
    booking = access.booking_for(current_user, booking_id)
    return render_template(
        "staff/booking.html",
        booking=booking,
        cancel=CancelForm(sequence=booking.sequence),
        move=MoveForm(sequence=booking.sequence, start=booking.start_at.astimezone(PARIS).replace(tzinfo=None)),
    )


@bp.route("/<int:booking_id>/annuler", methods=["GET", "POST"])
@role_required("planner", "admin")
def cancel(booking_id: int):
    booking = access.booking_for(current_user, booking_id)
    form = CancelForm(sequence=booking.sequence)
    if form.validate_on_submit():
        try:
            bookings.cancel(current_user, booking, utcnow(), acknowledged=True, seen=form.sequence.data)
        except ServiceError as error:
            flash_refusal(error)
        else:
            flash(_("Rendez-vous annulé ; le client et le consultant sont prévenus par e-mail."), "success")
        return redirect(url_for("staff_bookings.detail", booking_id=booking.id))
    return render_template(
        "staff/confirm.html", booking=booking, form=form, change="cancel", lines=_implications(booking, "cancel")
    )


@bp.route("/<int:booking_id>/deplacer", methods=["POST"])
@role_required("planner", "admin")
def move(booking_id: int):
    """First POST (from the booking's page): the confirmation step; the second (confirmed=1) moves."""
    booking = access.booking_for(current_user, booking_id)
    form = MoveForm()
    if not form.validate_on_submit():
        return render_template(
            "staff/booking.html", booking=booking, cancel=CancelForm(sequence=booking.sequence), move=form
        ), 422
    start = form.start.data.replace(tzinfo=PARIS)
    if request.form.get("confirmed") != "1":
        return render_template(
            "staff/confirm.html",
            booking=booking,
            form=form,
            change="move",
            start=start,
            lines=_implications(booking, "move", start),
        )
    try:
        bookings.reschedule(current_user, booking, start, utcnow(), acknowledged=True, seen=form.sequence.data)
    except ServiceError as error:
        flash_refusal(error)
        return render_template(
            "staff/booking.html", booking=booking, cancel=CancelForm(sequence=booking.sequence), move=form
        ), error.status
    flash(_("Rendez-vous déplacé ; le client et le consultant reçoivent l'invitation mise à jour."), "success")
    return redirect(url_for("staff_bookings.detail", booking_id=booking.id))
