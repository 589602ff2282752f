"""The planner's week: every consultant, day by day, with their bookings by kind, absences and imported busy
time as bars. A fixed number of queries, however many consultants and bookings the week holds."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import ACTIVE_STATUSES, Absence, Booking, Consultant, ExternalBusy, overlapping, with_status
from .availability import BUSINESS
from .day_bars import Bar, day_bars

DAYS = 5  # Monday to Friday: the business week


@dataclass(frozen=True)
class Week:
    monday: date
    consultants: list[Consultant]  # their users loaded: `name` costs no query
    cells: dict[tuple[int, date], list[Bar]]  # (consultant id, day) → bars, in start order per source

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=n) for n in range(DAYS)]

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def following(self) -> date:
        return self.monday + timedelta(days=7)


def week_of(day: date) -> Week:
    """The business week holding `day` (a weekend day gives the week it ends)."""
    monday = day - timedelta(days=day.weekday())
    start = datetime.combine(monday, time.min, BUSINESS.tz)
    end = start + timedelta(days=DAYS)
    friday = monday + timedelta(days=DAYS - 1)
    cells: dict[tuple[int, date], list[Bar]] = defaultdict(list)

    def add(
        consultant_id: int, kind: str, a: datetime, b: datetime, label: str, booking: Booking | None = None
    ) -> None:
        for when, bar in day_bars(kind, a, b, label, first=monday, last=friday, booking=booking):
            cells[(consultant_id, when)].append(bar)

    consultants = list(
        db.session.scalars(select(Consultant).options(joinedload(Consultant.user)).order_by(Consultant.id))
    )
    for b in db.session.scalars(
        select(Booking)
        .options(joinedload(Booking.company))
        .where(with_status(ACTIVE_STATUSES), overlapping(start, end))
        .order_by(Booking.start_at)
    ):
        add(
            b.consultant_id,
            b.kind,
            b.start_at,
            b.end_at,
            f"{b.company.name} {b.start_at.astimezone(BUSINESS.tz):%H:%M}",
            b,
        )
    for a in db.session.scalars(
        select(Absence)
        .where(Absence.start_at < end, Absence.end_at > start)
        .order_by(Absence.consultant_id, Absence.start_at)
    ):
        add(a.consultant_id, "absence", a.start_at, a.end_at, a.reason or _("Absence"))
    for busy in db.session.scalars(
        select(ExternalBusy).where(ExternalBusy.start_at < end, ExternalBusy.end_at > start)
    ):
        add(busy.consultant_id, "busy", busy.start_at, busy.end_at, _("Occupé (calendrier extérieur)"))
    return Week(monday, consultants, dict(cells))
