"""Consultant pages: own schedule, session outcomes, follow-up proposals."""

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import inputs
from ..auth import role_required
from ..extensions import db
from ..models import Booking
from ..models.types import utcnow
from ..services import access, availability, bookings, schedule
from ..services.errors import ServiceError
from .forms.booking import OutcomeForm, SlotForm, first_error
from .refusals import flash_refusal

bp = Blueprint("consultant", __name__, url_prefix="/consultant")


def _me():
    return current_user.consultant or abort(403)


@bp.route("/")
@role_required("consultant")
def home():
    consultant, now = _me(), utcnow()
    to_record = db.session.scalars(
        select(Booking)
        .where(
            Booking.consultant_id == consultant.id,
            Booking.status == "confirmed",
            Booking.start_at <= now,
            Booking.start_at > now - timedelta(days=14),
        )
        .order_by(Booking.start_at)
    ).all()
    return render_template(
        "consultant/home.html",
        consultant=consultant,
        to_record=to_record,
        bookings=schedule.upcoming(now, consultant_id=consultant.id, days=14),
    )


@bp.post("/rendez-vous/<int:booking_id>/issue")
@role_required("consultant")
def outcome(booking_id: int):
    booking = access.booking_for(current_user, booking_id)
    form = OutcomeForm()
    try:
        if not form.validate_on_submit():
            raise inputs.BadInput(first_error(form))
        bookings.record_outcome(current_user, booking, form.outcome.data, utcnow())
        flash(_("Issue enregistrée."), "success")
    except ServiceError as error:
        flash_refusal(error)
    return redirect(url_for("consultant.home"))


@bp.route("/rendez-vous/<int:booking_id>/suivi", methods=["GET", "POST"])
@role_required("consultant")
def follow_up(booking_id: int):
    booking, now = access.booking_for(current_user, booking_id), utcnow()
    try:
        bookings.check_follow_up(booking, now)
    except ServiceError as error:  # an address typed or kept: the list offers started sessions only
        flash_refusal(error)
        return redirect(url_for("consultant.home"))
    if request.method == "POST":
        form = SlotForm()
        try:
            if not form.validate_on_submit():
                raise inputs.BadInput(first_error(form))
            bookings.propose_follow_up(current_user, booking, form.start.data, now)
        except ServiceError as error:
            flash_refusal(error)
            return _follow_up_page(booking, now), 422  # the slots again, with the reason; nothing was proposed
        flash(_("Suivi proposé : le client le confirme en un clic."), "success")
        return redirect(url_for("consultant.home"))
    return _follow_up_page(booking, now)


def _follow_up_page(booking: Booking, now):
    after = max(now, booking.end_at)  # a follow-up begins once the session is over
    found = availability.slots(
        "erplib", booking.company, after, after + timedelta(days=14), now, consultant_id=_me().id
    )
    return render_template("consultant/follow_up.html", booking=booking, days=availability.by_day(found))
