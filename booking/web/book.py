"""Client booking pages: choose a service → a week of free slots → hold → confirm; my bookings."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, Response, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from calendars.invite import ics_file
from calendars.worktime import PARIS

from .. import contract, inputs
from ..auth import role_required
from ..date_format import format_datetime
from ..extensions import limiter
from ..models import PRIORITIES, Booking
from ..models.types import utcnow
from ..security import booking_limit, user_key
from ..services import (
    access,
    availability,
    booking_lists,
    bookings,
    callbacks,
    costs,
    interventions,
    notify,
    promises,
    reasons,
    why_not,
)
from ..services.errors import ServiceError
from . import consent, listing
from .forms.booking import (
    CancelForm,
    ConfirmForm,
    HoldForm,
    MoveForm,
    NotesForm,
    PrerequisiteForm,
    SlotForm,
    first_error,
)
from .refusals import flash_refusal

bp = Blueprint("book", __name__, url_prefix="/portail")
bp.add_app_template_filter(consent.money, "money")
bp.add_app_template_filter(consent.limit, "limit")


def _week(default_from: datetime) -> date:
    """The Monday of the requested week (?semaine=YYYY-MM-DD), else of the first bookable day."""
    text = request.args.get("semaine")
    day = inputs.day(text, _("Semaine")) if text else availability.earliest(default_from).astimezone(PARIS).date()
    return day - timedelta(days=day.weekday())


def _ticket_args() -> dict | None:
    """The callback's ticket, carried in the query string from the ticket form to the week view."""
    reference = request.args.get("ticket", "").strip()
    if not reference:
        return None
    priority = request.args.get("priorite", "")
    try:  # the form gives Paris wall time
        opened = inputs.local_instant(request.args.get("ouvert", ""), _("Date d'ouverture du ticket"))
    except inputs.BadInput as error:
        return {"error": error.message}
    if priority not in PRIORITIES:
        return {"error": _("Choisissez la priorité du ticket.")}
    if opened > utcnow() + inputs.CLOCK_SKEW:
        return {"error": _("La date d'ouverture du ticket est dans le futur.")}
    return {"reference": reference, "priority": priority, "opened_at": opened}


def _week_view(kind: str, monday: date, **extra):
    company, now = current_user.company, utcnow()
    deadline = promise = late = None
    ticket = extra.get("ticket")
    if ticket:
        promise = callbacks.commitment(company, ticket["priority"], ticket["opened_at"])
        deadline = promise.take_charge
        if deadline is not None and deadline <= now:  # the commitment is missed already: say so, and what now
            late = {
                "first": callbacks.first_window(company, now),
                "until": now + timedelta(days=callbacks.FIRST_WINDOW_DAYS),
            }
        extra["call_requested"] = callbacks.call_requested(company, ticket["reference"])
    start, end = availability.local_range(monday, monday + timedelta(days=6))
    found = availability.listing(kind, company, start, end, now, exclude_id=extra.get("exclude_id"), deadline=deadline)
    week = [monday + timedelta(days=n) for n in range(5)]
    outside = bookings.refused_days(company, kind, week[0], week[-1])  # a planned tier without the service
    days = {day: slots for day, slots in availability.by_day(found) if day not in outside}
    empty = [day for day in week if not days.get(day) and day not in outside]
    why = availability.day_reasons(kind, company, empty, now) if empty else {}
    shown = _shown_day(week, days)
    at = week.index(shown)
    # on a phone one day shows at a time: the day before and after, across weeks (plain links, no script)
    day_before = (monday, week[at - 1]) if at else (monday - timedelta(days=7), monday - timedelta(days=3))
    day_after = (monday, week[at + 1]) if at < 4 else (monday + timedelta(days=7), monday + timedelta(days=7))
    return render_template(
        "book/week.html",
        kind=kind,
        monday=monday,
        deadline=deadline,
        promise=promise,
        late=late,
        notes=lambda slot: promises.notes(kind, slot.start, now),
        fits=callbacks.fits(found, deadline, end),
        days=[(day, days.get(day, [])) for day in week],
        empty_days={day: _day_word(why.get(day), day, now) for day in empty}
        | {day: (reasons.day_label("tier"), sentence) for day, sentence in outside.items()},
        shown=shown,
        day_before=day_before,
        day_after=day_after,
        previous=monday - timedelta(days=7),
        next=monday + timedelta(days=7),
        **extra,
    )


def _day_word(why: reasons.Reason | None, day: date, now: datetime) -> tuple[str, str]:
    """A day without a slot: its word (« Jour férié », « Complet » …) and the rule's full sentence."""
    if why is None:
        return reasons.day_label("full"), ""
    past = why.code == "notice" and day < now.astimezone(PARIS).date()
    days = contract.current().policy.horizon_days
    return reasons.day_label(why.code, "past" if past else None, days=days), why.sentence


def _shown_day(week: list[date], days: dict) -> date:
    """The day a phone shows (?jour=, when in this week), else the week's first day with a free slot."""
    text = request.args.get("jour")
    asked = inputs.day(text, _("Jour")) if text else None
    if asked in week:
        return asked
    return next((day for day in week if days.get(day)), week[0])


@bp.route("/reserver")
@role_required("client")
def services():
    choices = [(kind, bookings.refusal(current_user.company, kind)) for kind in contract.current().services]
    return render_template("book/services.html", choices=choices)


@bp.route("/reserver/<kind>")
@role_required("client")
def week(kind: str):
    bookings.check_entitlement(current_user.company, kind)
    ticket = _ticket_args() if kind == "callback" else None
    if kind == "callback" and (ticket is None or "error" in ticket):
        return render_template(
            "book/ticket.html",
            error=ticket and ticket["error"],
            now=utcnow(),
            commitments=callbacks.commitments(current_user.company),
        ), 400 if ticket else 200
    envs = [e for e in contract.current().service(kind).environments if e in current_user.company.environments]
    recorded = query = None
    if ticket:  # a ticket the company has: its windows as recorded, said on the page; the forms send those values
        ticket, recorded = callbacks.as_known(current_user.company, ticket)
        if recorded is not None:
            ouvert = ticket["opened_at"].astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")
            query = request.args.to_dict() | {"priorite": ticket["priority"], "ouvert": ouvert}
    return _week_view(kind, _week(utcnow()), ticket=ticket, recorded=recorded, query=query, environments=envs)


_SLOT_RULES = set(reasons.CODES) - {"not_entitled", "no_consultant"}  # refusals that are about the instant


@bp.post("/reserver/callback/etre-rappele")
@role_required("client")
@limiter.limit(booking_limit, key_func=user_key)
def request_call():
    """No callback window fits before the ticket's take-charge deadline: the client asks to be called."""
    back = url_for("book.week", kind="callback", **request.args.to_dict())
    try:
        bookings.check_entitlement(current_user.company, "callback")
        ticket = _ticket_args() or {"error": _("Indiquez la référence du ticket.")}
        if "error" in ticket:
            raise inputs.BadInput(ticket["error"])
        now = utcnow()
        _ticket, _new, deadline = callbacks.request_call(
            current_user, ticket["reference"], ticket["priority"], ticket["opened_at"], now
        )
    except ServiceError as error:
        flash_refusal(error)
        return redirect(back)
    if deadline > now:
        flash(
            _(
                "C'est noté : un consultant vous appellera au plus tard le %(when)s.",
                when=format_datetime(deadline, "EEE d MMM HH:mm"),
            ),
            "success",
        )
    else:
        flash(_("C'est noté : un consultant vous appellera dès que possible."), "success")
    return redirect(back)


@bp.post("/reserver/<kind>")
@role_required("client")
@limiter.limit(booking_limit, key_func=user_key)
def hold(kind: str):
    try:
        ticket = None
        if kind == "callback":
            t = _ticket_args() or {}
            if "error" in t:
                raise inputs.BadInput(t["error"])
            ticket = access.ticket_for(
                current_user.company, t.get("reference", ""), t.get("priority", ""), t.get("opened_at")
            )
        form = HoldForm()
        if not form.validate_on_submit():
            raise inputs.BadInput(first_error(form))
        booking = bookings.book(
            current_user,
            kind,
            form.start.data,
            utcnow(),
            hold=True,
            ticket=ticket,
            environment=form.environment.data or None,
            notes=form.notes.data,
        )
    except ServiceError as error:
        flash_refusal(error)
        if getattr(error, "code", None) in _SLOT_RULES:  # "Pourquoi ?": every rule, not just the first
            g.why = why_not.explain(kind, current_user.company, form.start.data, utcnow(), for_client=True)
        page = make_response(week(kind))  # the week (or the ticket form) again, with the reason; nothing was held
        page.status_code = 422
        return page
    return redirect(url_for("book.confirm", booking_id=booking.id))


@bp.route("/rendez-vous/<int:booking_id>/confirmer", methods=["GET", "POST"])
@role_required("client")
def confirm(booking_id: int):
    booking = access.booking_for(current_user, booking_id)
    if request.method == "POST":
        form = ConfirmForm()
        try:
            if not form.validate_on_submit():  # a hidden field garbled by hand: said as the move form says it
                raise inputs.BadInput(first_error(form))
            bookings.confirm(
                current_user,
                booking,
                utcnow(),
                expected_billable=form.billable_minutes.data,
                expected_price=form.price.data,
            )
        except inputs.BadInput as error:  # nothing was confirmed: the same page again, with the reason
            flash_refusal(error)
            if booking.status != "held":
                return detail(booking_id), 422
            return _confirm_page(booking), 422
        except ServiceError as error:
            flash_refusal(error)
            if error.code == "cost_changed":  # the same page again, with the new cost to consent to
                return redirect(url_for("book.confirm", booking_id=booking.id))
            return redirect(url_for("book.services"))
        flash(_("Rendez-vous confirmé. Une invitation vous est envoyée par e-mail dans un instant."), "success")
        return redirect(url_for("book.detail", booking_id=booking.id))
    if booking.status != "held":
        return redirect(url_for("book.detail", booking_id=booking.id))
    return _confirm_page(booking)


def _confirm_page(booking: Booking) -> str:
    """A hold's consent step: its cost (minutes and price, sent back with the click), its promises."""
    ticket = booking.ticket
    return render_template(
        "book/confirm.html",
        booking=booking,
        cost=costs.for_booking(booking),
        now=utcnow(),
        prerequisites_until=promises.prerequisites_until(booking.kind, booking.start_at),
        # a callback's promise: the ticket's take-charge deadline, said whether or not the slot keeps it
        take_charge=callbacks.commitment(booking.company, ticket.priority, ticket.opened_at).take_charge
        if ticket
        else None,
    )


@bp.route("/rendez-vous")
@role_required("client")
def mine():
    """The company's bookings, a page at a time: upcoming (next first), past, cancelled or all."""
    form, filters = listing.filter_form(staff=False)
    now = utcnow()
    page = booking_lists.bookings(access.bookings_query(current_user), filters, now, request.args.get("page", type=int))
    return render_template(
        "book/mine.html",
        page=page,
        form=form,
        args=listing.kept_args(),
        now=now,
        cutoff_passed=lambda b: bookings.cutoff_passed(b, now),
    )


@bp.route("/rendez-vous/<int:booking_id>")
@role_required("client")
def detail(booking_id: int):
    booking, now = access.booking_for(current_user, booking_id), utcnow()
    offer = interventions.next_slot(booking, now) if booking.status == "prerequisites_missing" else None
    return render_template(
        "book/detail.html",
        booking=booking,
        now=now,
        cost=costs.for_booking(booking),  # its free-cancellation limit, as the confirm step said it
        late=bookings.cutoff_passed(booking, now),
        checklist=interventions.checklist(booking),
        offer=offer,
    )


@bp.post("/rendez-vous/<int:booking_id>/prerequis")
@role_required("client")
def prerequisite(booking_id: int):
    booking = access.booking_for(current_user, booking_id)
    form = PrerequisiteForm()
    try:
        if not form.validate_on_submit():
            raise inputs.BadInput(first_error(form))
        interventions.tick(current_user, booking, form.code.data, form.ticked, utcnow())
        flash(_("Prérequis enregistré."), "success")
    except ServiceError as error:
        flash_refusal(error)
    return redirect(url_for("book.detail", booking_id=booking_id))


@bp.post("/rendez-vous/<int:booking_id>/analyse")
@role_required("client")
def analysis(booking_id: int):
    booking = access.booking_for(current_user, booking_id)
    form = NotesForm()
    try:
        if not form.validate_on_submit():
            raise inputs.BadInput(first_error(form))
        interventions.set_notes(current_user, booking, "analysis_notes", form.notes.data or "")
        flash(_("Analyse de l'environnement enregistrée."), "success")
    except ServiceError as error:
        flash_refusal(error)
    return redirect(url_for("book.detail", booking_id=booking_id))


@bp.post("/rendez-vous/<int:booking_id>/reprogrammer")
@role_required("client")
def rebook(booking_id: int):
    booking = access.booking_for(current_user, booking_id)
    form = SlotForm()
    try:
        if not form.validate_on_submit():
            raise inputs.BadInput(first_error(form))
        new = interventions.rebook(current_user, booking, form.start.data, utcnow())
    except ServiceError as error:
        flash_refusal(error)
        return detail(booking_id), 422  # the intervention again, with the reason; nothing was moved
    flash(_("Intervention reprogrammée."), "success")
    return redirect(url_for("book.detail", booking_id=new.id))


@bp.route("/rendez-vous/<int:booking_id>.ics")
@role_required("client")
def ics(booking_id: int):
    booking = access.booking_for(current_user, booking_id)
    return Response(
        ics_file(notify.event_data(booking)),
        mimetype="text/calendar",
        headers={"Content-Disposition": f"attachment; filename=rendez-vous-{booking.id}.ics"},
    )


@bp.get("/rendez-vous/<int:booking_id>/annuler")
@role_required("client")
def cancel_page(booking_id: int):
    """The second step of a cancellation (no JavaScript needed): what it will do, then yes or no."""
    booking = access.booking_for(current_user, booking_id)
    if booking.status not in ("held", "confirmed"):
        return redirect(url_for("book.detail", booking_id=booking.id))
    bookings.staff_only_for_priority(current_user, booking)  # a 403 page that says whom to call
    try:
        bookings.refuse_once_started(current_user, booking, utcnow())
    except ServiceError as error:  # the page was open before the start: the detail says why, and what to do
        flash_refusal(error)
        return redirect(url_for("book.detail", booking_id=booking.id))
    told = costs.cancellation(current_user, booking, utcnow())
    return render_template(
        "book/cancel_confirm.html",
        booking=booking,
        lines=consent.will_happen(told, booking.status == "held"),
        form=CancelForm(seen=booking.sequence),  # the terms above hold for this sequence only
    )


@bp.post("/rendez-vous/<int:booking_id>/annuler")
@role_required("client")
def cancel(booking_id: int):
    booking, form = access.booking_for(current_user, booking_id), CancelForm()
    if not form.validate_on_submit():
        abort(400)
    was_held, told = booking.status == "held", costs.cancellation(current_user, booking, utcnow())
    try:
        bookings.cancel(current_user, booking, utcnow(), seen=form.seen.data)
    except ServiceError as error:
        flash_refusal(error)
    else:
        told = costs.Cancellation(
            booking.status == "late_cancelled", told.included_minutes, told.billable_minutes, told.price_eur
        )  # as the service decided it
        flash(consent.happened(told, was_held), "success")
    return redirect(url_for("book.detail", booking_id=booking.id))


@bp.route("/rendez-vous/<int:booking_id>/deplacer", methods=["GET", "POST"])
@role_required("client")
def move(booking_id: int):
    booking = access.booking_for(current_user, booking_id)
    bookings.staff_only_for_priority(current_user, booking)  # a 403 page that says whom to call
    if request.method == "POST":
        form, now = MoveForm(), utcnow()
        try:
            if not form.validate_on_submit():
                raise inputs.BadInput(first_error(form))
            if form.seen.data is None:  # the slot just chosen: what the move changes, to consent to first
                move = costs.for_move(current_user, booking, form.start.data, now)
                return render_template("book/move_confirm.html", booking=booking, move=move, now=now)
            bookings.reschedule(
                current_user,
                booking,
                form.start.data,
                now,
                seen=form.seen.data,
                expected_billable=form.billable.data,
                expected_price=form.price.data,
            )
        except ServiceError as error:
            flash_refusal(error)
            if error.code == "cost_changed":  # the consent step again, with the new cost to consent to
                try:
                    move = costs.for_move(current_user, booking, form.start.data, now)  # read after the rollback
                except ServiceError as other:  # the slot went meanwhile too: the week, with both reasons
                    flash_refusal(other)
                else:
                    page = make_response(render_template("book/move_confirm.html", booking=booking, move=move, now=now))
                    page.status_code = 422  # nothing was moved
                    return page
            page = make_response(
                _week_view(booking.kind, _week(utcnow()), moving=booking, exclude_id=booking.id, environments=[])
            )
            page.status_code = 422  # the week again, with the reason; nothing was moved
            return page
        flash(_("Rendez-vous déplacé. L'invitation mise à jour vous est envoyée dans un instant."), "success")
        return redirect(url_for("book.detail", booking_id=booking.id))
    return _week_view(booking.kind, _week(utcnow()), moving=booking, exclude_id=booking.id, environments=[])
