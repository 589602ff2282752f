"""Business time ("heures et jours ouvrés"): working blocks, French public holidays, absences.

Instants in and out are timezone-aware and returned in UTC; days and blocks are computed in
the calendar's local zone (Europe/Paris), so a clock change never shifts or drops a block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

UTC = UTC
PARIS = ZoneInfo("Europe/Paris")
Block = tuple[time, time]
Interval = tuple[datetime, datetime]

DEFAULT_HOURS: tuple[Block, ...] = ((time(9, 0), time(12, 30)), (time(14, 0), time(18, 0)))
DEFAULT_WEEK: tuple[tuple[Block, ...], ...] = (DEFAULT_HOURS,) * 5 + ((), ())
# Walking forward more than this many days without finding working time means the
# calendar has none (empty pattern, endless absence): fail loudly rather than loop.
MAX_SEARCH_DAYS = 3660
_DURATION = re.compile(r"^\s*(\d+)\s*([hj])\s*$")


@dataclass(frozen=True)
class BusinessDuration:
    """A duration in business hours ("h") or business days ("j")."""

    amount: int
    unit: str

    @classmethod
    def parse(cls, text: str) -> BusinessDuration:
        match = _DURATION.match(str(text))
        if not match:
            raise ValueError(f"{text!r} is not a business duration such as '4h' or '2j'")
        return cls(int(match.group(1)), match.group(2))

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


@lru_cache(maxsize=256)
def public_holidays(year: int, region: str | None = None) -> frozenset[date]:
    """French public holidays of a year; region "57" (Alsace-Moselle) adds its own."""
    return frozenset(holidays.France(years=year, subdiv=region or None))


def parse_week(pattern: Mapping[str | int, Sequence[Sequence[str]]]) -> tuple[tuple[Block, ...], ...]:
    """A weekly pattern {"0": [["09:00", "12:30"], ...], ...} (Monday = 0) as blocks per weekday."""
    week: list[tuple[Block, ...]] = [() for _ in range(7)]
    for day, blocks in pattern.items():
        parsed = tuple(sorted((time.fromisoformat(a), time.fromisoformat(b)) for a, b in blocks))
        for start, end in parsed:
            if start >= end:
                raise ValueError(f"working block {start}–{end} ends before it starts")
        week[int(day)] = parsed
    return tuple(week)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("business-time functions need timezone-aware instants")
    return instant.astimezone(UTC)


def subtract(intervals: Iterable[Interval], holes: Sequence[Interval]) -> list[Interval]:
    """Intervals minus holes; both lists of (start, end), holes may overlap each other."""
    result = []
    for start, end in intervals:
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                result.append((cursor, h_start))
            cursor = max(cursor, h_end)
            if cursor >= end:
                break
        if cursor < end:
            result.append((cursor, end))
    return result


@dataclass(frozen=True)
class WorkCalendar:
    """One person's (or the company's) working time."""

    week: tuple[tuple[Block, ...], ...] = DEFAULT_WEEK
    holiday_region: str | None = None
    absences: tuple[Interval, ...] = ()
    tz: ZoneInfo = PARIS
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    public_holidays: bool = True  # False: only `extra_holidays` (a solver instance lists its own)

    def __post_init__(self) -> None:
        cleaned = tuple(sorted((_aware(a), _aware(b)) for a, b in self.absences))
        object.__setattr__(self, "absences", cleaned)

    def is_holiday(self, day: date) -> bool:
        if day in self.extra_holidays:
            return True
        return self.public_holidays and day in public_holidays(day.year, self.holiday_region)

    def day_intervals(self, day: date) -> list[Interval]:
        """Working time of one local day, in UTC, absences removed."""
        if self.is_holiday(day):
            return []
        blocks = [
            (datetime.combine(day, a, self.tz).astimezone(UTC), datetime.combine(day, b, self.tz).astimezone(UTC))
            for a, b in self.week[day.weekday()]
        ]
        return subtract(blocks, self.absences) if self.absences else blocks

    def is_working_day(self, day: date) -> bool:
        return bool(self.day_intervals(day))

    def local_day(self, instant: datetime) -> date:
        return _aware(instant).astimezone(self.tz).date()

    def intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """Working intervals inside [start, end), in UTC."""
        start, end = _aware(start), _aware(end)
        result = []
        day, last = self.local_day(start), self.local_day(end)
        while day <= last:
            for a, b in self.day_intervals(day):
                a, b = max(a, start), min(b, end)
                if a < b:
                    result.append((a, b))
            day += timedelta(days=1)
        return result

    def _days_from(self, day: date) -> Iterable[date]:
        for offset in range(MAX_SEARCH_DAYS):
            yield day + timedelta(days=offset)
        raise ValueError("this calendar has no working time in the next ten years")

    def next_working_moment(self, instant: datetime) -> datetime:
        """The instant itself if it lies in working time (block ends included), else the next block's start."""
        instant = _aware(instant)
        for day in self._days_from(self.local_day(instant)):
            for a, b in self.day_intervals(day):
                if instant <= b:
                    return max(a, instant)
        raise AssertionError("unreachable")

    def add_minutes(self, instant: datetime, minutes: int) -> datetime:
        """The instant `minutes` of working time after `instant`."""
        if minutes < 0:
            raise ValueError("cannot add a negative business duration")
        instant = _aware(instant)
        if minutes == 0:
            return instant
        remaining = timedelta(minutes=minutes)
        for day in self._days_from(self.local_day(instant)):
            for a, b in self.day_intervals(day):
                if b <= instant:
                    continue
                a = max(a, instant)
                if remaining <= b - a:
                    return a + remaining
                remaining -= b - a
        raise AssertionError("unreachable")

    def minutes_before(self, instant: datetime, minutes: int) -> datetime:
        """The instant `minutes` of working time before `instant` (the latest such, at a block's end)."""
        if minutes < 0:
            raise ValueError("cannot subtract a negative business duration")
        instant, remaining, day = _aware(instant), timedelta(minutes=minutes), self.local_day(_aware(instant))
        for _ in range(MAX_SEARCH_DAYS):  # a calendar without working time has no answer
            for a, b in reversed(self.day_intervals(day)):
                b = min(b, instant)
                if a >= b:
                    continue
                if remaining <= b - a:
                    return b - remaining
                remaining -= b - a
            day -= timedelta(days=1)
        raise ValueError("no working time before this instant")

    def add_days(self, instant: datetime, days: int) -> datetime:
        """Same local time on the `days`-th following working day.

        An instant outside working time first moves to the next working moment, so
        "Saturday + 1 business day" is Tuesday 09:00 (Monday 09:00 + 1 day).
        """
        if days < 0:
            raise ValueError("cannot add a negative business duration")
        start = self.next_working_moment(instant)
        local = start.astimezone(self.tz)
        day = local.date()
        for _ in range(days):
            day = next(d for d in self._days_from(day + timedelta(days=1)) if self.is_working_day(d))
        target = datetime.combine(day, local.time(), self.tz).astimezone(UTC)
        return self.next_working_moment(target)

    def add(self, instant: datetime, duration: BusinessDuration) -> datetime:
        """Add a contract duration such as 4h or 2j."""
        if duration.unit == "h":
            return self.add_minutes(instant, duration.amount * 60)
        return self.add_days(instant, duration.amount)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from start to end (negative when end is earlier)."""
        if _aware(end) < _aware(start):
            return -self.between(end, start)
        return sum((b - a for a, b in self.intervals(start, end)), timedelta())
