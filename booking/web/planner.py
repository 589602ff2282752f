"""Planner home: this week's load per consultant and pending priority requests."""
from datetime import timedelta

from flask import Blueprint, render_template

from ..auth import role_required
from ..models.types import utcnow
from ..services import schedule

bp = Blueprint("planner", __name__, url_prefix="/planification")


@bp.route("/")
@role_required("planner", "admin")
def home():
    now = utcnow()
    return render_template(
        "planner/home.html", load=schedule.load_by_consultant(now, now + timedelta(days=7)),
        requests=schedule.pending_priority_requests(),
        bookings=schedule.upcoming(now, days=3),
    )
