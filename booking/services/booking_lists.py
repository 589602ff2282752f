"""Long lists of bookings and billing lines, filtered and sorted in SQL, one page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from calendars.worktime import PARIS

from ..models import ACTIVE_STATUSES, Booking, Consultant, LedgerEntry
from .billing import month_range
from .pages import Page, paginate

CANCELLED = ("cancelled", "late_cancelled", "expired")
WHEN = ("a-venir", "passes", "annules", "tous")  # the address's words for upcoming, past, cancelled, all
ORDERS = ("prochains", "recents")  # next first, newest first


@dataclass(frozen=True)
class Filters:
    when: str = "a-venir"
    company_id: int | None = None
    consultant_id: int | None = None
    kind: str | None = None
    order: str | None = None  # None: next first for what is ahead, newest first otherwise
    first: date | None = None  # a span of local days (the planner's "next three days")
    last: date | None = None


def _ordered(query: Select, filters: Filters) -> Select:
    order = filters.order or ("prochains" if filters.when == "a-venir" else "recents")
    if order == "prochains":
        return query.order_by(Booking.start_at, Booking.id)
    return query.order_by(Booking.start_at.desc(), Booking.id.desc())


def bookings(base: Select, filters: Filters, now: datetime, number: int | None) -> Page:
    """One page of `base` (the bookings the user may list) under these filters."""
    query = base.order_by(None).options(
        selectinload(Booking.company), selectinload(Booking.consultant).selectinload(Consultant.user)
    )
    if filters.when == "a-venir":
        query = query.where(Booking.status.in_(ACTIVE_STATUSES), Booking.end_at > now)
    elif filters.when == "passes":
        query = query.where(Booking.status.in_(ACTIVE_STATUSES), Booking.end_at <= now)
    elif filters.when == "annules":
        query = query.where(Booking.status.in_(CANCELLED))
    query = _whose(query, filters)
    if filters.first is not None:
        query = query.where(Booking.start_at >= datetime.combine(filters.first, datetime.min.time(), PARIS))
    if filters.last is not None:
        query = query.where(
            Booking.start_at < datetime.combine(filters.last + timedelta(days=1), datetime.min.time(), PARIS)
        )
    return paginate(_ordered(query, filters), number)


def _whose(query, filters: Filters):
    """The company, consultant and service filters, shared by the bookings and the billing lines."""
    if filters.company_id is not None:
        query = query.where(Booking.company_id == filters.company_id)
    if filters.consultant_id is not None:
        query = query.where(Booking.consultant_id == filters.consultant_id)
    if filters.kind:
        query = query.where(Booking.kind == filters.kind)
    return query


def billing_lines(month: date, filters: Filters, number: int | None) -> Page:
    """One page of the month's billing lines (booking, included minutes, billable minutes), all companies."""
    start, end = month_range(month)
    included, billable = -func.sum(LedgerEntry.minutes), func.sum(LedgerEntry.billable_minutes)
    query = (
        select(Booking, included, billable)
        .join(LedgerEntry, LedgerEntry.booking_id == Booking.id)
        .options(selectinload(Booking.company), selectinload(Booking.consultant).selectinload(Consultant.user))
        .where(Booking.start_at >= start, Booking.start_at < end)
        .group_by(Booking.id)
        .having((included != 0) | (billable != 0))
    )
    query = _whose(query, filters)
    order = filters.order or "recents"
    query = query.order_by(
        *((Booking.start_at, Booking.id) if order == "prochains" else (Booking.start_at.desc(), Booking.id.desc()))
    )
    return paginate(query, number, scalars=False)
