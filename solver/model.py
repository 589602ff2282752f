"""The CP-SAT reshuffle model: exact over every booking that could move in a better plan.

1. The greedy plan is the incumbent and the model's complete hint.
2. A relaxation gives a true lower bound for the whole problem: each job picks a placement, and
   every movable booking it overlaps costs at least its cheapest possible move.
3. Cost argument: a job placement whose bound already exceeds the incumbent cannot be in a better
   plan, and a booking whose cheapest move exceeds the slack (incumbent − bound) cannot move in one.
   What remains is modelled exactly (one Boolean per item and position, NoOverlap per consultant).
   When it does not fit the size limits, the model keeps a neighbourhood and says so: then only
   the relaxation's bound is claimed, and OPTIMAL only when a plan meets that bound.
"""
from __future__ import annotations

import time
from collections import defaultdict

from ortools.sat.python import cp_model

from .greedy import booking_options, initial_state, job_options, misplaced, placement_bound, solve_greedy, to_plan
from .instance import Instance, Plan
from .timeline import Eviction, Occupancy, Option, Timeline

SCALE = 60  # objective units per value unit: displacement is counted in minutes
MAX_MOVABLE = 150
MAX_OPTIONS = 200
BUILD_SHARE = 0.4  # of the time limit, at most, spent listing positions


def _minutes(t: Timeline, instant) -> int:
    return int((instant - t.instance.horizon.start).total_seconds() // 60)


def _relaxation_bound(jobs_options: dict, evicted: dict, t: Timeline, seconds: float) -> float:
    """Lower bound: jobs choose non-overlapping placements; each booking they overlap pays at least
    its cheapest way out of the largest of them (`evicted[(job, option)]` = {booking: that cost})."""
    if len(jobs_options) == 1:  # one job: its cheapest placement
        ((job_id, options),) = jobs_options.items()
        return min(sum(evicted[(job_id, o)].values()) for o in options)
    model = cp_model.CpModel()
    pays, by_consultant = defaultdict(list), defaultdict(list)
    for job_id, options in jobs_options.items():
        chosen = []
        for o in options:
            x = model.NewBoolVar("")
            chosen.append(x)
            start, end = _minutes(t, o.start), _minutes(t, o.end)
            by_consultant[o.consultant].append(model.NewOptionalFixedSizeIntervalVar(start, end - start, x, ""))
            for booking_id, cost in evicted[(job_id, o)].items():
                pays[booking_id].append((round(cost * SCALE), x))
        model.AddExactlyOne(chosen)
    for intervals in by_consultant.values():
        model.AddNoOverlap(intervals)
    total = []
    for terms in pays.values():  # a booking overlapped by two chosen placements is paid once
        z = model.NewIntVar(0, max(c for c, _ in terms), "")
        for cost, x in terms:
            model.Add(z >= cost).OnlyEnforceIf(x)
        total.append(z)
    model.Minimize(sum(total))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 2
    status = solver.Solve(model)
    if status == cp_model.INFEASIBLE:
        return float("inf")
    return solver.BestObjectiveBound() / SCALE


class _Progress(cp_model.CpSolverSolutionCallback):
    """Reports each improving plan: elapsed seconds, its value and CP-SAT's bound (of the model)."""

    def __init__(self, report):
        super().__init__()
        self.report = report

    def on_solution_callback(self):
        self.report(self.WallTime(), self.ObjectiveValue() / SCALE, self.BestObjectiveBound() / SCALE)


def solve(instance: Instance, time_limit: float = 10.0, workers: int = 2, timeline: Timeline | None = None,
          progress=None) -> Plan:
    """The best plan found within `time_limit`; `progress(elapsed, value, bound)` hears of each improvement."""
    started = time.perf_counter()
    t = timeline or Timeline(instance)
    greedy = solve_greedy(instance, t, budget=0.3 * time_limit)
    if greedy.status == "INFEASIBLE":
        return Plan("INFEASIBLE", "cp-sat", seconds=time.perf_counter() - started, reason=greedy.reason)
    bookings = {b.id: b for b in instance.bookings}
    state = initial_state(instance, t)
    costs = {b.id: t.min_move_cost(b) for b in instance.bookings if t.movable(b)}

    # job placements that nothing fixed blocks, and the bookings each would displace
    must_move = misplaced(instance, t, state)  # repair: bookings an absence now covers
    candidates = {}
    for job in instance.priority_jobs:
        candidates[job.id] = [(o, set(state.occupancy.overlapping(o.consultant, o.start, o.end)))
                              for o in job_options(job, instance, t)
                              if placement_bound(o, state, bookings, t) is not None]
    evictable = {b for options in candidates.values() for _, ids in options for b in ids} | {b.id for b in must_move}
    eviction = Eviction(t, state.occupancy, bookings, fixed={b.id for b in instance.bookings if not t.movable(b)},
                        counted=evictable,
                        shortest_minutes=min((bookings[b].duration_minutes for b in evictable), default=15))
    jobs_options, overlapped = {}, {}
    for job in instance.priority_jobs:
        usable = []
        for option, ids in candidates[job.id]:
            costs_here = {b: eviction.cost(bookings[b], option, ids) for b in ids}
            if all(c < float("inf") for c in costs_here.values()):
                usable.append(option)
                overlapped[(job.id, option)] = costs_here
        if not usable:
            return Plan("INFEASIBLE", "cp-sat", seconds=time.perf_counter() - started,
                        reason=f"{job.id}: every placement in its window overlaps pinned or frozen bookings, "
                               "or displaces one that has nowhere else to go")
        jobs_options[job.id] = usable
    if any(not t.movable(b) for b in must_move):
        return Plan("INFEASIBLE", "cp-sat", seconds=time.perf_counter() - started,
                    reason="a pinned or frozen booking lies in time its consultant no longer works")
    bound = (_relaxation_bound(jobs_options, overlapped, t, max(0.5, time_limit / 10)) if jobs_options else 0.0) \
        + sum(costs[b.id] for b in must_move)
    incumbent = greedy.objective["value"] if greedy.status == "FEASIBLE" else float("inf")
    slack = incumbent - bound

    # cost argument: prune placements and fix bookings that cannot be part of a better plan
    for job_id, options in jobs_options.items():
        jobs_options[job_id] = [o for o in options if sum(overlapped[(job_id, o)].values()) <= incumbent + 1e-6]
    forced = {b for (j, o), ids in overlapped.items() if o in jobs_options[j] for b in ids}
    # what the bound may have counted for each booking: a position costing more than that plus the
    # slack cannot be in a better plan
    counted = defaultdict(float)
    for (j, o), ids in overlapped.items():
        for b, cost in ids.items():
            counted[b] = max(counted[b], cost)
    greedy_moved = {m.id for m in greedy.moves} | {b.id for b in misplaced(instance, t, state)}
    cascading = sorted((c, b) for b, c in costs.items() if c <= slack + 1e-6 and b not in forced | greedy_moved)
    room = max(0, MAX_MOVABLE - len(forced | greedy_moved))
    restricted = len(cascading) > room
    movable = forced | greedy_moved | {b for _, b in cascading[:room]}

    # positions: every legal one, minus what a fixed booking occupies; cheapest first
    blocked, fixed_spans = defaultdict(list), Occupancy()
    for b in instance.bookings:
        if b.id not in movable:
            where = state.where[b.id]
            blocked[where.consultant].append((where.start, where.end))
            fixed_spans.add(where.consultant, where.start, where.end, b.id)

    def free_of_fixed(o: Option) -> bool:
        return not fixed_spans.overlapping(o.consultant, o.start, o.end)

    greedy_at = {m.id: Option(m.consultant, m.start, m.end) for m in greedy.moves}
    greedy_at |= {p.id: Option(p.consultant, p.start, p.end) for p in greedy.placements}
    positions, deadline = {}, started + BUILD_SHARE * time_limit
    by_cost = sorted(movable, key=lambda b: (b not in forced | greedy_moved, costs[b]))
    for booking_id in by_cost:
        if time.perf_counter() > deadline and booking_id not in forced | greedy_moved:
            restricted = True  # out of building time: the rest stays where it is
            positions[booking_id] = [state.where[booking_id]]
            continue
        booking = bookings[booking_id]
        here = state.where[booking_id]
        stays = [here] if t.fits(booking, here) else []  # an absence may have made it impossible
        others = sorted((o for o in booking_options(booking, t) if o != here and free_of_fixed(o)),
                        key=lambda o: t.move_cost(booking, o))
        allowance = slack + max(counted[booking_id], costs[booking_id])
        useful = [o for o in others if t.move_cost(booking, o) <= allowance + 1e-6 or o == greedy_at.get(booking_id)]
        restricted |= len(useful) > MAX_OPTIONS
        kept = useful[:MAX_OPTIONS]
        if booking_id in greedy_at and greedy_at[booking_id] not in kept:
            kept.append(greedy_at[booking_id])  # the hint must stay possible
        positions[booking_id] = stays + kept
    for job_id, options in jobs_options.items():
        positions[job_id] = [o for o in options if free_of_fixed(o)]

    model = cp_model.CpModel()
    choice, by_consultant, objective = {}, defaultdict(list), []
    for item_id, options in positions.items():
        literals = []
        for o in options:
            x = model.NewBoolVar("")
            choice[(item_id, o)] = x
            literals.append(x)
            start, end = _minutes(t, o.start), _minutes(t, o.end)
            by_consultant[o.consultant].append(model.NewOptionalFixedSizeIntervalVar(start, end - start, x, ""))
            if item_id in bookings:
                cost = round(t.move_cost(bookings[item_id], o) * SCALE)
                if cost:
                    objective.append(cost * x)
        model.AddExactlyOne(literals)
    for consultant, intervals in by_consultant.items():
        for start, end in blocked[consultant]:
            intervals.append(model.NewFixedSizeIntervalVar(_minutes(t, start), _minutes(t, end) - _minutes(t, start), ""))
        model.AddNoOverlap(intervals)
    model.Minimize(sum(objective))
    if greedy.status == "FEASIBLE":  # a complete hint: CP-SAT starts from a valid plan
        for (item_id, o), x in choice.items():
            model.AddHint(x, greedy_at.get(item_id, state.where.get(item_id)) == o)
    build = time.perf_counter() - started

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, time_limit - build)
    solver.parameters.num_workers = workers
    solver.parameters.cp_model_probing_level = 0  # presolve probing ate whole time limits here (NOTES.md)
    if progress and greedy.status == "FEASIBLE":
        progress(time.perf_counter() - started, greedy.objective["value"], bound)
    callback = _Progress(lambda wall, value, _: progress(build + wall, value, bound)) if progress else None
    status = solver.Solve(model, callback)
    seconds = time.perf_counter() - started
    note = f"model: {len(movable)} movable bookings, {sum(len(p) for p in positions.values())} positions, " \
           f"built in {build:.2f} s"
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if greedy.status == "FEASIBLE":
            return _finish(greedy, bound, "FEASIBLE", seconds, f"{note}; CP-SAT found nothing better than the greedy plan")
        return Plan("INFEASIBLE" if status == cp_model.INFEASIBLE and not restricted else "UNKNOWN", "cp-sat",
                    seconds=seconds, reason=f"{note}; no plan places every priority job")
    placements = {j: next(o for o in positions[j] if solver.Value(choice[(j, o)])) for j in jobs_options}
    where = dict(state.where)
    for booking_id in movable:
        where[booking_id] = next(o for o in positions[booking_id] if solver.Value(choice[(booking_id, o)]))
    plan = to_plan(instance, t, placements, where, "FEASIBLE", "cp-sat", seconds)
    if greedy.status == "FEASIBLE" and greedy.objective["value"] < plan.objective["value"]:
        plan = greedy  # never worse than the baseline
    exact = not restricted
    best_bound = max(bound, solver.BestObjectiveBound() / SCALE if exact else bound)
    proven = (exact and status == cp_model.OPTIMAL) or plan.objective["value"] <= bound + 1e-6
    scope = "whole problem" if exact else "neighbourhood of the priority jobs; bound from the placement relaxation"
    return _finish(plan, best_bound, "OPTIMAL" if proven else "FEASIBLE", seconds, f"{note}; {scope}")


def _finish(plan: Plan, bound: float, status: str, seconds: float, reason: str) -> Plan:
    plan.status, plan.seconds, plan.reason = status, seconds, reason
    plan.solver = "cp-sat"
    plan.objective["best_bound"] = round(min(bound, plan.objective["value"]), 4)
    return plan
