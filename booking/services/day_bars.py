"""Where a span of time sits on a day's bar, in percent of the business day (the planner's week, a plan's
before/after timelines): one geometry for every timeline the planner reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from .availability import BUSINESS

if TYPE_CHECKING:
    from ..models import Booking

# The bar runs from the earliest opening to the latest closing of the business week (09:00–18:00).
OPENS = min(a for blocks in BUSINESS.week for a, _b in blocks)
CLOSES = max(b for blocks in BUSINESS.week for _a, b in blocks)
MIN_WIDTH = 0.8  # percent: a span shorter than a few minutes (or outside the hours) stays visible


@dataclass(frozen=True)
class Bar:
    kind: str  # a service kind, "absence" or "busy": the bar's colour
    left: float  # percent of the business day before the span starts
    width: float  # percent of the business day it covers
    label: str = ""
    start: datetime | None = None  # the whole span, of which the bar is one day
    end: datetime | None = None
    booking: Booking | None = None  # what the bar stands for, when a booking: a page links to it


def _percent(moment: time) -> float:
    opens, closes = (datetime.combine(date.min, t) for t in (OPENS, CLOSES))
    return (datetime.combine(date.min, moment) - opens) / (closes - opens) * 100


def day_bars(
    kind: str,
    start: datetime,
    end: datetime,
    label: str = "",
    *,
    first: date | None = None,
    last: date | None = None,
    booking: Booking | None = None,
) -> list[tuple[date, Bar]]:
    """The span [start, end) cut into one bar per local day it covers (only from `first` to `last` when given),
    each clamped to the business day; nothing on a closed weekday, nor where it lies wholly after the closing."""
    local_start, local_end = start.astimezone(BUSINESS.tz), end.astimezone(BUSINESS.tz)
    found = []
    day = max(local_start.date(), first or date.min)
    while day <= min(local_end.date(), last or date.max):
        starts_here, ends_here = day == local_start.date(), day == local_end.date()
        if ends_here and not starts_here and local_end.time() == time.min:
            break  # a span ending at midnight does not touch the day that begins then
        left = max(0.0, _percent(local_start.time())) if starts_here else 0.0
        right = min(100.0, _percent(local_end.time())) if ends_here else 100.0
        if BUSINESS.week[day.weekday()] and left < 100:  # a weekend inside a multi-day span gets no bar
            width = round(max(MIN_WIDTH, right - left), 1)
            found.append((day, Bar(kind, round(left, 1), width, label, start, end, booking)))
        day += timedelta(days=1)
    return found
