"""A planner declares a consultant's absence; a repair plan starts when it covers booked time."""

from __future__ import annotations

from operator import itemgetter

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from calendars.worktime import PARIS

from ..auth import role_required
from ..extensions import db
from ..models import Consultant, User
from ..models.types import utcnow
from ..services import priority
from ..services.errors import ServiceError
from ..text_order import by_name
from .forms import refused
from .forms.absences import AbsenceForm
from .listing import options

bp = Blueprint("absences", __name__)


@bp.route("/planification/absences", methods=["GET", "POST"])
@role_required("planner", "admin")
def declare():
    form = AbsenceForm()
    # one query, not one a name
    rows = db.session.execute(select(Consultant.id, User.name).join(Consultant.user))
    form.consultant.choices = options(
        (str(consultant_id), name) for consultant_id, name in by_name(rows, itemgetter(1))
    )
    if form.validate_on_submit():
        consultant = db.session.get(Consultant, form.consultant.data)
        try:
            # Paris wall time, as typed
            plan = priority.mark_absent(
                current_user,
                consultant,
                form.start.data.replace(tzinfo=PARIS),
                form.end.data.replace(tzinfo=PARIS),
                form.reason.data,
                utcnow(),
            )
        except ServiceError as error:
            refused(form, error, "end")
            return render_template("priority/absences.html", form=form), error.status
        if plan is None:
            flash(_("Absence enregistrée : aucun rendez-vous n'est concerné."), "success")
            return redirect(url_for("absences.declare"))
        flash(_("Absence enregistrée : un plan de réaffectation est en cours de calcul."), "success")
        return redirect(url_for("priority.plan_page", plan_id=plan.id))
    return render_template("priority/absences.html", form=form), 422 if form.is_submitted() else 200
