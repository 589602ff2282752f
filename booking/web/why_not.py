"""The planners' troubleshooter page: "why is this slot not free?" for a consultant or the whole team."""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import contains_eager
from wtforms import DateField, SelectField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from calendars.worktime import PARIS

from .. import contract, labels
from ..auth import role_required
from ..extensions import db
from ..models import Company, Consultant, User
from ..models.types import utcnow
from ..services import why_not
from ..text_order import by_name

bp = Blueprint("why_not", __name__, url_prefix="/planification/pourquoi")


class WhyForm(FlaskForm):
    """Read-only (GET, so that an answer can be linked): no CSRF token needed."""

    class Meta:
        csrf = False

    consultant = SelectField(_l("Consultant"), coerce=str)
    company = SelectField(_l("Client"), coerce=str, validators=[InputRequired(_l("Choisissez un client."))])
    service = SelectField(_l("Prestation"), coerce=str, validators=[InputRequired(_l("Choisissez une prestation."))])
    day = DateField(_l("Date"), validators=[InputRequired(_l("Indiquez une date."))])
    time = TimeField(_l("Heure (Paris)"), validators=[InputRequired(_l("Indiquez une heure."))])


def _form() -> WhyForm:
    form = WhyForm(request.args, meta={"csrf": False})
    consultants = by_name(
        db.session.scalars(
            select(Consultant).join(User).where(User.active.is_(True)).options(contains_eager(Consultant.user))
        )
    )
    form.consultant.choices = [SelectChoice("", _l("Toute l'équipe"))] + [
        SelectChoice(str(c.id), c.name) for c in consultants
    ]
    companies = by_name(db.session.execute(select(Company.id, Company.name)), itemgetter(1))
    form.company.choices = [SelectChoice(str(id_), name) for id_, name in companies]
    form.service.choices = [SelectChoice(kind, labels.KINDS.get(kind, kind)) for kind in contract.current().services]
    return form


@bp.route("/")
@role_required("planner", "admin")
def index():
    form, answer, start = _form(), None, None
    if request.args and form.validate():
        company = db.session.get(Company, int(form.company.data))
        start = datetime.combine(form.day.data, form.time.data, PARIS)
        only = int(form.consultant.data) if form.consultant.data else None
        answer = why_not.explain(form.service.data, company, start, utcnow(), consultant_id=only)
    status = 422 if request.args and form.errors else 200
    return render_template("why_not/index.html", form=form, answer=answer, start=start), status
