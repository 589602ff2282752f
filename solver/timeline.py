"""Where each item may go: working time per consultant, legal starts, and the objective's costs.

Every rule about time lives here, so that the checker, the greedy and the CP-SAT model agree.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import NamedTuple
from zoneinfo import ZoneInfo

from calendars.worktime import WorkCalendar

from .instance import Booking, Instance, PriorityJob

Item = Booking | PriorityJob


class Option(NamedTuple):
    """A position: tens of thousands are made per instance, so a tuple rather than a dataclass."""

    consultant: str
    start: datetime
    end: datetime


class Timeline:
    """The instance's business calendar, per consultant."""

    def __init__(self, instance: Instance):
        self.instance = instance
        spec = instance.calendar
        self.tz = ZoneInfo(spec.timezone)
        week = tuple(spec.hours if day in spec.weekdays else () for day in range(7))
        self.grid = spec.grid_minutes
        self.day_minutes = sum(
            (datetime.combine(date.min, b) - datetime.combine(date.min, a)).seconds // 60 for a, b in spec.hours
        )
        self.business = WorkCalendar(week=week, tz=self.tz, extra_holidays=spec.holidays, public_holidays=False)
        self.calendars = {
            c.id: WorkCalendar(
                week=week,
                tz=self.tz,
                extra_holidays=spec.holidays,
                public_holidays=False,
                absences=tuple((u.start, u.end) for u in c.unavailable),
            )
            for c in instance.consultants
        }
        self.skills = {c.id: c.skills for c in instance.consultants}
        self.freeze = instance.now + timedelta(hours=instance.policy.freeze_hours)
        self._compensation: dict[str, float] = {}
        self._notice: dict[date, int] = {}
        self._options: dict[tuple, list[Option]] = {}
        self._starts: dict[tuple, list[datetime]] = {}
        self._days: dict[tuple, list] = {}
        self._company: dict[tuple, tuple[list[tuple[datetime, datetime]], list[datetime]]] = {}
        self._company_fits: dict[tuple, bool] = {}

    # --- working time -------------------------------------------------------------------------
    @cached_property
    def _free_horizon(self) -> dict[str, list]:
        h = self.instance.horizon
        return {c: calendar.intervals(h.start, h.end) for c, calendar in self.calendars.items()}

    @cached_property
    def _lost(self) -> dict[str, list]:
        """Per consultant, the company's working time over the horizon that the consultant does not have
        (absences, external busy time), sorted: a position the company's calendar allows over the horizon is
        the consultant's unless it overlaps one. Most consultants have none, and so the company's positions."""
        h = self.instance.horizon
        company = self.business.intervals(h.start, h.end)
        lost = {}
        for c, free in self._free_horizon.items():
            found, j = [], 0
            for a, b in company:  # each free interval lies inside one of the company's
                cursor = a
                while j < len(free) and free[j][0] < b:
                    if free[j][0] > cursor:
                        found.append((cursor, free[j][0]))
                    cursor = free[j][1]
                    j += 1
                if cursor < b:
                    found.append((cursor, b))
            lost[c] = found
        return lost

    def _loses(self, consultant: str, start: datetime, end: datetime) -> bool:
        """[start, end) (inside the horizon) overlaps working time the consultant does not have."""
        lost = self._lost[consultant]
        index = bisect_left(lost, (end,))  # the last one starting before `end` is the only candidate
        return index > 0 and lost[index - 1][1] > start

    def free(self, consultant: str, start: datetime, end: datetime):
        """Working intervals of a consultant inside [start, end) (absences and external busy time removed)."""
        h = self.instance.horizon
        if start < h.start or end > h.end:
            return self.calendars[consultant].intervals(start, end)
        intervals = self._free_horizon[consultant]
        index = max(0, bisect_left(intervals, (start,)) - 1)
        found = []
        for a, b in intervals[index:]:
            if a >= end:
                break
            if b > start:
                found.append((max(a, start), min(b, end)))
        return found

    def _day(self, consultant: str | None, day: date) -> list:
        """A day's working blocks (the company's when consultant is None), computed once."""
        key = (consultant, day)
        blocks = self._days.get(key)
        if blocks is None:
            calendar = self.business if consultant is None else self.calendars[consultant]
            blocks = self._days[key] = calendar.day_intervals(day)
        return blocks

    def on_grid(self, instant: datetime) -> bool:
        local = instant.astimezone(self.tz)
        return local.second == 0 and local.microsecond == 0 and (local.hour * 60 + local.minute) % self.grid == 0

    def days_needed(self, item: Item) -> int:
        return max(1, math.ceil(item.duration_minutes / self.day_minutes))

    def _whole_days(self, consultant: str | None, first: date, count: int):
        """[opening of `first`, closing of the count-th working day) if all are whole working days
        (the consultant's; the company's when consultant is None)."""
        days: list[list] = []  # each working day's blocks
        day = first
        while len(days) < count:
            if day > first + timedelta(days=count * 3 + 7):
                return None
            blocks = self._day(None, day)
            if blocks:
                if consultant is not None and self._day(consultant, day) != blocks:  # partly absent
                    return None
                days.append(blocks)
            day += timedelta(days=1)
        return days[0][0][0], days[-1][-1][1]

    def options(self, item: Item, consultant: str, lo: datetime, hi: datetime, whole_window: bool) -> list[Option]:
        """Legal positions on one consultant: start on the grid, in working time, honouring the span;
        lo <= start, and end <= hi (bookings: inside the window) or start < hi (jobs: start inside)."""
        every, starts = self.positions(consultant, item)
        found = []
        for index in range(bisect_left(starts, lo), len(every)):  # no copy of the list's tail
            option = every[index]
            if option.start >= hi:
                break
            if not whole_window or option.end <= hi:
                found.append(option)
        return found

    def nearest(self, booking: Booking, lo: datetime) -> Nearest:
        """The booking's legal positions (start >= lo, inside its window), cheapest move first."""
        return Nearest(self, booking, lo)

    def positions(self, consultant: str, item: Item) -> tuple[list[Option], list[datetime]]:
        options = self._all_options(consultant, item.span, item.duration_minutes)
        return options, self._starts[(consultant, item.span, item.duration_minutes)]

    def _all_options(self, consultant: str, span: str, minutes: int) -> list[Option]:
        """Every legal position over the horizon, computed once per consultant, span and duration: the
        company's positions, less those overlapping working time the consultant does not have."""
        key = (consultant, span, minutes)
        found = self._options.get(key)
        if found is None:
            company, starts = self._company_positions(span, minutes)
            lost = self._lost[consultant]
            if lost:  # both sorted by start (the positions' ends grow with their starts): one sweep
                kept, j = [], 0
                for a, b in company:
                    while j < len(lost) and lost[j][1] <= a:
                        j += 1
                    if j == len(lost) or lost[j][0] >= b:
                        kept.append((a, b))
                company, starts = kept, [a for a, _ in kept]
            new = tuple.__new__  # NamedTuple's own constructor is a Python call: 10 times slower
            found = self._options[key] = [new(Option, (consultant, a, b)) for a, b in company]
            self._starts[key] = starts  # the company's own list for every consultant who lost nothing
        return found

    def _company_positions(self, span: str, minutes: int) -> tuple[list[tuple[datetime, datetime]], list[datetime]]:
        """(start, end) of every position the company's working time allows over the horizon, and their starts."""
        key = (span, minutes)
        cached = self._company.get(key)
        if cached is None:
            horizon, found = self.instance.horizon, []
            if span == "days":
                count = max(1, math.ceil(minutes / self.day_minutes))
                day = horizon.start.astimezone(self.tz).date()
                while datetime.combine(day, datetime.min.time(), self.tz) < horizon.end:
                    if self._day(None, day):
                        whole = self._whole_days(None, day, count)
                        if whole and whole[0] >= horizon.start and whole[1] <= horizon.end:
                            found.append(whole)
                    day += timedelta(days=1)
            else:
                duration, step = timedelta(minutes=minutes), timedelta(minutes=self.grid)
                for a, b in self.business.intervals(horizon.start, horizon.end):
                    local = a.astimezone(self.tz)
                    late = (
                        timedelta(
                            hours=local.hour, minutes=local.minute, seconds=local.second, microseconds=local.microsecond
                        )
                        % step
                    )
                    start = a if not late else a + (step - late)
                    while start + duration <= b:
                        found.append((start, start + duration))
                        start += step
            cached = self._company[key] = (found, [a for a, _ in found])
        return cached

    def fits(self, item: Item, option: Option) -> bool:
        """The position obeys working time and span (for the checker and the current schedule)."""
        h = self.instance.horizon
        if option.start < h.start or option.end > h.end:
            return self._fits_exactly(item, option.consultant, option.start, option.end)
        key = (item.span, item.duration_minutes, option.start, option.end)
        company = self._company_fits.get(key)
        if company is None:  # tens of thousands of bookings share a few thousand positions
            company = self._company_fits[key] = self._fits_exactly(item, None, option.start, option.end)
        return company and not self._loses(option.consultant, option.start, option.end)

    def _fits_exactly(self, item: Item, consultant: str | None, start: datetime, end: datetime) -> bool:
        """`fits`, from the calendars themselves (the company's when consultant is None)."""
        if item.span == "days":
            first = start.astimezone(self.tz).date()
            return self._whole_days(consultant, first, self.days_needed(item)) == (start, end)
        if end - start != timedelta(minutes=item.duration_minutes) or not self.on_grid(start):
            return False
        intervals = self.business.intervals(start, end) if consultant is None else self.free(consultant, start, end)
        return any(a <= start and end <= b for a, b in intervals)

    def end_of(self, item: Item, consultant: str, start: datetime) -> datetime:
        if item.span == "days":
            span = self._whole_days(consultant, start.astimezone(self.tz).date(), self.days_needed(item))
            return span[1] if span else start
        return start + timedelta(minutes=item.duration_minutes)

    # --- which bookings may move, and what a move costs ----------------------------------------
    def movable(self, booking: Booking) -> bool:
        return not booking.pinned and booking.start >= self.freeze

    def notice_days(self, booking: Booking) -> int:
        last = booking.start.astimezone(self.tz).date()
        notice = self._notice.get(last)
        if notice is None:  # one count per date: tens of thousands of bookings share a few dozen dates
            today = self.instance.now.astimezone(self.tz).date()
            notice = self._notice[last] = sum(
                1 for n in range(1, (last - today).days + 1) if self.business.is_working_day(today + timedelta(days=n))
            )
        return notice

    @cached_property
    def misplaced(self) -> frozenset[str]:
        """Bookings that no longer fit where they are (their consultant became unavailable)."""
        return frozenset(
            b.id
            for b in self.instance.bookings
            if not self.fits(b, Option(b.consultant, b.start, self.end_of(b, b.consultant, b.start)))
        )

    def compensation(self, booking: Booking) -> float:
        """EUR owed if this booking moves (0 when booked recently)."""
        cached = self._compensation.get(booking.id)
        if cached is None:
            cached = self._compensation[booking.id] = self._compute_compensation(booking)
        return cached

    def _compute_compensation(self, booking: Booking) -> float:
        policy = self.instance.policy
        if self.instance.now - booking.booked_at < timedelta(days=policy.compensated_if_booked_days_before):
            return 0.0
        notice = self.notice_days(booking)
        factor = next((f for days, f in policy.short_notice_factor if days > notice), 1.0)
        return policy.compensation_eur.get(booking.kind, 0.0) * factor

    @cached_property
    def weights(self) -> dict[str, float]:
        w = self.instance.policy.weights
        return {
            "moved": w.get("moved", 100),
            "consultant_change": w.get("consultant_change", 20),
            "displacement_hour": w.get("displacement_hour", 1),
        }

    def move_cost(self, booking: Booking, option: Option) -> float:
        """The objective's share of putting `booking` at `option` (0 where it is now)."""
        if option.consultant == booking.consultant and option.start == booking.start:
            return 0.0
        hours = abs((option.start - booking.start).total_seconds()) / 3600
        return (
            1000 * self.compensation(booking)
            + self.weights["moved"]
            + self.weights["consultant_change"] * (option.consultant != booking.consultant)
            + self.weights["displacement_hour"] * hours
        )

    def min_move_cost(self, booking: Booking) -> float:
        """No move of this booking can cost less (used for pruning and for the global bound)."""
        grid_hours = self.grid / 60
        return (
            1000 * self.compensation(booking)
            + self.weights["moved"]
            + min(self.weights["consultant_change"], self.weights["displacement_hour"] * grid_hours)
        )


class Nearest:
    """Positions in increasing move cost, produced lazily: on each consultant the cost grows with the
    distance from the booking's start, so walking outwards from it in both directions and merging the
    walks on a heap yields them in order, and a relocation that stops at the first free position
    never looks at the thousands of positions further away. What was produced is kept for reuse."""

    def __init__(self, timeline: Timeline, booking: Booking, lo: datetime):
        self.timeline, self.booking, self.lo, self.hi = timeline, booking, lo, booking.window.end
        self.produced: list[Option] = []
        self.heap: list = []
        for order, consultant in enumerate(booking.eligible):
            options, starts = timeline.positions(consultant, booking)
            middle = bisect_left(starts, booking.start)
            self._push(options, middle, 1, order)
            self._push(options, middle - 1, -1, order)

    def _push(self, options: list[Option], index: int, step: int, order: int) -> None:
        if 0 <= index < len(options):
            option = options[index]
            if option.start >= self.lo and option.end <= self.hi:
                cost = self.timeline.move_cost(self.booking, option)
                heapq.heappush(self.heap, (cost, order, index, step, option, options))

    def __iter__(self):
        index = 0
        while True:
            if index < len(self.produced):
                yield self.produced[index]
                index += 1
            elif self.heap:
                _, order, at, step, option, options = heapq.heappop(self.heap)
                self._push(options, at + step, step, order)
                self.produced.append(option)
            else:
                return


class Eviction:
    """The least a booking's move can cost when a job takes `job`: over its legal positions that
    neither overlap the job nor anything that cannot move (working time, window, freeze, pinned),
    the cheapest of its move cost plus a share of what moving the bookings already there costs.

    It is a true lower bound in every plan placing the job there. A position's occupant must move
    too, so it is charged; but several displaced bookings may land on the same occupant, so each is
    charged only its share: at most ceil(occupant's length / shortest displaced length) + 1 disjoint
    bookings can overlap it. Occupants that a job or a repair may displace themselves are already
    counted elsewhere and are charged nothing here."""

    def __init__(
        self,
        t: Timeline,
        occupancy: Occupancy,
        bookings: dict,
        fixed: set[str],
        counted: set[str],
        shortest_minutes: int,
        nearest: dict | None = None,
    ):
        self.t, self.occupancy, self.bookings = t, occupancy, bookings
        self.fixed, self.counted, self.shortest = fixed, counted, max(1, shortest_minutes)
        self.nearest: dict = {} if nearest is None else nearest  # booking id → Nearest, shareable

    def _share(self, occupant: str) -> float:
        booking = self.bookings[occupant]
        return self.t.min_move_cost(booking) / (math.ceil(booking.duration_minutes / self.shortest) + 1)

    def cost(self, booking: Booking, job: Option, leaving: set[str]) -> float:
        positions = self.nearest.get(booking.id)
        if positions is None:
            positions = self.nearest[booking.id] = self.t.nearest(booking, max(booking.window.start, self.t.freeze))
        best = math.inf
        for option in positions:
            base = self.t.move_cost(booking, option)
            if base >= best:
                break
            if option.consultant == job.consultant and option.start < job.end and job.start < option.end:
                continue
            there = [
                i
                for i in self.occupancy.overlapping(option.consultant, option.start, option.end)
                if i not in leaving and i != booking.id
            ]
            if any(i in self.fixed or i not in self.bookings for i in there):
                continue
            charge = sum(self._share(i) for i in there if i not in self.counted)
            best = min(best, base + charge)
        return best  # inf: nowhere to go, no plan places the job here


class Occupancy:
    """Busy intervals per consultant, for quick overlap tests; callers keep them disjoint."""

    def __init__(self):
        self.spans: dict[str, list[tuple[datetime, datetime, str]]] = {}

    def add(self, consultant: str, start: datetime, end: datetime, item_id: str) -> None:
        spans = self.spans.setdefault(consultant, [])
        spans.insert(bisect_left(spans, (start, end, item_id)), (start, end, item_id))

    def remove(self, consultant: str, start: datetime, end: datetime, item_id: str) -> None:
        self.spans[consultant].remove((start, end, item_id))

    def overlapping(self, consultant: str, start: datetime, end: datetime) -> list[str]:
        spans = self.spans.get(consultant, [])
        index = bisect_left(spans, (start,))
        # spans never overlap each other: only the one just before `start` can reach into [start, end)
        found = [i for a, b, i in spans[max(0, index - 1) : index] if b > start and a < end]
        for a, _b, i in spans[index:]:
            if a >= end:
                break
            found.append(i)
        return found
