"""Free slots, as a pipeline of subtractions: working time − absences − busy time − bookings
(and buffers), then starts on the grid, minimum notice, horizon and daily cap.

`free_slots` is the one function that decides whether a slot is free: the slot list and the
booking call (under its lock) both use it; the database constraint backs it up.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, literal, or_, select, union_all
from sqlalchemy.orm import joinedload

from calendars.worktime import PARIS, Interval, WorkCalendar, parse_week, subtract
from .. import contract
from ..extensions import db
from ..models import ACTIVE_STATUSES, Booking, Company, Consultant, ExternalBusy, ScheduleVersion, User


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


def calendar_for(consultant: Consultant) -> WorkCalendar:
    return WorkCalendar(week=parse_week(consultant.working_pattern), holiday_region=consultant.holiday_region,
                        absences=tuple((a.start_at, a.end_at) for a in consultant.absences))


# Built once (bound parameters): constructing a statement costs more than running it.
_ACTIVE = select(Consultant).join(User).where(User.active.is_(True)).order_by(Consultant.id)
_ELIGIBLE = _ACTIVE.options(joinedload(Consultant.absences), joinedload(Consultant.user))
_ELIGIBLE_ONE = _ELIGIBLE.where(Consultant.id == bindparam("only"))
_ELIGIBLE_IDS = _ACTIVE.with_only_columns(Consultant.id, Consultant.skills)


def _skilled(skills: list[str], needed: str | None) -> bool:
    return needed is None or needed in skills


def eligible(service: contract.Service, skill: str | None = None, only: int | None = None, *,
             reread: bool = False) -> list[Consultant]:
    """Active consultants with the service's skill (any consultant when it needs none); `only` one of them.
    `reread`: refresh consultants already loaded (a booking's re-check under its locks)."""
    needed = skill or service.skill
    consultants = db.session.scalars(_ELIGIBLE if only is None else _ELIGIBLE_ONE, {"only": only},
                                     execution_options={"populate_existing": reread}).unique()
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


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


# Built once (bound parameters): constructing a statement costs more than running it.
_BUSY = union_all(
    select(Booking.consultant_id, Booking.start_at, Booking.end_at, literal(1).label("booked")).where(
        Booking.consultant_id.in_(bindparam("ids", expanding=True)), Booking.status.in_(ACTIVE_STATUSES),
        Booking.start_at < bindparam("end"), Booking.end_at > bindparam("start"), Booking.id != bindparam("exclude"),
        # a hold past its expiry frees the slot even before the job sweeps it
        or_(Booking.status != "held", Booking.hold_expires_at > bindparam("now"))),
    # imported external busy time blocks too, but counts neither towards caps nor load
    select(ExternalBusy.consultant_id, ExternalBusy.start_at, ExternalBusy.end_at, literal(0)).where(
        ExternalBusy.consultant_id.in_(bindparam("ids", expanding=True)),
        ExternalBusy.start_at < bindparam("end"), ExternalBusy.end_at > bindparam("start")),
)


def _load(consultant_ids: list[int], start: datetime, end: datetime, now: datetime,
          exclude_id: int | None) -> tuple[dict, dict, dict]:
    """Busy intervals, bookings per day and booked minutes per week."""
    busy, daily, weekly = defaultdict(list), defaultdict(lambda: defaultdict(int)), defaultdict(float)
    rows = db.session.execute(_BUSY, {"ids": consultant_ids, "start": start, "end": end, "now": now,
                                      "exclude": exclude_id or -1})
    for consultant_id, b_start, b_end, counts in rows:
        busy[consultant_id].append((b_start, b_end))
        if counts:
            local_day = b_start.astimezone(PARIS).date()
            daily[consultant_id][local_day] += 1
            weekly[(consultant_id, _monday(local_day))] += (b_end - b_start).total_seconds() / 60
    for intervals in busy.values():
        intervals.sort()
    return busy, daily, weekly


def _grid_starts(free: Interval, duration: timedelta, grid: int):
    """Starts on the local-time grid such that [start, start + duration) fits in `free`."""
    a, b = free
    local = a.astimezone(PARIS)
    since_midnight = timedelta(hours=local.hour, minutes=local.minute, seconds=local.second,
                               microseconds=local.microsecond)
    step = timedelta(minutes=grid)
    late = since_midnight % step
    start = a if not late else a + (step - late)
    while start + duration <= b:
        yield start
        start += step


def _block_slots(consultant: Consultant, calendar: WorkCalendar, ctx: _Context, start: datetime, end: datetime,
                 full_days: set[date]):
    duration = timedelta(minutes=ctx.service.duration_minutes)
    buffer = timedelta(minutes=ctx.policy.buffer_minutes)
    busy = [(a - buffer, b + buffer) for a, b in ctx.busy.get(consultant.id, [])]
    for free in subtract(calendar.intervals(start, end), busy):
        day = free[0].astimezone(PARIS).date()  # a free interval lies inside one local day
        if day not in full_days:
            yield from ((s, s + duration, day) for s in _grid_starts(free, duration, ctx.policy.grid_minutes))


def _day_slots(consultant: Consultant, calendar: WorkCalendar, ctx: _Context, start: datetime, end: datetime,
               full_days: set[date]):
    """Whole consecutive working days, each entirely free, starting at the first day's opening."""
    busy = ctx.busy.get(consultant.id, [])
    day, last = calendar.local_day(start), calendar.local_day(end)
    while day <= last:
        if not calendar.is_working_day(day) or day in full_days:
            day += timedelta(days=1)
            continue
        days, cursor = [], day
        while len(days) < ctx.service.duration_days and cursor <= last + timedelta(days=14):
            blocks = calendar.day_intervals(cursor)
            if blocks:
                if subtract(blocks, busy) != blocks:
                    break
                days.append(blocks)
            cursor += timedelta(days=1)
        if len(days) == ctx.service.duration_days and start <= days[0][0][0] and days[0][0][0] < end:
            yield days[0][0][0], days[-1][-1][1], day
        day += timedelta(days=1)


def free_slots(consultant: Consultant, ctx: _Context, start: datetime, end: datetime):
    """(start, end, local day) of every free slot of one consultant in [start, end), after notice,
    horizon and daily cap: the one rule that the slot list and the booking re-check share."""
    calendar = calendar_for(consultant)
    start = max(start, ctx.earliest)
    end = min(end, ctx.now + timedelta(days=ctx.policy.horizon_days))
    if start >= end:
        return iter(())
    cap = consultant.daily_cap
    full_days = {day for day, count in ctx.daily.get(consultant.id, {}).items() if count >= cap}
    produce = _day_slots if ctx.service.span == "days" else _block_slots
    return produce(consultant, calendar, ctx, start, end, full_days)


def _context(kind: str, consultants: list[Consultant], start: datetime, end: datetime, now: datetime,
             exclude_id: int | None) -> _Context:
    terms = contract.current()
    # whole weeks, so that "least load that week" sees the full week
    week_start = datetime.combine(_monday(start.astimezone(PARIS).date()), datetime.min.time(), PARIS)
    week_end = datetime.combine(_monday(end.astimezone(PARIS).date()) + timedelta(days=7), datetime.min.time(), PARIS)
    busy, daily, weekly = _load([c.id for c in consultants], week_start, week_end, now, exclude_id)
    return _Context(terms.service(kind), terms.policy, now, earliest(now, kind), busy, daily, weekly)


def _rank(company: Company, ctx: _Context):
    """Sort key: the company's privileged consultant first, then the least-loaded consultant that week."""
    privileged = company.privileged_consultant_id

    def key(day: date, consultant_id: int):
        return (consultant_id != privileged, ctx.weekly_minutes[(consultant_id, _monday(day))], consultant_id)

    return key


def listing(kind: str, company: Company, start: datetime, end: datetime, now: datetime, *,
            exclude_id: int | None = None, deadline: datetime | None = None) -> list[Slot]:
    """`slots` for pages and the API, cached per process under the schedule's version: any change to
    bookings, absences, busy time, consultants or users (by any process) bumps it, so an entry is
    never stale. Computed at the minute, then cut at this instant's minimum notice (holds expiring
    within that minute stay busy until the next). Booking re-checks use `slots`/`find`, uncached."""
    version = db.session.scalar(select(ScheduleVersion.value).where(ScheduleVersion.id == 1))
    minute = now.replace(second=0, microsecond=0)
    key = (version, minute, kind, company.id, company.privileged_consultant_id, start, end, exclude_id, deadline,
           id(contract.current()))
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
    if found is None:
        found = slots(kind, company, start, end, minute, exclude_id=exclude_id, deadline=deadline)
        with _cache_lock:
            _cache[key] = found
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    first = earliest(now, kind)
    return [slot for slot in found if slot.start >= first]


CACHE_SIZE = 512
_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


def slots(kind: str, company: Company, start: datetime, end: datetime, now: datetime, *,
          consultant_id: int | None = None, exclude_id: int | None = None,
          deadline: datetime | None = None, consultants: list[Consultant] | None = None) -> list[Slot]:
    """Free slots of a service in [start, end): one per start time, with its preferred consultant.
    With a callback's take-charge `deadline`, each slot says whether it is within the commitment.
    `consultants`: the eligible ones when the caller has already loaded them."""
    if consultants is None:
        consultants = eligible(contract.current().service(kind), only=consultant_id)
    if not consultants:
        return []
    ctx = _context(kind, consultants, start, end, now, exclude_id)
    key = _rank(company, ctx)
    best: dict[datetime, tuple] = {}
    for consultant in consultants:
        cid, ranks = consultant.id, {}
        for a, b, day in free_slots(consultant, ctx, start, end):
            rank = ranks.get(day) or ranks.setdefault(day, key(day, cid))
            if a not in best or rank < best[a][0]:
                best[a] = (rank, b, cid)
    chosen = [Slot(a, b, cid) for a, (_, b, cid) in sorted(best.items())]
    if deadline is not None:
        chosen = [replace(slot, within_commitment=slot.start < deadline) for slot in chosen]
    return chosen


def by_day(found: list[Slot]) -> list[tuple[date, list[Slot]]]:
    """Slots grouped by local day, in order."""
    days: dict[date, list[Slot]] = defaultdict(list)
    for slot in found:
        days[slot.start.astimezone(PARIS).date()].append(slot)
    return sorted(days.items())


def local_range(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00, day after last 00:00) in local time."""
    return (datetime.combine(first, datetime.min.time(), PARIS),
            datetime.combine(last + timedelta(days=1), datetime.min.time(), PARIS))


def find(kind: str, company: Company, start_at: datetime, now: datetime, *,
         consultant_id: int | None = None, exclude_id: int | None = None,
         consultants: list[Consultant] | None = None) -> Slot | None:
    """The slot starting exactly at `start_at` if it is free (the booking call's re-check)."""
    local_day = start_at.astimezone(PARIS).date()
    day_start, day_end = local_range(local_day, local_day)
    for slot in slots(kind, company, day_start, day_end, now, consultant_id=consultant_id, exclude_id=exclude_id,
                      consultants=consultants):
        if slot.start == start_at:
            return slot
    return None
