"""The planners' dashboard: the figures behind its charts (load, callbacks, hour banks, compensations,
priority consulting), from the schedule, the tickets, the ledger and the applied plans. Queries and arithmetic
only; business time comes from the calendars availability uses (`calendar_for`, `BUSINESS`)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from calendars.worktime import PARIS, Interval

from .. import contract
from ..extensions import db
from ..models import (
    Booking,
    Company,
    Compensation,
    Consultant,
    PriorityRequest,
    ReshufflePlan,
    Ticket,
    User,
    overlapping,
    with_status,
)
from ..text_order import by_name, name_key
from . import burn_down, periods
from .availability import BUSINESS, calendar_for
from .billing import month_range

# Bookings that hold a consultant's time for good: a hold lapses within minutes, a cancellation frees it.
FIRM = ("confirmed", "completed", "no_show")
PRIORITY_PROMISE = timedelta(days=7)  # priority consulting starts within 7 days of its acceptance


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after `month` (negative: before)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), PARIS)


WEEK_COUNTS, MONTH_COUNTS = (4, 8, 13, 26), (3, 6, 12, 24)  # the lengths a planner may choose


@dataclass(frozen=True)
class Period:
    """What the dashboard shows: `weeks` local weeks from a Monday (load), `months` months from a first day."""

    first_monday: date
    weeks: int
    first_month: date
    months: int

    def months_list(self) -> list[date]:
        return [add_months(self.first_month, n) for n in range(self.months)]


def default_period(today: date) -> Period:
    """Three weeks back to four ahead (what was booked, what is coming); the last six months."""
    return Period(monday(today) - timedelta(weeks=3), 8, add_months(today.replace(day=1), -5), 6)


# --- load: booked vs available business hours, per consultant and week -------------------------------------


@dataclass
class LoadRow:
    consultant_id: int
    name: str
    available: list[int]  # minutes of working time per week (pattern, regional holidays, absences removed)
    booked: list[int]  # minutes of that working time, absences aside, that firm bookings cover

    def ratio(self, week: int) -> float | None:
        """Booked over available (None: no working time that week); above 1 when booked over an absence."""
        return self.booked[week] / self.available[week] if self.available[week] else None


def load(first_monday: date, weeks: int) -> list[LoadRow]:
    """Each active consultant's booked and available minutes for `weeks` local weeks from `first_monday`."""
    start, end = _midnight(first_monday), _midnight(first_monday + timedelta(weeks=weeks))
    busy: dict[int, list[Interval]] = defaultdict(list)
    for consultant_id, b_start, b_end in db.session.execute(
        select(Booking.consultant_id, Booking.start_at, Booking.end_at).where(
            with_status(FIRM), overlapping(start, end)
        )
    ):
        busy[consultant_id].append((b_start, b_end))
    consultants = sorted(
        db.session.scalars(
            select(Consultant)
            .join(User)
            .where(User.active.is_(True))
            .options(joinedload(Consultant.absences), joinedload(Consultant.user))
        ).unique(),
        key=lambda c: (name_key(c.name), c.id),
    )
    rows = []
    for consultant in consultants:
        calendar = calendar_for(consultant)
        # booked time counts inside the working week even over an absence: such a cell shows above 100 %
        working = replace(calendar, absences=()).intervals(start, end)
        rows.append(
            LoadRow(
                consultant.id,
                consultant.name,
                _per_week(calendar.intervals(start, end), first_monday, weeks),
                _per_week(_covered(working, sorted(busy[consultant.id])), first_monday, weeks),
            )
        )
    return rows


def _covered(working: list[Interval], busy: list[Interval]) -> list[Interval]:
    """The pieces of working time that busy intervals cover (both sorted; one consultant's bookings never
    overlap, the database forbids it)."""
    pieces, first = [], 0
    for a, b in working:
        while first < len(busy) and busy[first][1] <= a:
            first += 1
        for index in range(first, len(busy)):
            b_start, b_end = busy[index]
            if b_start >= b:
                break
            pieces.append((max(a, b_start), min(b, b_end)))
    return pieces


def _per_week(intervals: list[Interval], first_monday: date, weeks: int) -> list[int]:
    """Minutes per local week; each interval lies within one working day (calendar intervals do)."""
    minutes = [0] * weeks
    for a, b in intervals:
        week = (a.astimezone(PARIS).date() - first_monday).days // 7
        if 0 <= week < weeks:
            minutes[week] += round((b - a).total_seconds() / 60)
    return minutes


# --- callbacks: taken within or after their take-charge commitment, per tier and month -----------------------


@dataclass
class CallbackCounts:
    tier: str
    label: str
    within: list[int]
    after: list[int]
    without: list[int]  # the tier promises no take-charge time for the ticket's priority


def callbacks(first_month: date, months: int) -> list[CallbackCounts]:
    """Firm callbacks by local month of their start, under the tier in force when their ticket was opened."""
    terms = contract.current()
    counts = {
        name: CallbackCounts(name, tier.label, [0] * months, [0] * months, [0] * months)
        for name, tier in terms.tiers.items()
    }
    start, end = _midnight(first_month), _midnight(add_months(first_month, months))
    rows = db.session.execute(
        select(Booking, Ticket)
        .join(Ticket, Booking.ticket_id == Ticket.id)
        .options(joinedload(Booking.company))
        .where(Booking.kind == "callback", Booking.status.in_(FIRM), Booking.start_at >= start, Booking.start_at < end)
    )
    for booking, ticket in rows:
        local = booking.start_at.astimezone(PARIS)
        month = (local.year - first_month.year) * 12 + local.month - first_month.month
        tier = periods.tier_on(booking.company, ticket.opened_at.astimezone(PARIS).date())
        promised = terms.tier(tier).commitment(ticket.priority, "take_charge")
        if promised is None:
            counts[tier].without[month] += 1
        elif booking.start_at < BUSINESS.add(ticket.opened_at, promised):  # the rule of callbacks.at_risk
            counts[tier].within[month] += 1
        else:
            counts[tier].after[month] += 1
    return list(counts.values())


# --- hour banks: used vs the contract year elapsed, and who will run out before the year's end -----------------


@dataclass
class Bank:
    company_id: int
    name: str
    burn: burn_down.BurnDown
    runs_out: date | None  # at the pace so far (None: not before the year's end)

    @property
    def at_risk(self) -> bool:
        return self.runs_out is not None


def hour_banks(today: date) -> list[Bank]:
    """Every active company whose tier has an hour bank, with its burn-down for the contract year in progress."""
    banks = []
    for company in by_name(db.session.scalars(select(Company).where(Company.active.is_(True)))):
        burn = burn_down.burn_down(company, today)
        if burn is not None:
            banks.append(Bank(company.id, company.name, burn, runs_out(burn, today)))
    return banks


def runs_out(burn: burn_down.BurnDown, today: date) -> date | None:
    """The day the bank empties if minutes keep going at the year's pace so far (today counted as a day
    gone), when that day comes before the year's end; today when it is empty already."""
    if burn.left <= 0:
        return today
    if burn.used <= 0:
        return None
    days_gone = (today - burn.year_start).days + 1
    empty = today + timedelta(days=math.ceil(burn.left * days_gone / burn.used))
    return empty if empty < burn.year_end else None


# --- compensations paid per month -------------------------------------------------------------------------------


@dataclass
class MonthPaid:
    month: date
    amount: Decimal = Decimal("0")
    moved: int = 0  # bookings of other clients moved, each compensated once
    payers: set[int] = field(default_factory=set)


def compensations(first_month: date, months: int) -> list[MonthPaid]:
    """Compensations by local month of the plan's application (the month they are billed, as in billing)."""
    paid = [MonthPaid(add_months(first_month, n)) for n in range(months)]
    start, end = month_range(first_month)[0], month_range(add_months(first_month, months - 1))[1]
    for created_at, amount, payer in db.session.execute(
        select(Compensation.created_at, Compensation.amount_eur, Compensation.payer_company_id).where(
            Compensation.created_at >= start, Compensation.created_at < end
        )
    ):
        local = created_at.astimezone(PARIS)
        month = paid[(local.year - first_month.year) * 12 + local.month - first_month.month]
        month.amount += Decimal(amount)
        month.moved += 1
        month.payers.add(payer)
    return paid


# --- priority requests and how fast they were placed --------------------------------------------------------------


@dataclass
class Placement:
    request_id: int
    company: str
    status: str
    requested_at: datetime
    accepted_at: datetime | None
    applied_at: datetime | None  # the plan applied (the client's consent, or the planner's on their behalf)
    starts_at: datetime | None  # the consulting's first placed hour

    @property
    def business_hours_to_accept(self) -> float | None:
        if self.accepted_at is None:
            return None
        return BUSINESS.between(self.requested_at, self.accepted_at).total_seconds() / 3600

    @property
    def days_to_start(self) -> float | None:
        """Calendar days from acceptance to the start: the promise is at most 7."""
        if self.accepted_at is None or self.starts_at is None:
            return None
        return (self.starts_at - self.accepted_at).total_seconds() / 86400

    @property
    def within_promise(self) -> bool | None:
        if self.accepted_at is None or self.starts_at is None:
            return None
        return self.starts_at <= self.accepted_at + PRIORITY_PROMISE


def priority(first_month: date, months: int) -> list[Placement]:
    """Priority consulting requested in the months, oldest first, with where their applied plan placed them."""
    start, end = _midnight(first_month), _midnight(add_months(first_month, months))
    requests = db.session.execute(
        select(PriorityRequest, Company.name)
        .join(Company, Company.id == PriorityRequest.company_id)
        .where(PriorityRequest.requested_at >= start, PriorityRequest.requested_at < end)
        .order_by(PriorityRequest.requested_at, PriorityRequest.id)
    ).all()
    plans = {
        plan.request_id: plan
        for plan in db.session.scalars(
            select(ReshufflePlan).where(
                ReshufflePlan.status == "applied", ReshufflePlan.request_id.in_([r.id for r, _ in requests])
            )
        )
    }
    result = []
    for request, name in requests:
        plan = plans.get(request.id)
        starts = [datetime.fromisoformat(p["start"]) for p in (plan.plan.get("placements", []) if plan else [])]
        result.append(
            Placement(
                request.id,
                name,
                request.status,
                request.requested_at,
                request.accepted_at,
                request.client_accepted_at if plan else None,
                min(starts) if starts else None,
            )
        )
    return result
