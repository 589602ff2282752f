"""Every hard rule of the format (docs/solver-format.md), one function each, checked on a plan; and the
objective recomputed from the moves."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import NamedTuple

from .instance import Instance, Move, Plan
from .timeline import Option, Timeline


class Occupied(NamedTuple):
    """Where an item ends up under a plan."""

    item: str
    consultant: str
    start: datetime
    end: datetime


def violations(instance: Instance, plan: Plan, timeline: Timeline | None = None) -> list[str]:
    """Human-readable broken rules; empty when the plan is valid."""
    t = timeline or Timeline(instance)
    occupied = final_positions(instance, plan, t)
    return (
        jobs_placed(instance, plan, t)
        + working_time(instance, plan, t, occupied)
        + no_overlap(occupied)
        + moves_allowed(instance, plan, t)
        + inside_horizon(instance, occupied)
    )


def _moves(plan: Plan) -> dict[str, Move]:
    return {m.id: m for m in plan.moves}


def final_positions(instance: Instance, plan: Plan, t: Timeline) -> list[Occupied]:
    """Every placed job and every booking where the plan leaves it (a booking not moved stays)."""
    jobs = {j.id for j in instance.priority_jobs}
    occupied = [Occupied(p.id, p.consultant, p.start, p.end) for p in plan.placements if p.id in jobs]
    moves = _moves(plan)
    for booking in instance.bookings:
        move = moves.get(booking.id)
        if move:
            occupied.append(Occupied(booking.id, move.consultant, move.start, move.end))
        else:
            occupied.append(
                Occupied(
                    booking.id, booking.consultant, booking.start, t.end_of(booking, booking.consultant, booking.start)
                )
            )
    return occupied


def jobs_placed(instance: Instance, plan: Plan, t: Timeline) -> list[str]:
    """Rule 1: every priority job is placed, starts inside its window, on the grid, for a consultant
    who has its skill (and nothing else is placed)."""
    problems = []
    placed = {p.id: p for p in plan.placements}
    for job in instance.priority_jobs:
        p = placed.get(job.id)
        if p is None:
            problems.append(f"{job.id} not placed")
            continue
        if p.consultant not in t.skills or job.skill not in t.skills[p.consultant]:
            problems.append(f"{job.id}: {p.consultant} lacks skill {job.skill!r}")
        if not (job.window.start <= p.start < job.window.end):
            problems.append(f"{job.id}: starts {p.start.isoformat()} outside its window")
        if not t.on_grid(p.start):
            problems.append(f"{job.id}: start {p.start.isoformat()} is off the grid")
    for extra in sorted(set(placed) - {j.id for j in instance.priority_jobs}):
        problems.append(f"placement {extra} is not a priority job")
    return problems


def working_time(instance: Instance, plan: Plan, t: Timeline, occupied: list[Occupied]) -> list[str]:
    """Rule 2: every booking and job occupies only working time of its consultant and honours its span."""
    items = {b.id: b for b in instance.bookings} | {j.id: j for j in instance.priority_jobs}
    problems = []
    for o in occupied:
        if o.consultant not in t.calendars:
            problems.append(f"{o.item}: no consultant {o.consultant}")
        elif not t.fits(items[o.item], Option(o.consultant, o.start, o.end)):
            problems.append(f"{o.item}: not in working time of {o.consultant} or wrong span/end")
    return problems


def no_overlap(occupied: list[Occupied]) -> list[str]:
    """Rule 3: no two items occupy the same consultant at the same instant."""
    by_consultant: defaultdict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for o in occupied:
        by_consultant[o.consultant].append((o.start, o.end, o.item))
    problems = []
    for consultant, spans in by_consultant.items():
        spans.sort()
        reach: tuple[datetime, str] | None = (
            None  # the item reaching furthest so far: it overlaps any later start before its end
        )
        for start, end, item in spans:
            if reach is not None and start < reach[0]:
                problems.append(f"{reach[1]} and {item} overlap on {consultant}")
            if reach is None or end > reach[0]:
                reach = (end, item)
    return problems


def moves_allowed(instance: Instance, plan: Plan, t: Timeline) -> list[str]:
    """Rule 4: a moved booking is not pinned, starts at or after the freeze both before and after the
    move, goes to an eligible consultant, inside its window; moves list only real changes."""
    items = {b.id: b for b in instance.bookings}
    problems = []
    for move in plan.moves:
        booking = items.get(move.id)
        if booking is None:
            problems.append(f"move {move.id}: no such booking")
            continue
        if move.from_consultant != booking.consultant or move.from_start != booking.start:
            problems.append(f"move {move.id}: 'from' does not match the instance")
        if move.consultant == booking.consultant and move.start == booking.start:
            problems.append(f"move {move.id}: neither consultant nor start changed")
        if booking.pinned:
            problems.append(f"move {move.id}: the booking is pinned")
        if booking.start < t.freeze or move.start < t.freeze:
            problems.append(f"move {move.id}: inside the freeze horizon")
        if move.consultant not in booking.eligible:
            problems.append(f"move {move.id}: {move.consultant} is not eligible")
        if move.start < booking.window.start or move.end > booking.window.end:
            problems.append(f"move {move.id}: outside the client's window")
    return problems


def inside_horizon(instance: Instance, occupied: list[Occupied]) -> list[str]:
    """Rule 5: everything lies inside the horizon."""
    horizon = instance.horizon
    return [f"{o.item}: outside the horizon" for o in occupied if o.start < horizon.start or o.end > horizon.end]


def objective(instance: Instance, plan: Plan, timeline: Timeline | None = None) -> dict[str, float]:
    """The format's objective, from the moves."""
    t = timeline or Timeline(instance)
    items = {b.id: b for b in instance.bookings}
    compensation = moved = changes = hours = 0.0
    for move in plan.moves:
        booking = items[move.id]
        compensation += t.compensation(booking)
        moved += 1
        changes += move.consultant != booking.consultant
        hours += abs((move.start - booking.start).total_seconds()) / 3600
    w = t.weights
    value = 1000 * compensation + w["moved"] * moved + w["consultant_change"] * changes + w["displacement_hour"] * hours
    return {
        "compensation_eur": round(compensation, 4),
        "moved": int(moved),
        "consultant_changes": int(changes),
        "displacement_hours": round(hours, 4),
        "value": round(value, 4),
    }
