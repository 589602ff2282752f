"""The planner's week: every consultant over one week."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from .. import inputs
from ..auth import role_required
from ..models.types import utcnow
from ..services.availability import BUSINESS
from ..services.planner_week import week_of

bp = Blueprint("planner_week", __name__)


@bp.route("/planification/semaine")
@role_required("planner", "admin")
def show():
    """All consultants over one week: bookings by kind, absences, imported busy time."""
    text = request.args.get("semaine")
    day = inputs.day(text, _("Semaine")) if text else utcnow().astimezone(BUSINESS.tz).date()
    return render_template("priority/week.html", week=week_of(day))
