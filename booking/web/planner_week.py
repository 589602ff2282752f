"""The planner's week: every consultant over one week."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from calendars.worktime import PARIS
from .. import inputs
from ..auth import role_required
from ..extensions import db
from ..models import ACTIVE_STATUSES, Booking, Consultant, ExternalBusy
from ..models.types import utcnow

bp = Blueprint("planner_week", __name__)


@bp.route("/planification/semaine")
@role_required("planner", "admin")
def show():
    """All consultants over one week: bookings by kind, absences, imported busy time."""
    text = request.args.get("semaine")
    monday = inputs.day(text, _("Semaine")) if text else utcnow().astimezone(PARIS).date()
    monday -= timedelta(days=monday.weekday())
    start = datetime.combine(monday, datetime.min.time(), PARIS)
    end = start + timedelta(days=5)
    consultants = db.session.scalars(select(Consultant)).all()
    cells = defaultdict(list)

    def add(consultant_id, kind, a, b, label):
        la, lb = a.astimezone(PARIS), b.astimezone(PARIS)
        day = max(la.date(), monday)
        while day <= min(lb.date(), monday + timedelta(days=4)):
            s = la if la.date() == day else datetime.combine(day, datetime.min.time().replace(hour=9), PARIS)
            e = lb if lb.date() == day else datetime.combine(day, datetime.min.time().replace(hour=18), PARIS)
            left = max(0.0, (s.hour * 60 + s.minute - 540) / 540 * 100)
            width = max(0.8, min(100.0, (e.hour * 60 + e.minute - 540) / 540 * 100) - left)
            if width > 0 and left < 100:
                cells[(consultant_id, day)].append((kind, round(left, 1), round(width, 1), label))
            day += timedelta(days=1)

    for b in db.session.scalars(select(Booking).where(Booking.status.in_(ACTIVE_STATUSES), Booking.start_at < end,
                                                      Booking.end_at > start)):
        add(b.consultant_id, b.kind, b.start_at, b.end_at, f"{b.company.name} {b.start_at.astimezone(PARIS):%H:%M}")
    for c in consultants:
        for a in c.absences:
            if a.start_at < end and a.end_at > start:
                add(c.id, "absence", a.start_at, a.end_at, a.reason or _("Absence"))
    for busy in db.session.scalars(select(ExternalBusy).where(ExternalBusy.start_at < end, ExternalBusy.end_at > start)):
        add(busy.consultant_id, "busy", busy.start_at, busy.end_at, _("Occupé (calendrier extérieur)"))
    days = [monday + timedelta(days=n) for n in range(5)]
    return render_template("priority/week.html", consultants=consultants, days=days, cells=cells, monday=monday,
                           previous=monday - timedelta(days=7), following=monday + timedelta(days=7))
