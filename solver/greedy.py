"""Greedy baseline: for each priority job, try its few cheapest-looking placements; each one pushes
the bookings it overlaps to their cheapest free position; keep the cheapest complete plan."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from . import check
from .gc_pause import gc_paused
from .instance import Booking, Instance, Move, Placement, Plan, PriorityJob
from .timeline import Occupancy, Option, Timeline

TRIES = 8  # placements tried per priority job, cheapest lower bound first


@dataclass
class State:
    occupancy: Occupancy
    where: dict[str, Option]  # booking id → current position
    placements: dict[str, Option] = field(default_factory=dict)


def initial_state(instance: Instance, timeline: Timeline) -> State:
    occupancy, where = Occupancy(), {}
    for booking in instance.bookings:
        option = Option(booking.consultant, booking.start, timeline.end_of(booking, booking.consultant, booking.start))
        where[booking.id] = option
        occupancy.add(option.consultant, option.start, option.end, booking.id)
    return State(occupancy, where)


def job_options(job: PriorityJob, instance: Instance, timeline: Timeline) -> list[Option]:
    return [
        option
        for c in instance.consultants
        if job.skill in c.skills
        for option in timeline.options(job, c.id, job.window.start, job.window.end, whole_window=False)
    ]


def placement_bound(option: Option, state: State, bookings: dict[str, Booking], timeline: Timeline) -> float | None:
    """Least cost of placing a job here (every overlapped booking must move); None if something fixed is in the way."""
    total = 0.0
    for item in state.occupancy.overlapping(option.consultant, option.start, option.end):
        booking = bookings.get(item)
        if booking is None or not timeline.movable(booking):
            return None
        total += timeline.min_move_cost(booking)
    return total


def booking_options(booking: Booking, timeline: Timeline) -> list[Option]:
    lo = max(booking.window.start, timeline.freeze)
    return [
        o for c in booking.eligible for o in timeline.options(booking, c, lo, booking.window.end, whole_window=True)
    ]


CASCADE = 80  # most bookings one placement may set in motion


def _targets(booking: Booking, timeline: Timeline, cache: dict):
    options = cache.get(booking.id)
    if options is None:
        options = cache[booking.id] = timeline.nearest(booking, max(booking.window.start, timeline.freeze))
    return options


def _relocate(
    booking: Booking, state: State, bookings, timeline: Timeline, cache: dict, protected: set[str]
) -> tuple[Option, list[str]] | None:
    """The cheapest position for a displaced booking: a free one, else one whose occupants can be pushed on."""
    best = None
    for option in _targets(booking, timeline, cache):
        base = timeline.move_cost(booking, option)
        if best is not None and base >= best[0]:
            break
        in_the_way = state.occupancy.overlapping(option.consultant, option.start, option.end)
        if not in_the_way:
            return option, []
        pushed = [bookings.get(i) for i in in_the_way]
        if any(p is None or p.id in protected or not timeline.movable(p) for p in pushed):
            continue
        cost = base + sum(timeline.min_move_cost(p) for p in pushed)
        if best is None or cost < best[0]:
            best = (cost, option, in_the_way)
    return (best[1], best[2]) if best else None


def _try(job: PriorityJob, option: Option, state: State, bookings, timeline, cache) -> tuple[float, dict] | None:
    """Place the job at `option`, relocating (and cascading) what it overlaps; the state is left unchanged.
    Returns the added cost and the new position of every booking it moved."""
    occupancy, start_where = state.occupancy, dict(state.where)
    queue = [bookings[i] for i in occupancy.overlapping(option.consultant, option.start, option.end)]
    journal = []  # (add/remove, consultant, start, end, id), to undo

    def move_out(booking_id):
        w = start_where[booking_id]
        occupancy.remove(w.consultant, w.start, w.end, booking_id)
        journal.append(("removed", w.consultant, w.start, w.end, booking_id))

    for booking in queue:
        move_out(booking.id)
    occupancy.add(option.consultant, option.start, option.end, job.id)
    journal.append(("added", option.consultant, option.start, option.end, job.id))
    moved: dict[str, Option] = {}
    protected, ok = {job.id}, True
    queue.sort(key=lambda b: -b.duration_minutes)  # long ones have fewer places
    while queue:
        booking = queue.pop(0)
        found = _relocate(booking, state, bookings, timeline, cache, protected) if len(moved) < CASCADE else None
        if found is None:
            ok = False
            break
        target, pushed = found
        for pushed_id in pushed:
            move_out(pushed_id)
            queue.append(bookings[pushed_id])
        occupancy.add(target.consultant, target.start, target.end, booking.id)
        journal.append(("added", target.consultant, target.start, target.end, booking.id))
        start_where[booking.id] = target
        moved[booking.id] = target
        protected.add(booking.id)
    cost = sum(
        timeline.move_cost(bookings[i], o) - timeline.move_cost(bookings[i], state.where[i]) for i, o in moved.items()
    )
    for action, consultant, start, end, item in reversed(journal):
        (occupancy.remove if action == "added" else occupancy.add)(consultant, start, end, item)
    return (cost, moved) if ok else None


def complete(
    instance: Instance,
    t: Timeline,
    where: dict[str, Option],
    placements: dict[str, Option],
    pending: set[str],
    cache: dict,
) -> Plan | None:
    """A plan from a partial one: the jobs at `placements`, every booking at `where` but the `pending`
    ones, which go to their cheapest position, pushing movable bookings on when nothing is free (as a
    job's displaced bookings do); None when one has nowhere to go."""
    bookings = {b.id: b for b in instance.bookings}
    occupancy = Occupancy()
    for booking_id, o in where.items():
        if booking_id not in pending:
            occupancy.add(o.consultant, o.start, o.end, booking_id)
    for job_id, o in placements.items():
        occupancy.add(o.consultant, o.start, o.end, job_id)
    state = State(occupancy, dict(where), dict(placements))
    queue = sorted((bookings[i] for i in pending), key=lambda b: (-b.duration_minutes, b.id))
    protected = set(placements)
    while queue:
        booking = queue.pop(0)
        found = _relocate(booking, state, bookings, t, cache, protected) if len(protected) < CASCADE * 4 else None
        if found is None:
            return None
        target, pushed = found
        for pushed_id in pushed:
            o = state.where[pushed_id]
            occupancy.remove(o.consultant, o.start, o.end, pushed_id)
            queue.append(bookings[pushed_id])
        occupancy.add(target.consultant, target.start, target.end, booking.id)
        state.where[booking.id] = target
        protected.add(booking.id)
    return to_plan(instance, t, placements, state.where, "FEASIBLE", "cp-sat", 0.0)


def misplaced(instance: Instance, t: Timeline, state: State) -> list[Booking]:
    """Bookings of the initial state whose position no longer fits (their consultant became unavailable)."""
    return [b for b in instance.bookings if b.id in t.misplaced]


def _repair(instance: Instance, state: State, bookings, t: Timeline, cache: dict) -> bool:
    """Move every misplaced booking to its cheapest free position (cascading if needed)."""
    for booking in misplaced(instance, t, state):
        if not t.movable(booking):
            return False
        where = state.where[booking.id]
        state.occupancy.remove(where.consultant, where.start, where.end, booking.id)
        found = _relocate(booking, state, bookings, t, cache, {booking.id})
        if found is None or found[1]:  # keep repairs simple: only free positions
            state.occupancy.add(where.consultant, where.start, where.end, booking.id)
            return False
        state.occupancy.add(found[0].consultant, found[0].start, found[0].end, booking.id)
        state.where[booking.id] = found[0]
    return True


def _orders(jobs: tuple[PriorityJob, ...]):
    """Longest job first (it has the fewest places), then every other order when there are few jobs."""
    first = tuple(sorted(jobs, key=lambda j: (-j.duration_minutes, j.window.end, j.id)))
    yield first
    if len(jobs) <= 3:
        yield from (order for order in itertools.permutations(first) if order != first)


@gc_paused
def solve_greedy(
    instance: Instance,
    timeline: Timeline | None = None,
    tries: int = TRIES,
    all_orders: bool = True,
    budget: float | None = None,
) -> Plan:
    """The cheapest of the greedy plans over the orders of the priority jobs (or the first order only);
    with every order, each job also at its single cheapest-looking placement (taking the cheapest of
    `tries` for the first job can cost the next one more); past `budget` seconds no further is tried."""
    started = time.perf_counter()
    t = timeline or Timeline(instance)
    cache: dict = {}
    best = None
    orders = list(itertools.islice(_orders(instance.priority_jobs), None if all_orders else 1))
    widths = (tries, 1) if all_orders and tries > 1 else (tries,)
    variants = [(order, width) for order in orders for width in widths]
    for order, width in variants:
        if best is not None and budget is not None and time.perf_counter() - started > budget:
            break
        plan = _greedy_once(instance, t, order, width, cache)
        if plan.status == "INFEASIBLE":
            best = plan
            break
        if best is None or (
            plan.status == "FEASIBLE"
            and (best.status != "FEASIBLE" or plan.objective["value"] < best.objective["value"])
        ):
            best = plan
    assert best is not None  # the loop runs at least once: the budget is only checked once a plan exists
    best.seconds = time.perf_counter() - started
    return best


def _greedy_once(instance: Instance, t: Timeline, order, tries: int, cache: dict) -> Plan:
    started = time.perf_counter()
    bookings = {b.id: b for b in instance.bookings}
    state = initial_state(instance, t)
    if not _repair(instance, state, bookings, t, cache):
        return Plan(
            "INFEASIBLE",
            "greedy",
            seconds=time.perf_counter() - started,
            reason="a booking that no longer fits its consultant's working time has nowhere to go",
        )
    for job in order:
        options = job_options(job, instance, t)
        if not options:
            return Plan(
                "INFEASIBLE",
                "greedy",
                seconds=time.perf_counter() - started,
                reason=f"{job.id}: no consultant with skill {job.skill!r} has working time for it in its window",
            )
        scored = sorted(
            (bound, o.start, o.consultant, o)
            for o in options
            if (bound := placement_bound(o, state, bookings, t)) is not None
        )
        best = None
        for _bound, _, _, option in scored[:tries]:
            attempt = _try(job, option, state, bookings, t, cache)
            if attempt and (best is None or attempt[0] < best[0]):
                best = (attempt[0], option, attempt[1])
        if best is None:
            return Plan(
                "UNKNOWN",
                "greedy",
                seconds=time.perf_counter() - started,
                reason=f"{job.id}: the greedy found no placement whose displaced bookings could all move",
            )
        _, option, moved = best
        for booking_id in moved:
            where = state.where[booking_id]
            state.occupancy.remove(where.consultant, where.start, where.end, booking_id)
        for booking_id, target in moved.items():
            state.occupancy.add(target.consultant, target.start, target.end, booking_id)
            state.where[booking_id] = target
        state.occupancy.add(option.consultant, option.start, option.end, job.id)
        state.placements[job.id] = option
    return to_plan(instance, t, state.placements, state.where, "FEASIBLE", "greedy", time.perf_counter() - started)


def to_plan(
    instance: Instance,
    t: Timeline,
    placements: dict[str, Option],
    where: dict[str, Option],
    status: str,
    solver: str,
    seconds: float,
    reason: str = "",
) -> Plan:
    plan = Plan(status, solver, reason=reason)
    for job in instance.priority_jobs:
        o = placements[job.id]
        plan.placements.append(Placement(job.id, o.consultant, o.start, o.end))
    for booking in instance.bookings:
        o = where[booking.id]
        if o.consultant != booking.consultant or o.start != booking.start:
            plan.moves.append(
                Move(
                    booking.id,
                    booking.consultant,
                    booking.start,
                    o.consultant,
                    o.start,
                    o.end,
                    round(t.compensation(booking), 4),
                )
            )
    plan.objective = check.objective(instance, plan, t)
    plan.seconds = seconds
    return plan
