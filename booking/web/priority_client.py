"""Priority consulting, the client's side: request it, read the quote, accept it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import inputs
from ..auth import role_required
from ..extensions import db
from ..models import PriorityRequest
from ..models.types import utcnow
from ..services import priority, quotes
from ..services.errors import NotEntitled, ServiceError
from .forms import refused
from .forms.priority import AcceptQuoteForm, ConsultingRequestForm
from .listing import skill_options
from .money import eur
from .priority import request_for
from .refusals import flash_refusal

bp = Blueprint("priority_client", __name__)


@bp.route("/portail/priorite", methods=["GET", "POST"])
@role_required("client")
def index():
    form = ConsultingRequestForm()
    form.skill.choices = skill_options(priority.held_skills())
    not_included = priority.refusal(current_user.company)  # said up front, instead of a form (Standard)
    status = 200
    # a post from a tier without priority consulting still goes to the service, which refuses it first
    if form.is_submitted() and (not_included or form.validate()):
        try:
            priority.request_consulting(
                current_user, form.skill.data, form.amount.data, form.unit.data, form.description.data, utcnow()
            )
        except NotEntitled as error:  # about the contract, not a field: the page says it instead of the form
            not_included, status = error.message, error.status
        except ServiceError as error:
            refused(form, error, "amount")
            status = error.status
        else:
            flash(_("Demande envoyée : un planificateur vous répond rapidement."), "success")
            return redirect(url_for("priority_client.index"))
    elif form.is_submitted():
        status = 422
    mine = db.session.scalars(
        select(PriorityRequest)
        .where(PriorityRequest.company_id == current_user.company_id)
        .order_by(PriorityRequest.requested_at.desc())
    ).all()
    totals = {r.id: quote.total for r in mine if (quote := quotes.build(r, priority.latest(r)))}
    page = render_template("priority/client.html", requests=mine, form=form, totals=totals, not_included=not_included)
    return page, status


@bp.route("/portail/priorite/<int:request_id>/devis")
@role_required("client")
def quote_page(request_id: int):
    found = request_for(request_id)
    plan = priority.latest(found)
    return render_template("priority/quote.html", req=found, quote=quotes.build(found, plan), now=utcnow())


@bp.route("/portail/priorite/<int:request_id>/accepter", methods=["GET", "POST"])
@role_required("client")
def accept(request_id: int):
    found = request_for(request_id)
    quote = quotes.build(found, priority.latest(found))
    if quote is None or found.status != "planned":  # the quote page says where the request stands
        if request.method == "POST":
            flash(_("Aucun devis à accepter pour cette demande."), "error")
        page = render_template("priority/quote.html", req=found, quote=quote, now=utcnow())
        return page, 409 if request.method == "POST" else 200
    form = AcceptQuoteForm()
    if not form.is_submitted() or not form.plan_id.data:  # an empty post (one click) gets the confirmation step
        form.plan_id.data = str(quote.plan_id)
    elif form.validate_on_submit():
        try:
            priority.accept_quote(current_user, found, utcnow(), inputs.identifier(form.plan_id.data, _("Devis")))
        except ServiceError as error:
            flash_refusal(error)
        else:
            flash(
                _(
                    "Devis accepté (%(total)s) : votre conseil prioritaire est planifié et les rendez-vous déplacés "
                    "ont été prévenus.",
                    total=eur(quote.total),
                )
                if quote.moves
                else _("Devis accepté (%(total)s) : votre conseil prioritaire est planifié.", total=eur(quote.total)),
                "success",
            )
        return redirect(url_for("priority_client.quote_page", request_id=request_id))
    return render_template("priority/quote_confirm.html", req=found, quote=quote, form=form, now=utcnow())
