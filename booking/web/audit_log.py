"""The audit log for admins and planners: searchable by company, booking, user and date."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from ..auth import role_required
from ..inputs import INT_MAX
from ..services import audit_log
from . import audit_details
from .forms import blank_is_empty, managed_day
from .listing import options

bp = Blueprint("audit_log", __name__, url_prefix="/planification/journal")


class SearchForm(FlaskForm):
    """A GET search: the filters stay in the address (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    entreprise = SelectField(_l("Entreprise"), coerce=str, filters=[blank_is_empty], validators=[Optional()])
    rdv = IntegerField(_l("Rendez-vous n°"), validators=[Optional(), NumberRange(1, INT_MAX)])
    utilisateur = SelectField(_l("Utilisateur"), coerce=str, filters=[blank_is_empty], validators=[Optional()])
    du = DateField(_l("Du"), validators=[Optional(), managed_day])
    au = DateField(_l("Au"), validators=[Optional(), managed_day])


@bp.route("/")
@role_required("planner", "admin")
def index():
    form = SearchForm(request.args)
    companies, users = audit_log.choices()
    form.entreprise.choices = options([("", _l("Toutes"))] + [(str(c.id), c.name) for c in companies])
    form.utilisateur.choices = options([("", _l("Tous"))] + [(str(u.id), f"{u.name} ({u.email})") for u in users])
    status = 200
    page = None
    if form.validate():
        page = audit_log.search(
            company_id=int(form.entreprise.data) if form.entreprise.data else None,
            booking_id=form.rdv.data,
            user_id=int(form.utilisateur.data) if form.utilisateur.data else None,
            first=form.du.data,
            last=form.au.data,
            page=request.args.get("page", 1, type=int),
        )
    else:
        status = 400
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    actors = audit_log.actors({e.actor_id for e in page.items if e.actor_id}) if page else {}
    details = audit_details.for_page(page.items) if page else {}
    return (
        render_template("audit/index.html", form=form, page=page, args=args, actors=actors, details=details),
        status,
    )
