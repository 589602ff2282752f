"""The reshuffle instance (docs/solver-format.md) built from the database: consultants with their
own calendars (working pattern, regional holidays, absences: the one `calendar_for` that the slot list
uses) and imported busy time as unavailable time; bookings; accepted priority jobs."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select

from calendars.worktime import PARIS, public_holidays, subtract
from solver.instance import INSTANCE_FORMAT

from .. import contract
from ..extensions import db
from ..models import Booking, Consultant, ExternalBusy, PriorityRequest, overlapping
from . import bookings as booking_rules
from . import solver_ids
from .availability import BUSINESS, calendar_for, eligible
from .availability import earliest as first_start

WEEKS = 4
WINDOW_AFTER = timedelta(days=5)  # a moved booking may go up to five days after its original start


def _iso(instant: datetime) -> str:
    return instant.astimezone(PARIS).isoformat()


def _unavailable(consultant: Consultant, start: datetime, end: datetime, taken: list[tuple]) -> list[dict]:
    """The business time (the instance's calendar) in which this consultant does not work: outside their
    weekly pattern (part time, other hours), on their regional holidays, during their absences, plus their
    imported busy time and `taken` (their priority consulting, see `_priority_taken`). The pattern comes
    from `calendar_for`, the same calendar the slot list uses."""
    spans = subtract(BUSINESS.intervals(start, end), calendar_for(consultant).intervals(start, end))
    spans += db.session.execute(
        select(ExternalBusy.start_at, ExternalBusy.end_at).where(
            ExternalBusy.consultant_id == consultant.id, ExternalBusy.end_at > start, ExternalBusy.start_at < end
        )
    ).all()
    spans += taken
    return [{"start": _iso(a), "end": _iso(b)} for a, b in sorted(spans)]


def _priority_taken(start: datetime, end: datetime) -> dict[int, list[tuple]]:
    """Each consultant's priority consulting in [start, end), as working-time spans, in one query. Placed, it
    is not the solver's to move: a planner moves it, seeing what that implies, and it lasts days the catalogue
    does not know (a plan once took a paid 4-day consulting for a movable 1-day block). Its time, begun or
    not, is its consultant's, as an absence is."""
    taken: dict[int, list[tuple]] = defaultdict(list)
    for consultant_id, a, b in db.session.execute(
        select(Booking.consultant_id, Booking.start_at, Booking.end_at).where(
            Booking.kind == "priority_consulting", Booking.status == "confirmed", overlapping(start, end)
        )
    ):
        taken[consultant_id] += BUSINESS.intervals(max(a, start), min(b, end))  # its working hours, day by day
    return taken


def _calendar() -> dict:
    """The company's business week (BUSINESS) in the instance's terms; holidays are listed by `build`."""
    weekdays = [day for day, blocks in enumerate(BUSINESS.week) if blocks]
    hours = [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in BUSINESS.week[weekdays[0]]]
    if any(BUSINESS.week[day] != BUSINESS.week[weekdays[0]] for day in weekdays):
        raise ValueError("the instance format has one set of hours for every working day")
    return {"timezone": str(BUSINESS.tz), "weekdays": weekdays, "hours": hours}


def _window(booking: Booking, now: datetime, end: datetime, refused: dict) -> tuple[datetime, datetime]:
    """Where a moved booking may go: from now to WINDOW_AFTER after its start, within the days around it whose
    tier allows its service: a plan does not move it where a client or a planner could not (a planned tier
    without the service), nor across such days."""
    start, stop = now, min(end, booking.start_at + WINDOW_AFTER)
    key = (booking.company_id, booking.kind)
    if key not in refused:
        refused[key] = booking_rules.refused_days(
            booking.company, booking.kind, now.astimezone(PARIS).date(), end.astimezone(PARIS).date()
        )
    day = booking.start_at.astimezone(PARIS).date()
    before = [d for d in refused[key] if d < day]
    after = [d for d in refused[key] if d > day]
    if before:
        start = max(start, datetime.combine(max(before) + timedelta(days=1), datetime.min.time(), PARIS))
    if after:
        stop = min(stop, datetime.combine(min(after), datetime.min.time(), PARIS))
    return start, stop


def build(now: datetime, requests: list[PriorityRequest]) -> dict:
    """A docs/solver-format.md instance: the next weeks of confirmed bookings and the accepted priority jobs."""
    terms = contract.current()
    end = datetime.combine((now + timedelta(weeks=WEEKS)).astimezone(PARIS).date(), datetime.min.time(), PARIS)
    consultants = eligible(terms.service("erplib"))
    taken = _priority_taken(now, end)
    holidays = sorted(
        {
            d
            for year in {now.year, end.year}
            for d in public_holidays(year)
            if now.astimezone(PARIS).date() <= d < end.date()
        }
    )
    by_skill = {}
    refused: dict = {}  # (company, service) → the days a planned tier without the service covers
    bookings = []
    for booking in db.session.scalars(
        select(Booking)
        .where(
            Booking.status == "confirmed",
            Booking.kind != "priority_consulting",  # its consultant's unavailable time (see `_unavailable`)
            Booking.start_at >= now,
            Booking.end_at <= end,
        )
        .order_by(Booking.start_at)
    ):
        service = terms.service(booking.kind)
        skill = service.skill
        if skill not in by_skill:
            by_skill[skill] = [c.id for c in consultants if skill is None or skill in c.skills]
        minutes = (
            int((booking.end_at - booking.start_at).total_seconds() // 60)
            if service.span == "block"
            else 450 * (service.duration_days or 1)
        )
        window = _window(booking, now, end, refused)
        bookings.append(
            {
                "id": solver_ids.booking(booking.id),
                "client": solver_ids.client(booking.company_id),
                "kind": booking.kind,
                "duration_minutes": minutes,
                "span": "block" if service.span == "block" else "days",
                "consultant": solver_ids.consultant(booking.consultant_id),
                "start": _iso(booking.start_at),
                "eligible": sorted(map(solver_ids.consultant, {booking.consultant_id, *by_skill[skill]})),
                "window": {"start": _iso(window[0]), "end": _iso(window[1])},
                "pinned": booking.pinned,
                "booked_at": _iso(booking.booked_at),
            }
        )
    jobs = []
    for request in requests:
        accepted = request.accepted_at or now
        # the same minimum notice as any booking, so that the consultant can prepare
        earliest = first_start(max(now, accepted))
        jobs.append(
            {
                "id": solver_ids.job(request.id),
                "client": solver_ids.client(request.company_id),
                "kind": "priority_consulting",
                "duration_minutes": request.amount * (450 if request.unit == "days" else 60),
                "span": "days" if request.unit == "days" else "block",
                "skill": request.skill,
                "window": {"start": _iso(earliest), "end": _iso(accepted + timedelta(days=7))},
            }
        )
    return {
        "format": INSTANCE_FORMAT,
        "now": _iso(now),
        "calendar": {
            **_calendar(),
            "holidays": [d.isoformat() for d in holidays],
            "grid_minutes": terms.policy.grid_minutes,
        },
        "horizon": {"start": _iso(now), "end": _iso(end)},
        "consultants": [
            {
                "id": solver_ids.consultant(c.id),
                "skills": list(c.skills),
                "unavailable": _unavailable(c, now, end, taken[c.id]),
            }
            for c in consultants
        ],
        "bookings": bookings,
        "priority_jobs": jobs,
        "policy": terms.reshuffle.to_instance(),
    }
