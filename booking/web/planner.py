"""Planner pages: this week's load, pending priority requests, monthly billing reports."""

from datetime import date, timedelta
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from calendars.worktime import PARIS

from .. import contract, inputs
from ..auth import role_required
from ..extensions import db
from ..models import Booking, Company
from ..models.types import utcnow
from ..services import access, billing, booking_lists, callbacks, hour_bank, interventions, pages, schedule
from ..services.errors import ServiceError
from . import listing
from .refusals import flash_refusal
from .util import csv_download, year_asked

bp = Blueprint("planner", __name__, url_prefix="/planification")


@bp.route("/")
@role_required("planner", "admin")
def home():
    now = utcnow()
    today = now.astimezone(PARIS).date()
    # the next three days in full, a page at a time (never cut at an arbitrary row)
    three_days = booking_lists.bookings(
        select(Booking),
        booking_lists.Filters(first=today, last=today + timedelta(days=2)),
        now,
        request.args.get("page", type=int),
    )
    return render_template(
        "planner/home.html",
        load=schedule.load_by_consultant(now, now + timedelta(days=7)),
        requests=schedule.pending_priority_requests(),
        page=three_days,
        at_risk=pages.slice_page(callbacks.at_risk(now), request.args.get("rappels", type=int), size=10),
        calls=callbacks.calls_to_make(now),
    )


@bp.post("/rappels/<int:ticket_id>/fait")
@role_required("planner", "admin")
def mark_called(ticket_id: int):
    """A client who asked to be called was called: the ticket leaves the list."""
    try:
        if callbacks.mark_called(current_user, ticket_id, utcnow()):
            flash(_("Rappel noté comme fait."), "success")
        else:
            flash(_("Ce rappel était déjà noté comme fait."), "info")
    except ServiceError as error:
        flash_refusal(error)
    return redirect(url_for("planner.home"))


@bp.route("/rendez-vous")
@role_required("planner", "admin")
def bookings():
    """Every booking, filtered by period, client, consultant and service, a page at a time."""
    form, filters = listing.filter_form(staff=True)
    page = booking_lists.bookings(select(Booking), filters, utcnow(), request.args.get("page", type=int))
    return render_template("planner/bookings.html", form=form, page=page, args=listing.kept_args())


def _month(text: str | None) -> date:
    """The month asked for (YYYY-MM), else this one; a month out of range or malformed is a 400."""
    if not text:
        return utcnow().astimezone(PARIS).date().replace(day=1)
    return inputs.month(text, _("Mois"))


@bp.route("/facturation")
@role_required("planner", "admin")
def billing_index():
    month = _month(request.args.get("mois"))
    rows = [(c, billing.monthly_rows(c, month)) for c in schedule.companies()]
    paid = {
        c.id: sum((e.amount_eur for e, _ in billing.monthly_compensations(c, month)), Decimal("0")) for c, _ in rows
    }
    consulting = billing.consulting_totals(month)
    return render_template(
        "planner/billing.html", month=month, rows=rows, paid=paid, consulting=consulting, terms=contract.current()
    )


@bp.route("/facturation/lignes")
@role_required("planner", "admin")
def billing_lines():
    """The month's billing lines of every client, filtered by client, consultant and service."""
    month = _month(request.args.get("mois"))
    form, filters = listing.filter_form(staff=True, when=False)
    page = booking_lists.billing_lines(month, filters, request.args.get("page", type=int))
    return render_template("planner/billing_lines.html", form=form, page=page, month=month, args=listing.kept_args())


@bp.route("/facturation/<int:company_id>/<month>.csv")
@role_required("planner", "admin")
def billing_csv(company_id: int, month: str):
    company = db.session.get(Company, company_id) or abort(404)
    when = _month(month)
    return csv_download(billing.monthly_csv(company, when), f"facturable-{company_id}-{when:%Y-%m}.csv")


@bp.route("/banque-heures/<int:company_id>")
@role_required("planner", "admin")
def hour_bank_page(company_id: int):
    company = db.session.get(Company, company_id) or abort(404)
    return render_template(
        "portal/hour_bank.html",
        company=company,
        bank=hour_bank.summary(company, utcnow().astimezone(PARIS).date(), year_asked()),
    )


@bp.route("/interventions")
@role_required("planner", "admin")
def interventions_page():
    now = utcnow()
    page = pages.slice_page(interventions.upcoming(now), request.args.get("page", type=int))
    return render_template(
        "planner/interventions.html", page=page, rows=[(b, interventions.checklist(b)) for b in page.items]
    )


@bp.post("/interventions/<int:booking_id>/changements")
@role_required("planner", "admin")
def version_changes(booking_id: int):
    booking = access.booking_for(current_user, booking_id)
    try:
        interventions.set_notes(current_user, booking, "version_changes", request.form.get("changes", ""))
        flash(_("Liste des changements enregistrée."), "success")
    except ServiceError as error:
        flash_refusal(error)
    return redirect(url_for("planner.interventions_page"))
