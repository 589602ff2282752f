"""Moves sent home: a plan's bookings moved though nothing covers their place go back to it, and what
took their place goes on to its cheapest position (pushing others on, as a job's displaced bookings do).

On cascade seed 4 some 10-s searches stopped 2.2 % above the best plan known with every compensated move
of that plan plus one more, made in a cascade though no job or absence covered the booking's place: the
booking that took its place had somewhere else to go for a few hundred units, the move it caused cost
120,000. The neighbourhood steps find the fix only if they happen to draw it; this finds it in a tenth of
a second, and a plan it returns is always cheaper."""

from __future__ import annotations

import time

from .greedy import State, _relocate, to_plan
from .instance import Booking, Instance, Plan
from .timeline import Occupancy, Option, Timeline

CASCADE = 40  # most bookings one homecoming may set in motion


def home_again(instance: Instance, t: Timeline, home: State, plan: Plan, walks: dict, until: float) -> Plan:
    """The plan with every move that a homecoming makes cheaper undone, one at a time, the dearest first,
    until none does or `until` (perf_counter) passes. `home`: the schedule before the plan; `walks`: each
    booking's positions cheapest first, shared with the search (see `Timeline.nearest`)."""
    bookings = {b.id: b for b in instance.bookings}
    while time.perf_counter() < until:
        better = _one_home(instance, t, home, plan, bookings, walks, until)
        if better is None:
            return plan
        plan = better
    return plan


def _one_home(instance, t: Timeline, home: State, plan: Plan, bookings, walks, until) -> Plan | None:
    jobs = {p.id: Option(p.consultant, p.start, p.end) for p in plan.placements}
    where = dict(home.where) | {m.id: Option(m.consultant, m.start, m.end) for m in plan.moves}
    occupancy = Occupancy()
    for item, o in (where | jobs).items():
        occupancy.add(o.consultant, o.start, o.end, item)
    value = plan.objective["value"]
    strays = [
        bookings[m.id]
        for m in plan.moves
        if m.id not in t.misplaced and not any(_overlap(home.where[m.id], o) for o in jobs.values())
    ]
    # those whose place is free first (a pure gain, nothing else moves), then the dearest: a cascade sent first
    # could fill a free place and leave its booking away for good
    strays.sort(key=lambda b: (_taken(occupancy, b.id, home.where[b.id]), -t.move_cost(b, where[b.id]), b.id))
    for stray in strays:
        if time.perf_counter() > until:
            return None
        moved = _send_home(stray, home.where[stray.id], State(occupancy, dict(where), jobs), bookings, t, walks, until)
        if moved is None:
            continue
        found = to_plan(instance, t, jobs, where | moved, "FEASIBLE", plan.solver, plan.seconds)
        if found.objective["value"] < value - 1e-6:
            return found
    return None


def _send_home(stray: Booking, place: Option, state: State, bookings, t: Timeline, walks, until: float) -> dict | None:
    """The new positions when `stray` goes back to `place` and what is there moves on (None: something
    there cannot move, has nowhere to go, or `until` passed). The occupancy is left as it was."""
    occupancy, journal = state.occupancy, []

    def move(item: str, to: Option | None) -> None:
        was = state.where[item]
        occupancy.remove(was.consultant, was.start, was.end, item)
        journal.append(("removed", was, item))
        if to is not None:
            occupancy.add(to.consultant, to.start, to.end, item)
            journal.append(("added", to, item))
            state.where[item] = to

    try:
        there = [i for i in occupancy.overlapping(place.consultant, place.start, place.end) if i != stray.id]
        if any(i not in bookings or not t.movable(bookings[i]) for i in there):
            return None
        for item in there:
            move(item, None)
        move(stray.id, place)
        moved = {stray.id: place}
        protected = {*state.placements, stray.id}
        queue = sorted((bookings[i] for i in there), key=lambda b: (-b.duration_minutes, b.id))
        while queue:
            if time.perf_counter() > until:
                return None
            booking = queue.pop(0)
            found = _relocate(booking, state, bookings, t, walks, protected) if len(moved) < CASCADE else None
            if found is None:
                return None
            target, pushed = found
            for item in pushed:
                move(item, None)
                queue.append(bookings[item])
            occupancy.add(target.consultant, target.start, target.end, booking.id)
            journal.append(("added", target, booking.id))
            state.where[booking.id] = moved[booking.id] = target
            protected.add(booking.id)
        return moved
    finally:
        for action, o, item in reversed(journal):
            (occupancy.remove if action == "added" else occupancy.add)(o.consultant, o.start, o.end, item)


def _taken(occupancy: Occupancy, item: str, place: Option) -> bool:
    return any(i != item for i in occupancy.overlapping(place.consultant, place.start, place.end))


def _overlap(a: Option, b: Option) -> bool:
    return a.consultant == b.consultant and a.start < b.end and b.start < a.end
