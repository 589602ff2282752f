"""Free slots, as a pipeline of subtractions: working time − absences − busy time − bookings
(and buffers), then starts on the grid, minimum notice, horizon and daily cap.

`free_slots` is the one function that decides whether a slot is free: the slot list and the
booking call (under its locks, through `decide`) both use it; the database constraint backs it up.
When it says no, `decide` names the step that removed the start (services.reasons).
A whole-day service needs whole working days: a day with any absence is not one for it.
Block services are computed in whole minutes (calendars.minutes); each start goes to the first consultant in
rank order who has it free, so a day stops asking the team once every start has one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TypeVar

from flask import current_app
from sqlalchemy import ColumnElement, CompoundSelect, bindparam, literal, or_, select, union_all
from sqlalchemy.orm import InstrumentedAttribute, joinedload

from calendars import minutes
from calendars.worktime import PARIS, Interval, WorkCalendar, parse_week, subtract

from .. import contract
from ..date_format import format_datetime
from ..extensions import db
from ..models import (
    ACTIVE_STATUSES,
    LONGEST,
    Booking,
    Company,
    Consultant,
    ExternalBusy,
    User,
    with_status,
)
from . import snapshot
from .reasons import Reason, reason

T = TypeVar("T")

BUSINESS = WorkCalendar()  # the company's business time: notice and cut-offs are counted in it


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    consultant_id: int
    within_commitment: bool | None = None  # callbacks: starts before the take-charge deadline


@dataclass
class _Context:
    """What the pipeline needs, loaded once per request."""

    service: contract.Service
    policy: contract.BookingPolicy
    now: datetime
    earliest: datetime  # now + minimum notice, in business time
    busy: dict[int, list[Interval]]
    daily: dict[int, dict[date, int]]
    weekly_minutes: dict[tuple[int, date], float]
    imported: dict[int, list[Interval]]  # the part of `busy` that comes from imported calendars
    gate: datetime | None  # an intervention must start after it: its prerequisites gate is still ahead
    busy_minutes: dict[int, list[tuple[int, int]]]  # `busy` in whole minutes (see _floor, _ceil)


def calendar_for(consultant: Consultant) -> WorkCalendar:
    return WorkCalendar(
        week=_week(consultant.working_pattern),
        holiday_region=consultant.holiday_region,
        absences=tuple((a.start_at, a.end_at) for a in consultant.absences),
    )


_weeks: dict[str, tuple] = {}


def _week(pattern: dict) -> tuple:
    """A working pattern parsed once per process: most consultants share a handful of them."""
    key = repr(pattern)
    week = _weeks.get(key)
    if week is None:
        if len(_weeks) > 1024:
            _weeks.clear()
        week = _weeks[key] = parse_week(pattern)
    return week


# Built once (bound parameters): constructing a statement costs more than running it.
_ACTIVE = select(Consultant).join(User).where(User.active.is_(True)).order_by(Consultant.id)
_ELIGIBLE = _ACTIVE.options(joinedload(Consultant.absences), joinedload(Consultant.user))
_ELIGIBLE_ONE = _ELIGIBLE.where(Consultant.id == bindparam("only"))
_ELIGIBLE_IDS = _ACTIVE.with_only_columns(Consultant.id, Consultant.skills)


def _skilled(skills: list[str], needed: str | None) -> bool:
    return needed is None or needed in skills


def eligible(
    service: contract.Service, skill: str | None = None, only: int | None = None, *, reread: bool = False
) -> list[Consultant]:
    """Active consultants with the service's skill (any consultant when it needs none); `only` one of them.
    `reread`: refresh consultants already loaded (a booking's re-check under its locks)."""
    needed = skill or service.skill
    consultants = db.session.scalars(
        _ELIGIBLE if only is None else _ELIGIBLE_ONE, {"only": only}, execution_options={"populate_existing": reread}
    ).unique()
    return [c for c in consultants if _skilled(c.skills, needed)]


def eligible_ids(service: contract.Service) -> list[int]:
    """The ids of `eligible(service)`, without loading the consultants (a booking's lock keys)."""
    rows = db.session.execute(_ELIGIBLE_IDS)
    return [id_ for id_, skills in rows if _skilled(skills, service.skill)]


CALLBACK_PREPARATION_MINUTES = 30  # a callback follows its ticket's commitment, not the booking notice


def earliest(now: datetime, kind: str | None = None) -> datetime:
    """The first instant a booking may start: `now` plus the minimum notice (for a callback, a short
    preparation only, so that an urgent ticket's take-charge deadline can be met), in business time."""
    minutes = CALLBACK_PREPARATION_MINUTES if kind == "callback" else contract.current().policy.notice_hours * 60
    return BUSINESS.add_minutes(now, minutes)


def gate(service: contract.Service, now: datetime) -> datetime | None:
    """Starts up to this instant are past their prerequisites gate already (None: the service has no gate)."""
    hours = service.prerequisites_gate_hours
    return BUSINESS.add_minutes(now, hours * 60) if hours else None


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _busy(consultants: Callable[[InstrumentedAttribute], ColumnElement[bool]]) -> CompoundSelect:
    return union_all(
        select(Booking.consultant_id, Booking.start_at, Booking.end_at, literal(1).label("booked")).where(
            consultants(Booking.consultant_id),
            with_status(ACTIVE_STATUSES),
            Booking.start_at < bindparam("end"),
            Booking.end_at > bindparam("start"),
            Booking.start_at > bindparam("since"),  # start − LONGEST: the index range skips the consultant's past
            Booking.id != bindparam("exclude"),
            # a hold past its expiry frees the slot even before the job sweeps it
            or_(Booking.status != "held", Booking.hold_expires_at > bindparam("now")),
        ),
        # imported external busy time blocks too, but counts neither towards caps nor load
        select(ExternalBusy.consultant_id, ExternalBusy.start_at, ExternalBusy.end_at, literal(0)).where(
            consultants(ExternalBusy.consultant_id),
            ExternalBusy.start_at < bindparam("end"),
            ExternalBusy.end_at > bindparam("start"),
        ),
    )


# Built once (bound parameters): constructing a statement costs more than running it. One consultant (a
# booking's re-check) gets its own: an expanding IN is rendered again at every execution.
_BUSY = _busy(lambda column: column.in_(bindparam("ids", expanding=True)))
_BUSY_ONE = _busy(lambda column: column == bindparam("id"))


def _load(
    consultant_ids: list[int], start: datetime, end: datetime, now: datetime, exclude_id: int | None
) -> tuple[dict, dict, dict, dict, dict]:
    """Busy intervals (also in minutes), bookings per day, booked minutes per week and imported busy intervals."""
    busy: defaultdict[int, list] = defaultdict(list)
    daily: defaultdict[int, defaultdict[date, int]] = defaultdict(lambda: defaultdict(int))
    weekly: defaultdict[tuple[int, date], float] = defaultdict(float)
    imported: defaultdict[int, list] = defaultdict(list)
    in_minutes: defaultdict[int, list[tuple[int, int]]] = defaultdict(list)
    rows = db.session.execute(
        _BUSY_ONE if len(consultant_ids) == 1 else _BUSY,
        {
            "ids": consultant_ids,
            "id": consultant_ids[0] if consultant_ids else None,
            "start": start,
            "end": end,
            "since": start - LONGEST,
            "now": now,
            "exclude": exclude_id or -1,
        },
    ).all()
    weeks: dict[int, tuple[date, date]] = {}  # (local day, its Monday) by UTC hour: the zone's offsets are whole hours
    for consultant_id, b_start, b_end, counts in rows:
        busy[consultant_id].append((b_start, b_end))
        in_minutes[consultant_id].append((minutes.floor(b_start), minutes.ceil(b_end)))
        if counts:
            hour = in_minutes[consultant_id][-1][0] // 60
            if hour not in weeks:
                local_day = b_start.astimezone(PARIS).date()
                weeks[hour] = (local_day, _monday(local_day))
            local_day, monday = weeks[hour]
            daily[consultant_id][local_day] += 1
            weekly[(consultant_id, monday)] += (b_end - b_start).total_seconds() / 60
        else:
            imported[consultant_id].append((b_start, b_end))
    for intervals in busy.values():
        intervals.sort()
    return busy, daily, weekly, imported, in_minutes


def _whole_day(calendar: WorkCalendar, day: date) -> list[Interval]:
    """A day's working blocks if no absence touches them (a half-day absence leaves no whole day), else []."""
    blocks = calendar.day_intervals(day)
    if calendar.absences and blocks != replace(calendar, absences=()).day_intervals(day):
        return []
    return blocks


def _day_slots(
    consultant: Consultant, calendar: WorkCalendar, ctx: _Context, start: datetime, end: datetime, full_days: set[date]
):
    """Whole consecutive working days, each entirely free, starting at the first day's opening."""
    busy = ctx.busy.get(consultant.id, [])
    day, last = calendar.local_day(start), calendar.local_day(end)
    while day <= last:
        if not _whole_day(calendar, day) or day in full_days:
            day += timedelta(days=1)
            continue
        days: list[list] = []  # each day's working blocks
        cursor = day
        assert ctx.service.duration_days is not None  # only whole-day services come here
        while len(days) < ctx.service.duration_days and cursor <= last + timedelta(days=14):
            blocks = _whole_day(calendar, cursor)
            if blocks:
                if subtract(blocks, busy) != blocks:
                    break
                days.append(blocks)
            cursor += timedelta(days=1)
        if len(days) == ctx.service.duration_days and start <= days[0][0][0] and days[0][0][0] < end:
            yield days[0][0][0], days[-1][-1][1], day
        day += timedelta(days=1)


@dataclass(frozen=True)
class _Bounds:
    """Where starts may lie, in minutes: after notice and prerequisites gate, ending within the horizon."""

    low: int
    high: int
    length: int
    grid: int


def _window(ctx: _Context, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """[start, end) narrowed by notice, prerequisites gate and horizon."""
    start = max(start, ctx.earliest)
    if ctx.gate is not None:
        start = max(start, ctx.gate + timedelta(microseconds=1))  # at the gate itself it is checked already
    return start, min(end, ctx.now + timedelta(days=ctx.policy.horizon_days))


def _bounds(ctx: _Context, start: datetime, end: datetime) -> _Bounds:
    start, end = _window(ctx, start, end)
    return _Bounds(minutes.ceil(start), minutes.floor(end), ctx.service.duration_minutes or 0, ctx.policy.grid_minutes)


class _Person:
    """One consultant's calendar in minutes: working pattern, and the holes (absences, busy time widened by
    the buffer) merged once."""

    __slots__ = ("id", "week", "region", "holes", "full_days")

    def __init__(self, consultant: Consultant, ctx: _Context):
        self.id, self.week, self.region = consultant.id, _week(consultant.working_pattern), consultant.holiday_region
        buffer = ctx.policy.buffer_minutes
        holes = [(a - buffer, b + buffer) for a, b in ctx.busy_minutes.get(consultant.id, ())]
        holes += [(minutes.floor(a.start_at), minutes.ceil(a.end_at)) for a in consultant.absences]
        self.holes = minutes.merged(holes)
        cap = consultant.daily_cap
        self.full_days = {day for day, count in ctx.daily.get(consultant.id, {}).items() if count >= cap}

    def blocks(self, day: date) -> tuple:
        return minutes.day_blocks(self.week, self.region, day)

    def starts(self, day: date, bounds: _Bounds) -> list[tuple[int, int]]:
        """(start, end) in minutes of this consultant's free block starts on one local day."""
        if day in self.full_days:
            return []
        return minutes.free_starts(self.blocks(day), self.holes, bounds.low, bounds.high, bounds.length, bounds.grid)


def _days(start: datetime, end: datetime):
    day, last = start.astimezone(PARIS).date(), end.astimezone(PARIS).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def free_slots(consultant: Consultant, ctx: _Context, start: datetime, end: datetime):
    """(start, end, local day) of every free slot of one consultant in [start, end), after notice,
    prerequisites gate, horizon and daily cap: the one rule that the slot list and the booking re-check share.
    Block services are computed in whole minutes (`_Person.starts`), which `_choose` and `decide` call directly."""
    if ctx.service.span == "days":
        start, end = _window(ctx, start, end)
        if start >= end:
            return iter(())
        cap = consultant.daily_cap
        full_days = {day for day, count in ctx.daily.get(consultant.id, {}).items() if count >= cap}
        return _day_slots(consultant, calendar_for(consultant), ctx, start, end, full_days)
    bounds = _bounds(ctx, start, end)
    if bounds.low >= bounds.high:
        return iter(())
    person = _Person(consultant, ctx)
    return (
        (minutes.instant(a), minutes.instant(b), day)
        for day in _days(minutes.instant(bounds.low), minutes.instant(bounds.high))
        for a, b in person.starts(day, bounds)
    )


def _context(
    kind: str, consultants: list[Consultant], start: datetime, end: datetime, now: datetime, exclude_id: int | None
) -> _Context:
    terms = contract.current()
    # whole weeks, so that "least load that week" sees the full week
    week_start = datetime.combine(_monday(start.astimezone(PARIS).date()), datetime.min.time(), PARIS)
    week_end = datetime.combine(_monday(end.astimezone(PARIS).date()) + timedelta(days=7), datetime.min.time(), PARIS)
    busy, daily, weekly, imported, in_minutes = _load(
        [c.id for c in consultants], week_start, week_end, now, exclude_id
    )
    service = terms.service(kind)
    return _Context(
        service, terms.policy, now, earliest(now, kind), busy, daily, weekly, imported, gate(service, now), in_minutes
    )


def _rank(company: Company, ctx: _Context):
    """Sort key: the company's privileged consultant first, then the least-loaded consultant that week."""
    privileged = company.privileged_consultant_id

    def key(day: date, consultant_id: int):
        return (consultant_id != privileged, ctx.weekly_minutes[(consultant_id, _monday(day))], consultant_id)

    return key


def listing(
    kind: str,
    company: Company,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    exclude_id: int | None = None,
    deadline: datetime | None = None,
) -> list[Slot]:
    """`slots` for pages and the API, cached per process under the schedule's version: any change to
    bookings, absences, busy time, consultants or users (by any process) bumps it, so an entry is
    never stale. Computed at the minute, then cut at this instant's minimum notice (holds expiring
    within that minute stay busy until the next). Booking re-checks use `slots`/`find`, uncached."""
    return _listing(kind, company, start, end, now, exclude_id, deadline)[1]


def listing_shown(
    kind: str,
    company: Company,
    start: datetime,
    end: datetime,
    now: datetime,
    show: Callable[[str, list[Slot]], T],
    *,
    deadline: datetime | None = None,
) -> T:
    """`show(kind, listing(...))`, kept beside the cached listing: the API's JSON of a week of slots cost more
    than finding them in the cache. `show` must be a pure function of its arguments (a module's function: it
    is part of the key). A listing is its entry's slots from some start on, so how many are left says which."""
    key, found = _listing(kind, company, start, end, now, None, deadline)
    memo, kept = (key, len(found), show), caches().shown
    with _cache_lock:
        shown = kept.get(memo, _MISSING)
        if shown is not _MISSING:
            kept.move_to_end(memo)
            return shown
    shown = show(kind, found)
    with _cache_lock:
        kept[memo] = shown
        while len(kept) > CACHE_SIZE:
            kept.popitem(last=False)
    return shown


def _listing(
    kind: str,
    company: Company,
    start: datetime,
    end: datetime,
    now: datetime,
    exclude_id: int | None,
    deadline: datetime | None,
) -> tuple[tuple, list[Slot]]:
    """`listing` and the key of its cached entry."""
    version = snapshot.schedule_version()
    minute = now.replace(second=0, microsecond=0)
    # Slots depend on the company only through its privileged consultant (`_rank`): the companies that have
    # none, most of them, share one entry, computed once per version instead of once per company.
    key = (
        version,
        minute,
        kind,
        company.privileged_consultant_id,
        start,
        end,
        exclude_id,
        deadline,
        id(contract.current()),
    )
    listings = caches().listings
    with _cache_lock:
        found = listings.get(key)
        if found is not None:
            listings.move_to_end(key)
    if found is None:
        found = slots(kind, company, start, end, minute, exclude_id=exclude_id, deadline=deadline)
        with _cache_lock:
            listings[key] = found
            while len(listings) > CACHE_SIZE:
                listings.popitem(last=False)
    # Both cuts are lower bounds on the start: what is left is the entry's slots from some start on.
    first, closing = earliest(now, kind), gate(contract.current().service(kind), now)
    return key, [slot for slot in found if slot.start >= first and (closing is None or slot.start > closing)]


CACHE_SIZE = 512
_MISSING = object()


@dataclass
class Caches:
    listings: OrderedDict = field(default_factory=OrderedDict)
    shown: OrderedDict = field(default_factory=OrderedDict)  # listing_shown's


def caches() -> Caches:
    """This app's cached listings: kept with the app, since a version counts the changes of its database only
    (a process that runs several apps, as the tests do, would otherwise find another database's entries)."""
    return current_app.extensions.setdefault("availability_listings", Caches())


_cache_lock = threading.Lock()


def slots(
    kind: str,
    company: Company,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    consultant_id: int | None = None,
    exclude_id: int | None = None,
    deadline: datetime | None = None,
    consultants: list[Consultant] | None = None,
) -> list[Slot]:
    """Free slots of a service in [start, end): one per start time, with its preferred consultant.
    With a callback's take-charge `deadline`, each slot says whether it is within the commitment.
    `consultants`: the eligible ones when the caller has already loaded them."""
    if consultants is None:
        consultants = eligible(contract.current().service(kind), only=consultant_id)
    if not consultants:
        return []
    ctx = _context(kind, consultants, start, end, now, exclude_id)
    chosen = _choose(company, consultants, ctx, start, end)
    if deadline is not None:
        chosen = [replace(slot, within_commitment=slot.start < deadline) for slot in chosen]
    return chosen


def _choose(
    company: Company, consultants: list[Consultant], ctx: _Context, start: datetime, end: datetime
) -> list[Slot]:
    """One slot per free start time, with its preferred consultant."""
    if ctx.service.span == "days":
        return _choose_days(company, consultants, ctx, start, end)
    bounds = _bounds(ctx, start, end)
    if bounds.low >= bounds.high:
        return []
    key, people = _rank(company, ctx), [_Person(c, ctx) for c in consultants]
    best: dict[int, tuple[int, int]] = {}
    ranked: dict[date, list[_Person]] = {}
    for day in _days(minutes.instant(bounds.low), minutes.instant(bounds.high)):
        monday = _monday(day)
        if monday not in ranked:  # the rank changes with the week's load only
            ranked[monday] = sorted(people, key=lambda p: key(day, p.id))
        # Everyone in rank order, each start to the first who has it free: the preferred consultant. Once
        # every start that anyone's pattern offers that day has one, nobody further down can change a thing.
        offered = set().union(
            *(
                minutes.grid_starts(p.blocks(day), bounds.low, bounds.high, bounds.length, bounds.grid)
                for p in _patterns(people, day)
            )
        )
        found: dict[int, tuple[int, int]] = {}
        for person in ranked[monday]:
            if len(found) == len(offered):
                break
            for a, b in person.starts(day, bounds):
                if a not in found:
                    found[a] = (b, person.id)
        best.update(found)
    return [Slot(minutes.instant(a), minutes.instant(b), cid) for a, (b, cid) in sorted(best.items())]


def _patterns(people: list[_Person], day: date) -> list[_Person]:
    """One consultant per distinct (pattern, holiday region): together they offer every start anyone could."""
    distinct: dict[tuple, _Person] = {}
    for person in people:
        distinct.setdefault((person.week, person.region), person)
    return list(distinct.values())


def _choose_days(
    company: Company, consultants: list[Consultant], ctx: _Context, start: datetime, end: datetime
) -> list[Slot]:
    """Whole-day services: one slot per free start, with its preferred consultant."""
    key = _rank(company, ctx)
    best: dict[datetime, tuple] = {}
    for consultant in consultants:
        cid, ranks = consultant.id, dict[datetime, tuple]()
        for a, b, day in free_slots(consultant, ctx, start, end):
            rank = ranks.get(day) or ranks.setdefault(day, key(day, cid))
            if a not in best or rank < best[a][0]:
                best[a] = (rank, b, cid)
    return [Slot(a, b, cid) for a, (_, b, cid) in sorted(best.items())]


def by_day(found: list[Slot]) -> list[tuple[date, list[Slot]]]:
    """Slots grouped by local day, in order."""
    days: dict[date, list[Slot]] = defaultdict(list)
    for slot in found:
        days[slot.start.astimezone(PARIS).date()].append(slot)
    return sorted(days.items())


def day_reasons(kind: str, company: Company, days: list[date], now: datetime) -> dict[date, Reason]:
    """Why each of `days` may offer no slot, from the steps `decide` asks: a shared rule that removes the whole
    day (notice, prerequisites gate, horizon), a holiday or a closed day for every consultant. A day left out
    offers starts that only bookings, absences or caps remove: it is full."""
    consultants = eligible(contract.current().service(kind))
    if not consultants:
        return {day: reason("no_consultant") for day in days}
    ctx = _context(kind, consultants, *local_range(min(days), max(days)), now, None)
    calendars = [replace(calendar_for(c), absences=()) for c in consultants]
    found: dict[date, Reason] = {}
    for day in days:
        opening = sorted(block for calendar in calendars for block in calendar.day_intervals(day))
        if not opening:
            holiday = all(calendar.is_holiday(day) for calendar in calendars)
            found[day] = reason("holiday", when=local_range(day, day)[0]) if holiday else reason("closed")
            continue
        first = opening[0][0]
        last = first if ctx.service.span == "days" else max(b for _, b in opening) - _length(ctx.service)
        # the day's last start still inside notice or gate, or its first beyond the horizon: none is left
        late = [b.reason for b in _shared_blockers(ctx, last) if b.reason.code in ("notice", "gate")]
        beyond = [b.reason for b in _shared_blockers(ctx, first) if b.reason.code == "horizon"]
        if late or beyond:
            found[day] = (late + beyond)[0]
    return found


def local_range(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00, day after last 00:00) in local time."""
    return (
        datetime.combine(first, datetime.min.time(), PARIS),
        datetime.combine(last + timedelta(days=1), datetime.min.time(), PARIS),
    )


def find(
    kind: str,
    company: Company,
    start_at: datetime,
    now: datetime,
    *,
    consultant_id: int | None = None,
    exclude_id: int | None = None,
    consultants: list[Consultant] | None = None,
) -> Slot | None:
    """The slot starting exactly at `start_at` if it is free, else None (`decide` says why)."""
    outcome = decide(
        kind, company, start_at, now, consultant_id=consultant_id, exclude_id=exclude_id, consultants=consultants
    )
    return outcome if isinstance(outcome, Slot) else None


def decide(
    kind: str,
    company: Company,
    start_at: datetime,
    now: datetime,
    *,
    consultant_id: int | None = None,
    exclude_id: int | None = None,
    consultants: list[Consultant] | None = None,
) -> Slot | Reason:
    """The slot starting exactly at `start_at` if it is free, else the reason (the booking call's re-check)."""
    if consultants is None:
        consultants = eligible(contract.current().service(kind), only=consultant_id)
    if not consultants:
        return reason("no_consultant")
    local_day = start_at.astimezone(PARIS).date()
    day_start, day_end = local_range(local_day, local_day)
    ctx = _context(kind, consultants, day_start, day_end, now, exclude_id)
    return (
        _first_free(company, consultants, ctx, start_at)
        or _shared_reason(ctx, start_at)
        or _consultants_reason(consultants, ctx, start_at)
        or reason("taken")
    )


def _first_free(company: Company, consultants: list[Consultant], ctx: _Context, start_at: datetime) -> Slot | None:
    """The slot at `start_at` with the consultant `_choose` would give it: the first free one in rank order."""
    day = start_at.astimezone(PARIS).date()
    day_start, day_end = local_range(day, day)
    if ctx.service.span == "days":
        return next(
            (slot for slot in _choose_days(company, consultants, ctx, day_start, day_end) if slot.start == start_at),
            None,
        )
    bounds, minute = _bounds(ctx, day_start, day_end), minutes.floor(start_at)
    if minutes.instant(minute) != start_at:
        return None  # not a whole minute: never on the grid
    key = _rank(company, ctx)
    for consultant in sorted(consultants, key=lambda c: key(day, c.id)):
        for a, b in _Person(consultant, ctx).starts(day, bounds):
            if a == minute:
                return Slot(minutes.instant(a), minutes.instant(b), consultant.id)
    return None


# Why not: the pipeline's steps, asked one by one of a single start, in the order of services.reasons.
def _length(service: contract.Service) -> timedelta:
    return timedelta(minutes=service.duration_minutes or 0)


def _grid_neighbours(start_at: datetime, grid: int) -> tuple[datetime, datetime] | None:
    """The grid starts around `start_at` (local time), or None when it lies on the grid."""
    local = start_at.astimezone(PARIS)
    late = timedelta(minutes=local.minute % grid, seconds=local.second, microseconds=local.microsecond)
    return None if not late else (start_at - late, start_at - late + timedelta(minutes=grid))


def _on_grid_after(instant: datetime, grid: int) -> datetime:
    around = _grid_neighbours(instant, grid)
    return instant if around is None else around[1]


@dataclass(frozen=True)
class Blocker:
    """One rule that removes a start: its reason, and what it found there (an absence's, a booking's or an
    imported calendar's busy interval, widened by the buffer when `buffered`) for the troubleshooter."""

    reason: Reason
    interval: Interval | None = None
    buffered: bool = False


def _shared_blockers(ctx: _Context, start_at: datetime):
    """The steps every consultant shares, each rule that blocks: grid, notice, prerequisites gate, horizon."""
    policy, service = ctx.policy, ctx.service
    around = _grid_neighbours(start_at, policy.grid_minutes) if service.span == "block" else None
    if around:
        yield Blocker(
            reason(
                "grid",
                minutes=policy.grid_minutes,
                before=format_datetime(around[0], "HH:mm"),
                after=format_datetime(around[1], "HH:mm"),
            )
        )
    if start_at < ctx.earliest:
        callback = service.kind == "callback"
        yield Blocker(
            reason(
                "notice",
                "callback" if callback else None,
                hours=policy.notice_hours,
                minutes=CALLBACK_PREPARATION_MINUTES,
                when=_on_grid_after(ctx.earliest, policy.grid_minutes),
            )
        )
    if ctx.gate is not None and start_at <= ctx.gate:
        yield Blocker(reason("gate", hours=service.prerequisites_gate_hours, when=ctx.gate))
    limit = ctx.now + timedelta(days=policy.horizon_days)
    if start_at + _length(service) > limit:
        yield Blocker(reason("horizon", days=policy.horizon_days, when=limit))


def _shared_reason(ctx: _Context, start_at: datetime) -> Reason | None:
    """The first shared step that blocks (the booking re-check stops there)."""
    first = next(_shared_blockers(ctx, start_at), None)
    return first.reason if first else None


def _consultants_reason(consultants: list[Consultant], ctx: _Context, start_at: datetime) -> Reason | None:
    """The reason of the consultant who got furthest down the pipeline (all of them refused)."""
    found = [r for r in (_consultant_reason(c, ctx, start_at) for c in consultants) if r is not None]
    order = {"holiday": 0, "closed": 1, "absence": 2, "busy": 3, "taken": 4, "daily_cap": 5}
    return max(found, key=lambda r: order.get(r.code, -1), default=None)


def _inside(blocks: list[Interval], start: datetime, end: datetime) -> bool:
    return any(a <= start and end <= b for a, b in blocks)


def _overlaps(intervals: list[Interval], start: datetime, end: datetime) -> bool:
    return any(a < end and start < b for a, b in intervals)


def _overlapping(intervals, start: datetime, end: datetime) -> list:
    return [(a, b) for a, b in intervals if a < end and start < b]


def _consultant_reason(consultant: Consultant, ctx: _Context, start_at: datetime) -> Reason | None:
    """The first step that removes this start (the booking re-check stops at it)."""
    first = next(consultant_blockers(consultant, ctx, start_at), None)
    return first.reason if first else None


def consultant_blockers(consultant: Consultant, ctx: _Context, start_at: datetime):
    """Holiday, closed, absence, busy, taken, daily cap: every step that removes this start, in pipeline
    order, lazily: `decide` takes the first one only, the troubleshooter (`why_not`) takes them all."""
    calendar = calendar_for(consultant)
    plain, day = replace(calendar, absences=()), calendar.local_day(start_at)
    if calendar.is_holiday(day):
        yield Blocker(reason("holiday", when=start_at))
    opening = plain.day_intervals(day)
    absences = [(a.start_at, a.end_at) for a in consultant.absences]
    if ctx.service.span == "days":
        if not opening or start_at != opening[0][0]:
            yield Blocker(reason("closed", "days"))
            return  # a whole-day service has no end outside a working day's opening: nothing more to ask
        if not _whole_day(calendar, day):
            hit = _overlapping(absences, opening[0][0], opening[-1][1])
            yield Blocker(reason("absence", "days", when=start_at), hit[0] if hit else None)
        last = plain.local_day(plain.add_days(start_at, (ctx.service.duration_days or 1) - 1))
        end_at = plain.day_intervals(last)[-1][1]
    else:
        end_at = start_at + _length(ctx.service)
        closed = not _inside(opening, start_at, end_at)
        if closed:
            yield Blocker(reason("closed"))
        hits = _overlapping(absences, start_at, end_at)
        if closed or _inside(calendar.day_intervals(day), start_at, end_at):
            hits = [hit for hit in hits if _overlaps(opening, *hit)]  # only absences over working time count
        else:
            hits = hits or [None]
        for hit in hits:
            yield Blocker(reason("absence"), hit)
    buffer = timedelta(minutes=ctx.policy.buffer_minutes)
    imported = ctx.imported.get(consultant.id, [])
    for hit in _overlapping(imported, start_at - buffer, end_at + buffer):
        yield Blocker(reason("busy"), hit, buffered=not _overlaps([hit], start_at, end_at))
    booked = list(ctx.busy.get(consultant.id, []))  # busy time less the imported part: the bookings
    for interval in imported:
        booked.remove(interval)
    for hit in _overlapping(booked, start_at - buffer, end_at + buffer):
        yield Blocker(reason("taken"), hit, buffered=not _overlaps([hit], start_at, end_at))
    if ctx.daily.get(consultant.id, {}).get(day, 0) >= consultant.daily_cap:
        yield Blocker(reason("daily_cap", when=start_at))


@dataclass
class Verdict:
    """The troubleshooter's answer for one instant: shared blockers, then each consultant's own."""

    shared: list[Blocker]
    consultants: list[tuple[Consultant, list[Blocker]]]
    slot: Slot | None  # what `decide` gives: the slot if free


def why_not(
    kind: str, company: Company, start_at: datetime, now: datetime, *, consultant_id: int | None = None
) -> Verdict:
    """Every rule that blocks `start_at`, per consultant, from the same steps as `decide` (which stops at
    the first); `slot` is `decide`'s own answer, so the page and the booking never disagree."""
    consultants = eligible(contract.current().service(kind), only=consultant_id)
    outcome = decide(kind, company, start_at, now, consultants=consultants)
    if not consultants:
        assert isinstance(outcome, Reason)  # nobody to book: decide refuses
        return Verdict([Blocker(outcome)], [], None)
    local_day = start_at.astimezone(PARIS).date()
    day_start, day_end = local_range(local_day, local_day)
    ctx = _context(kind, consultants, day_start, day_end, now, None)
    shared = list(_shared_blockers(ctx, start_at))
    each = [(c, list(consultant_blockers(c, ctx, start_at))) for c in consultants]
    return Verdict(shared, each, outcome if isinstance(outcome, Slot) else None)
