"""Consultant home: their own schedule."""
from flask import Blueprint, abort, render_template
from flask_login import current_user

from ..auth import role_required
from ..models.types import utcnow
from ..services import schedule

bp = Blueprint("consultant", __name__, url_prefix="/consultant")


@bp.route("/")
@role_required("consultant")
def home():
    consultant = current_user.consultant
    if consultant is None:
        abort(403)
    now = utcnow()
    return render_template("consultant/home.html", consultant=consultant,
                           bookings=schedule.upcoming(now, consultant_id=consultant.id, days=14))
