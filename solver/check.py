"""Every hard rule of FORMAT.md, checked on a plan; and the objective recomputed from the moves."""
from __future__ import annotations

from collections import defaultdict

from .instance import Instance, Plan
from .timeline import Option, Timeline


def violations(instance: Instance, plan: Plan, timeline: Timeline | None = None) -> list[str]:
    """Human-readable broken rules; empty when the plan is valid."""
    t = timeline or Timeline(instance)
    problems: list[str] = []
    horizon = instance.horizon
    items = {b.id: b for b in instance.bookings}
    jobs = {j.id: j for j in instance.priority_jobs}
    placed = {p.id: p for p in plan.placements}
    occupied = []  # (consultant, start, end, id)

    # 1. every priority job placed, inside its window, on the grid, by a consultant with the skill
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
        if not t.fits(job, Option(p.consultant, p.start, p.end)):
            problems.append(f"{job.id}: not in working time of {p.consultant} or wrong span/end")
        occupied.append((p.consultant, p.start, p.end, job.id))
    for extra in set(placed) - set(jobs):
        problems.append(f"placement {extra} is not a priority job")

    # 4. moves
    moved_ids = set()
    for move in plan.moves:
        booking = items.get(move.id)
        if booking is None:
            problems.append(f"move {move.id}: no such booking")
            continue
        moved_ids.add(move.id)
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

    # 2, 5. working time, span and horizon for everything where it ends up
    for booking in instance.bookings:
        move = next((m for m in plan.moves if m.id == booking.id), None)
        consultant = move.consultant if move else booking.consultant
        start = move.start if move else booking.start
        end = move.end if move else t.end_of(booking, consultant, start)
        if not t.fits(booking, Option(consultant, start, end)):
            problems.append(f"{booking.id}: not in working time of {consultant} or wrong span/end")
        occupied.append((consultant, start, end, booking.id))
    for consultant, start, end, item in occupied:
        if start < horizon.start or end > horizon.end:
            problems.append(f"{item}: outside the horizon")

    # 3. no two items on one consultant at once
    by_consultant = defaultdict(list)
    for consultant, start, end, item in occupied:
        by_consultant[consultant].append((start, end, item))
    for consultant, spans in by_consultant.items():
        spans.sort()
        for (a1, b1, i1), (a2, b2, i2) in zip(spans, spans[1:]):
            if a2 < b1:
                problems.append(f"{i1} and {i2} overlap on {consultant}")
    return problems


def objective(instance: Instance, plan: Plan, timeline: Timeline | None = None) -> dict[str, float]:
    """FORMAT.md's objective, from the moves."""
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
    return {"compensation_eur": round(compensation, 4), "moved": int(moved), "consultant_changes": int(changes),
            "displacement_hours": round(hours, 4), "value": round(value, 4)}
