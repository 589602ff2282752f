"""The CP-SAT reshuffle model: exact over every booking that could move in a better plan.

The steps, one function each:
1. incumbent: the greedy plan, the model's complete hint and the yardstick of the reduction;
2. bound: job placements and a placement relaxation (each job picks a placement, every booking it
   overlaps pays at least its cheapest way out), a true lower bound for the whole problem;
3. reduction: a plan better than the incumbent costs less than it, so a placement whose bound
   exceeds the incumbent, a booking whose cheapest move exceeds the slack (incumbent − bound) and a
   position costing more than the slack plus what the bound already counted for its booking cannot
   be part of one; what remains is the exact model;
4. positions: every legal position of what remains, minus what fixed bookings occupy;
5. constraints: one Boolean per item and position, at most one item at any instant of a consultant
   (as cliques, which the LP relaxation sees, unlike a NoOverlap of optional intervals);
6. extraction: the plan and its bound.
When the reduced model is too large for the time limit, the search branches on the jobs' joint
placement, cheapest bound first, and solves a small relaxation per branch (see `_Search.branches`);
between relaxations, a large-neighbourhood search improves the branches' plans (`_Search.improve`:
the bookings of a few consultant-days, or of every day a displaced booking may go to, are freed, the rest
stays put), which finds the cascades of moves the greedy completion misses. Its models give plans only:
the bound comes from the branches.
"""

from __future__ import annotations

import math
import random
import time
from bisect import bisect_right
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ortools.sat.python import cp_model

from .combos import cheapest_first
from .greedy import State, complete, initial_state, job_options, misplaced, placement_bound, solve_greedy, to_plan
from .homecoming import home_again
from .instance import Instance, Plan
from .timeline import Eviction, Occupancy, Option, Timeline

SCALE = 60  # objective units per value unit: displacement is counted in minutes
MAX_EXACT = 60_000  # positions in the exact model beyond which the search branches on the jobs' placements
NEIGHBOURHOOD_OPTIONS = 60  # cheapest positions listed at first per booking in a branch's relaxation
INCUMBENT_SHARE = 0.2  # of the time limit, at most, for the greedy's orders
WIDE = 1000  # positions listed for a booking beyond which all of them are
GAP = 1e-4  # relative gap at which a branch's relaxation stops (the target is 5e-3)
LNS_SIZE = 10  # consultant-days a neighbourhood frees at first (then adapted to the time its model takes)
LNS_OPTIONS = 20  # cheapest free positions listed per freed booking beyond those days
LNS_SECONDS = 0.3  # time limit of one neighbourhood's model
LNS_STEP = 0.15  # seconds a region step should take, building included: its size grows below, shrinks over twice
LNS_SHARE = 4  # seconds of neighbourhood search per second of branch relaxations
LNS_SEED = 17  # of the neighbourhoods' random choices
LNS_ANCHOR = 1000  # weight of a move as the start of a neighbourhood, on top of what it costs beyond the least
LNS_NOISE = 1.0  # spread (log-normal) of the cost by which a booking's possible days are ranked
LNS_NEAR = 5  # days ranked cheapest (with that noise) freed per booking a neighbourhood reaches
LNS_SPREAD = 0.3  # chance that a fixed booking on a freed day extends the neighbourhood too
LNS_WINDOW_SECONDS = 2.0  # time limit of a window step (see `_window`; building its model took 0.3 to 0.7 s)
# Teams up to this size get the neighbourhood search: there a displaced booking's cheapest way out is a chain of
# moves. On 200 consultants its steps found little and the time they took from the branches cost up to 4.6 %.
LNS_TEAM = 50
HOMECOMING_SECONDS = 0.2  # kept from the search for `homecoming.home_again`, which also has what the search left


def _minutes(t: Timeline, instant) -> int:
    return int((instant - t.instance.horizon.start).total_seconds() // 60)


def _label(item_id: str, o: Option) -> str:
    return f"{item_id}@{o.consultant}:{o.start:%m%d%H%M}"


# --- 1. incumbent -------------------------------------------------------------------------------------
def _incumbent(instance: Instance, t: Timeline, time_limit: float) -> Plan:
    return solve_greedy(instance, t, budget=INCUMBENT_SHARE * time_limit)


# --- 2. bound -----------------------------------------------------------------------------------------
@dataclass
class Placements:
    """Each job's usable placements and, per placement, the least cost of each booking it displaces."""

    options: dict[str, list[Option]]
    evicted: dict[tuple[str, Option], dict[str, float]]
    core: set[str]  # every booking some usable placement displaces, and those an absence now covers


def _placements(
    instance: Instance, t: Timeline, state, bookings: dict, must_move: list, shares: bool, walks: dict
) -> Placements | str:
    """Placements that nothing fixed blocks and whose displaced bookings can all go somewhere; a reason
    string when a job has none. With `shares`, a displaced booking landing on a booking no job
    displaces is charged a share of its move (a stronger bound); without, it is charged nothing, so
    that the bound counts only displaced bookings (what the reduction's argument needs)."""
    repaired = {b.id for b in must_move}  # paid for by the repair, not by the job
    candidates = {
        job.id: [
            (o, set(state.occupancy.overlapping(o.consultant, o.start, o.end)) - repaired)
            for o in job_options(job, instance, t)
            if placement_bound(o, state, bookings, t) is not None
        ]
        for job in instance.priority_jobs
    }
    core = {b for options in candidates.values() for _, ids in options for b in ids} | {b.id for b in must_move}
    counted = core if shares else set(bookings)
    eviction = Eviction(
        t,
        state.occupancy,
        bookings,
        fixed={b.id for b in instance.bookings if not t.movable(b)},
        counted=counted,
        shortest_minutes=min((bookings[b].duration_minutes for b in core), default=15),
        nearest=walks,
    )
    options, evicted = {}, {}
    for job in instance.priority_jobs:
        usable = []
        for option, ids in candidates[job.id]:
            costs = {b: eviction.cost(bookings[b], option, ids) for b in ids}
            if all(c < math.inf for c in costs.values()):
                usable.append(option)
                evicted[(job.id, option)] = costs
        if not usable:
            return (
                f"{job.id}: every placement in its window overlaps pinned or frozen bookings, "
                "or displaces one that has nowhere else to go"
            )
        options[job.id] = usable
    return Placements(options, evicted, core)


def _prune(placements: Placements, incumbent: float) -> None:
    """Drop placements that cannot be in a plan better than the incumbent: their own displaced bookings
    plus the cheapest placement of every other job (jobs never displace the same booking) exceed it."""
    own = {
        j: {o: sum(placements.evicted[(j, o)].values()) for o in options} for j, options in placements.options.items()
    }
    least = {j: min(costs.values()) for j, costs in own.items()}
    for j, costs in own.items():
        others = sum(v for k, v in least.items() if k != j)
        placements.options[j] = [o for o, c in costs.items() if c + others <= incumbent + 1e-6]


def _relaxation_bound(placements: Placements, t: Timeline, seconds: float, workers: int) -> float:
    """Lower bound: jobs choose non-overlapping placements; each booking they overlap pays at least
    its cheapest way out of the largest of them."""
    jobs_options, evicted = placements.options, placements.evicted
    if not jobs_options:
        return 0.0
    if len(jobs_options) == 1:  # one job: its cheapest placement
        ((job_id, options),) = jobs_options.items()
        return min((sum(evicted[(job_id, o)].values()) for o in options), default=math.inf)
    model = cp_model.CpModel()
    pays, spans = defaultdict(list), defaultdict(list)
    for job_id, options in jobs_options.items():
        chosen = []
        for o in options:
            x = model.new_bool_var(f"place[{_label(job_id, o)}]")
            chosen.append(x)
            spans[o.consultant].append((_minutes(t, o.start), _minutes(t, o.end), x))
            for booking_id, cost in evicted[(job_id, o)].items():
                pays[booking_id].append((round(cost * SCALE), x))
        model.add_exactly_one(chosen)
    _at_most_one_at_a_time(model, spans)
    total = []
    for booking_id, terms in pays.items():  # a booking overlapped by two chosen placements is paid once
        z = model.new_int_var(0, max(c for c, _ in terms), f"pays[{booking_id}]")
        for cost, x in terms:
            model.add(z >= cost).OnlyEnforceIf(x)
        total.append(z)
    model.minimize(sum(total))
    status, solver = _run(model, seconds, workers)
    if status == cp_model.INFEASIBLE:
        return math.inf
    return solver.BestObjectiveBound() / SCALE


# --- 3. reduction -------------------------------------------------------------------------------------
@dataclass
class Reduction:
    movable: set[str]  # bookings that may move in a better plan
    allowance: dict[str, float]  # booking → dearest position a better plan may give it
    cheapest: dict[str, float]  # booking → its cheapest move


def _reduction(
    instance: Instance, t: Timeline, placements: Placements, lower: float, incumbent: float, also: set[str]
) -> Reduction:
    """What a plan cheaper than `incumbent` may move, given that `lower` bounds (from below) what the
    bookings displaced by the jobs cost. `also`: bookings kept movable whatever they cost (the hint's)."""
    slack = incumbent - lower
    cheapest = {b.id: t.min_move_cost(b) for b in instance.bookings if t.movable(b)}
    counted: defaultdict[str, float] = defaultdict(float)  # the most the bound may have counted for a displaced booking
    for (j, o), costs in placements.evicted.items():
        if o in placements.options.get(j, ()):
            for b, cost in costs.items():
                counted[b] = max(counted[b], cost)
    movable = (set(counted) | placements.core | also) & set(cheapest) | {
        b for b, c in cheapest.items() if c <= slack + 1e-6
    }
    allowance = {b: slack + max(counted[b], cheapest[b]) for b in movable}
    return Reduction(movable, allowance, cheapest)


# --- 4. positions -------------------------------------------------------------------------------------
@dataclass
class Scope:
    """What one CP-SAT model covers. A model whose scope has no `elsewhere` and no `clearable` is exact:
    its solutions are plans. Otherwise it is a relaxation and only its bound is used."""

    positions: dict[str, list[Option]]  # item → explicit positions
    elsewhere: dict[str, float] = field(default_factory=dict)  # booking → least cost of an unlisted position
    clearable: dict[str, Option] = field(default_factory=dict)  # booking → where it is; may leave at its cheapest
    cheapest: dict[str, float] = field(default_factory=dict)
    costs: dict[tuple[str, Option], float] = field(default_factory=dict)  # (booking, position) → its move cost

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.positions.values())


class _Fixed:
    """Whether a position overlaps a booking that stays where it is: the state's occupancy read with the
    moving ones left out (rebuilding an occupancy of the fixed ones cost a pass over every booking)."""

    def __init__(self, state, moving: set[str]):
        self.occupancy, self.moving = state.occupancy, moving

    def overlapping(self, consultant: str, start, end) -> bool:
        return any(i not in self.moving for i in self.occupancy.overlapping(consultant, start, end))


def _positions(
    instance: Instance,
    t: Timeline,
    state,
    bookings: dict,
    placements: Placements,
    reduction: Reduction,
    hint: dict[str, Option],
    limits: dict[str, int | None],
    blocking: set[str],
    nearest=None,
    deadline: float = math.inf,
) -> Scope:
    """Each booking of `limits`: where it is (if it still fits), then its legal positions within its
    allowance, cheapest first, avoiding every booking that stays where it is (those neither in
    `limits` nor in `blocking`, which a relaxation may clear); at most `limits[b]` of them (None: all)
    and the hint's, the least cost of the others in `elsewhere`. Past the `deadline`, the remaining
    bookings get no listed move, and their cheapest move's cost as `elsewhere`."""
    fixed = _Fixed(state, set(limits) | blocking)
    scope = Scope({}, cheapest=reduction.cheapest)
    for booking_id, limit in sorted(limits.items()):
        booking, here = bookings[booking_id], state.where[booking_id]
        allowance = reduction.allowance.get(booking_id, math.inf) + 1e-6
        stays = [here] if t.fits(booking, here) else []  # an absence may have made it impossible
        kept: list[Option] = []
        if time.perf_counter() > deadline:
            scope.elsewhere[booking_id] = t.min_move_cost(booking)
            wanted = hint.get(booking_id)
            scope.positions[booking_id] = stays + (
                [wanted]
                if wanted is not None
                and wanted != here
                and not fixed.overlapping(wanted.consultant, wanted.start, wanted.end)
                else []
            )
            continue
        walk = nearest(booking) if nearest else t.nearest(booking, max(booking.window.start, t.freeze))
        for o in walk:  # cheapest first
            cost = t.move_cost(booking, o)
            if cost > allowance:
                break
            if o == here or fixed.overlapping(o.consultant, o.start, o.end):
                continue
            if limit is not None and len(kept) == limit:
                scope.elsewhere[booking_id] = cost
                break
            kept.append(o)
            scope.costs[(booking_id, o)] = cost
        wanted = hint.get(booking_id)
        if (
            wanted is not None
            and wanted not in kept
            and wanted != here
            and not fixed.overlapping(wanted.consultant, wanted.start, wanted.end)
        ):
            kept.append(wanted)  # the hint must stay possible (unless what it moved away must now stay)
        scope.positions[booking_id] = stays + kept
    for job_id, options in placements.options.items():
        scope.positions[job_id] = [o for o in options if not fixed.overlapping(o.consultant, o.start, o.end)]
    for booking_id in blocking:
        scope.clearable[booking_id] = state.where[booking_id]
    return scope


# --- 5. constraints -----------------------------------------------------------------------------------
def _at_most_one_at_a_time(model: cp_model.CpModel, spans: dict) -> None:
    """No two chosen positions of a consultant overlap: for each instant where a position starts, at
    most one of the positions covering it (two intervals overlap iff one covers the other's start)."""
    for items in spans.values():
        items.sort(key=lambda s: s[0])
        active: list = []
        for index, (start, end, literal) in enumerate(items):
            active = [a for a in active if a[1] > start]
            active.append((start, end, literal))
            if index + 1 < len(items) and items[index + 1][0] == start:
                continue  # the clique at this start is complete only after its last interval
            if len(active) > 1:
                model.add_at_most_one([a[2] for a in active])


@dataclass
class Built:
    model: cp_model.CpModel
    choice: dict[tuple[str, Option], cp_model.IntVar]
    away: dict[str, cp_model.IntVar]  # relaxation: booking gone to an unlisted position
    cleared: dict[str, cp_model.IntVar]  # relaxation: booking pushed out of its place


def _constraints(t: Timeline, bookings: dict, scope: Scope, hint: dict[str, Option] | None) -> Built:
    model = cp_model.CpModel()
    built = Built(model, {}, {}, {})
    spans: defaultdict = defaultdict(list)
    objective: list[tuple[int, int]] = []  # (variable's index, coefficient)
    minutes: dict[datetime, int] = {}  # instants repeat across items: each is converted once
    clearing = Occupancy()  # where the clearable bookings are
    for booking_id, o in scope.clearable.items():
        clearing.add(o.consultant, o.start, o.end, booking_id)

    def cleared(booking_id: str) -> cp_model.IntVar:
        """Made for the clearable bookings that some listed position overlaps: the others never clear."""
        y = built.cleared.get(booking_id)
        if y is None:
            y = built.cleared[booking_id] = model.new_bool_var(f"cleared[{booking_id}]")
            objective.append((y.index, round(scope.cheapest[booking_id] * SCALE)))
        return y

    def at(instant: datetime) -> int:
        found = minutes.get(instant)
        if found is None:
            found = minutes[instant] = _minutes(t, instant)
        return found

    for item_id, options in scope.positions.items():
        literals = []
        for k, o in enumerate(options):  # the name says which: item, consultant, start (index in the list)
            x = built.choice[(item_id, o)] = model.new_bool_var(f"at[{item_id}#{k}@{o.consultant}]")
            literals.append(x)
            spans[o.consultant].append((at(o.start), at(o.end), x))
            for booking_id in clearing.overlapping(o.consultant, o.start, o.end) if scope.clearable else ():
                model.add_implication(x, cleared(booking_id))
            if item_id in bookings:
                cost = scope.costs.get((item_id, o))
                cost = round((t.move_cost(bookings[item_id], o) if cost is None else cost) * SCALE)
                if cost:
                    objective.append((x.index, cost))
        if item_id in scope.elsewhere:
            away = built.away[item_id] = model.new_bool_var(f"elsewhere[{item_id}]")
            literals.append(away)
            objective.append((away.index, round(scope.elsewhere[item_id] * SCALE)))
        model.add_exactly_one(literals)
    _at_most_one_at_a_time(model, spans)
    # minimised, written into the proto at once: a sum of LinearExpr terms was a fifth of building the model
    model.Proto().objective.vars.extend(i for i, _ in objective)
    model.Proto().objective.coeffs.extend(c for _, c in objective)
    if hint:  # a complete hint, written into the proto at once (AddHint per literal is slow in Python)
        chosen = [(x.index, int(hint.get(item_id) == o)) for (item_id, o), x in built.choice.items()]
        model.Proto().solution_hint.vars.extend(i for i, _ in chosen)
        model.Proto().solution_hint.values.extend(v for _, v in chosen)
    return built


def _run(model: cp_model.CpModel, seconds: float, workers: int, callback=None, gap: float = 0.0):
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, seconds)
    solver.parameters.num_workers = workers
    solver.parameters.cp_model_probing_level = 0  # presolve probing ate whole time limits here
    solver.parameters.relative_gap_limit = gap
    return solver.Solve(model, callback), solver


def _run_neighbourhood(model: cp_model.CpModel, seconds: float, presolve: bool = False):
    """A neighbourhood's model: a few dozen bookings to place, with a complete hint. On cascade seed 4's
    steps, one worker with the LP's cuts (linearization 2) and no presolve solved all 32 models in 0.01 to
    0.2 s; two default workers left 11 unfinished at 1 s (the LP without cuts barely moved the bound).
    `presolve` for a window step's model (4,000 to 8,000 literals): it halved their time (3.9 s to 2.3 s
    over five of them, the largest 1.7 s to 0.8 s), where it made the small ones slower (4.6 s to 5.7 s)."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, seconds)
    solver.parameters.num_workers = 1
    solver.parameters.linearization_level = 2
    solver.parameters.cp_model_presolve = presolve
    solver.parameters.cp_model_probing_level = 0  # probing ate whole time limits (see `_run`)
    return solver.Solve(model), solver


class _Progress(cp_model.CpSolverSolutionCallback):
    """Reports each improving plan: elapsed seconds and its value."""

    def __init__(self, report):
        super().__init__()
        self.report = report

    def on_solution_callback(self):
        self.report(self.WallTime(), self.ObjectiveValue() / SCALE)


# --- 6. extraction ------------------------------------------------------------------------------------
def _extract(instance: Instance, t: Timeline, state, built: Built, scope: Scope, solver, seconds: float) -> Plan:
    chosen = {
        item: next(o for o in options if solver.Value(built.choice[(item, o)]))
        for item, options in scope.positions.items()
    }
    jobs = {j.id for j in instance.priority_jobs}
    where = dict(state.where) | {i: o for i, o in chosen.items() if i not in jobs}
    return to_plan(instance, t, {j: chosen[j] for j in jobs}, where, "FEASIBLE", "cp-sat", seconds)


def _finish(plan: Plan, bound: float, status: str, seconds: float, reason: str) -> Plan:
    plan.status, plan.seconds, plan.reason = status, seconds, reason
    plan.solver = "cp-sat"
    plan.objective["best_bound"] = round(min(bound, plan.objective["value"]), 4)
    return plan


def _hint(plan: Plan, state) -> dict[str, Option]:
    hint = dict(state.where)
    hint |= {m.id: Option(m.consultant, m.start, m.end) for m in plan.moves}
    hint |= _placed(plan)
    return hint


def _placed(plan: Plan) -> dict[str, Option]:
    """Where a plan puts each job."""
    return {p.id: Option(p.consultant, p.start, p.end) for p in plan.placements}


def solve(
    instance: Instance,
    time_limit: float = 10.0,
    workers: int = 2,
    timeline: Timeline | None = None,
    progress=None,
    max_exact: int = MAX_EXACT,
    listed: int = NEIGHBOURHOOD_OPTIONS,
) -> Plan:
    """The best plan found within `time_limit`; `progress(elapsed, value, bound)` hears of each improvement.
    `max_exact`: positions beyond which the reduced model is refined in rounds rather than solved at once;
    `listed`: positions listed at first per booking in those rounds."""
    started = time.perf_counter()
    # the search's time: the last HOMECOMING_SECONDS are the homecoming's (its sends home, 0.1-0.3 s on cascade seed 4)
    left = lambda: time_limit - HOMECOMING_SECONDS - (time.perf_counter() - started)  # noqa: E731
    t = timeline or Timeline(instance)
    greedy = _incumbent(instance, t, time_limit)
    if greedy.status == "INFEASIBLE":
        return Plan("INFEASIBLE", "cp-sat", seconds=time.perf_counter() - started, reason=greedy.reason)
    bookings = {b.id: b for b in instance.bookings}
    state = initial_state(instance, t)
    must_move = misplaced(instance, t, state)  # repair: bookings an absence now covers
    if any(not t.movable(b) for b in must_move):
        return Plan(
            "INFEASIBLE",
            "cp-sat",
            seconds=time.perf_counter() - started,
            reason="a pinned or frozen booking lies in time its consultant no longer works",
        )
    walks: dict = {}  # each booking's positions cheapest first, produced once and shared
    strong = _placements(instance, t, state, bookings, must_move, True, walks)
    if isinstance(strong, str):
        return Plan("INFEASIBLE", "cp-sat", seconds=time.perf_counter() - started, reason=strong)
    plain = _placements(instance, t, state, bookings, must_move, False, walks)
    repair = sum(t.min_move_cost(b) for b in must_move)
    search = _Search(instance, t, state, bookings, plain, greedy, workers, started, progress, listed, walks)
    # without sharing a booking's place is looser than with: strong found placements, so plain finds some too
    assert not isinstance(plain, str)
    for placements in (strong, plain):
        _prune(placements, search.incumbent)
    # small models, solved to optimality in milliseconds on an idle machine; the limit is for a busy one
    search.bound = _relaxation_bound(strong, t, max(1.0, time_limit / 10), workers) + repair
    search.lower = _relaxation_bound(plain, t, max(1.0, time_limit / 10), workers) + repair
    search.report()
    if search.incumbent < math.inf and _estimate(t, bookings, search.reduction(), max_exact) <= max_exact:
        search.exact(left() - 0.1)
    else:
        with ThreadPoolExecutor(1, thread_name_prefix="window-step") as pool:
            search.branches(strong, left, pool)
    best = search.best
    if best.status == "FEASIBLE":  # the last tenths: undo the moves a homecoming makes cheaper
        best = home_again(instance, t, state, best, walks, started + time_limit - 0.05)
        search.offer(best)  # `progress` hears of it
    seconds = time.perf_counter() - started
    if best.status not in ("FEASIBLE", "OPTIMAL"):
        return Plan("UNKNOWN", "cp-sat", seconds=seconds, reason=f"{search.note}; no plan places every priority job")
    proven = search.proven or best.objective["value"] <= search.bound + 1e-6
    return _finish(best, search.bound, "OPTIMAL" if proven else "FEASIBLE", seconds, search.note)


class _Search:
    """The incumbent, the bound, and the models that improve them."""

    def __init__(self, instance, t, state, bookings, placements, greedy, workers, started, progress, listed, walks):
        self.instance, self.t, self.state, self.bookings = instance, t, state, bookings
        self.placements, self.best, self.workers = placements, greedy, workers
        self.started, self.progress, self.listed = started, progress, listed
        self.bound = self.lower = 0.0
        self.proven, self.note = False, ""
        self.must_move = {b.id for b in misplaced(instance, t, state)}
        self.opened = 0
        self._walks: dict = walks
        self.repair = sum(t.min_move_cost(bookings[b]) for b in self.must_move)
        self.cheapest = {b.id: t.min_move_cost(b) for b in instance.bookings if t.movable(b)}
        self._by_cost = sorted(self.cheapest, key=self.cheapest.__getitem__)
        self._costs = [self.cheapest[b] for b in self._by_cost]
        self.by_consultant = defaultdict(list)
        for b, o in state.where.items():
            self.by_consultant[o.consultant].append(b)
        self.rng = random.Random(LNS_SEED)
        self.lns_size: float = LNS_SIZE
        self.lns_steps = 0
        self._lns_reduction: Reduction | None = None
        self._lns_incumbent = math.inf
        self._lns_read: tuple | None = None
        self._first_day = t.freeze.astimezone(t.tz).date()
        self._relaxing = self._improving = 0.0  # seconds in branch relaxations, in neighbourhood search
        self._windows_tried: set[tuple[float, str]] = set()  # (plan's value, booking) of the window steps taken
        self._window_tries: Counter[str] = Counter()  # booking → window steps taken for it, on any plan
        self._pending: tuple | None = None  # the window step being solved: (branch, step, future, drawn)
        self._widen: str | None = None  # the booking whose window is to be tried again, widened (at the next draw)
        self.drawn: tuple[float, str, bool] = (math.nan, "", False)  # the last window: plan's value, booking, widened
        self._day_positions: dict[tuple[str, tuple[str, date]], list[tuple[Option, float]]] = {}
        self.window_steps = 0

    def nearest(self, booking):
        """A booking's positions cheapest first, kept across rounds (each is produced once)."""
        walk = self._walks.get(booking.id)
        if walk is None:
            walk = self._walks[booking.id] = self.t.nearest(booking, max(booking.window.start, self.t.freeze))
        return walk

    @property
    def incumbent(self) -> float:
        return self.best.objective.get("value", math.inf) if self.best.status == "FEASIBLE" else math.inf

    def hint(self) -> dict[str, Option]:
        return _hint(self.best, self.state) if self.best.status == "FEASIBLE" else {}

    def reduction(self) -> Reduction:
        also = {m.id for m in self.best.moves} | self.must_move
        return _reduction(self.instance, self.t, self.placements, self.lower, self.incumbent, also)

    def report(self) -> None:
        if self.progress and self.incumbent < math.inf:
            self.progress(time.perf_counter() - self.started, self.incumbent, self.bound)

    def _offer(self, branch: _Branch, plan: Plan) -> None:
        branch.hint = _hint(plan, self.state)
        value = plan.objective["value"]
        branch.value = min(branch.value, value)
        if branch.plan is None or value < branch.plan.objective["value"]:
            branch.plan = plan
        self.offer(plan)

    def offer(self, plan: Plan) -> None:
        if plan.objective["value"] < self.incumbent - 1e-6:
            self.best = plan
            self.report()

    def _solve(self, scope: Scope, until: float, hint: dict | None, plans: bool, gap: float = 0.0):
        """Build and solve; `until`: the instant (perf_counter) by which it must be done."""
        built = _constraints(self.t, self.bookings, scope, hint)
        seconds = until - time.perf_counter()
        if seconds < 0.05:
            return built, cp_model.UNKNOWN, None
        callback = (
            _Progress(lambda wall, value: self.progress(time.perf_counter() - self.started, value, self.bound))
            if plans and self.progress
            else None
        )
        status, solver = _run(built.model, seconds, self.workers, callback, gap)
        return built, status, solver

    def exact(self, seconds: float) -> None:
        """Every plan better than the incumbent is in the reduced model: its optimum is the optimum."""
        incumbent, reduction = self.incumbent, self.reduction()
        scope = _positions(
            self.instance,
            self.t,
            self.state,
            self.bookings,
            self.placements,
            reduction,
            self.hint(),
            dict.fromkeys(reduction.movable),
            set(),
        )
        built, status, solver = self._solve(scope, time.perf_counter() + seconds, self.hint(), True)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.offer(_extract(self.instance, self.t, self.state, built, scope, solver, 0.0))
            self.bound = max(self.bound, min(incumbent, solver.BestObjectiveBound() / SCALE))
            self.proven = status == cp_model.OPTIMAL
        elif status == cp_model.INFEASIBLE:  # nothing better than the incumbent exists
            self.bound = max(self.bound, incumbent)
            self.proven = self.best.status == "FEASIBLE"
        self.note = f"exact model: {len(reduction.movable)} movable bookings, {scope.size} positions"

    def branches(self, strong: Placements, left, pool: ThreadPoolExecutor) -> None:
        """Branch on the jobs' joint placement, cheapest bound first. Fixing it leaves small models: the
        bookings it displaces must move, any other booking may move only if its cheapest move fits in the
        slack of that placement, so the relaxation (listed positions, `elsewhere`, `clearable`) of each
        branch is solved in a fraction of a second; its solution, completed greedily, is a plan, and its
        bound holds for the branch. The whole problem's bound is the least over the open branches and the
        next unopened one. Relaxations stop within GAP of their optimum; a branch whose relaxation is
        then a plan is settled, and proven exactly only when time is left over. After each relaxation,
        large-neighbourhood steps improve the branches' plans (`_search_around`, window steps solved on
        `pool`); they never touch a bound."""
        shared = defaultdict(set)  # booking → the jobs that may displace it
        for (job_id, _), costs in strong.evicted.items():
            for b in costs:
                shared[b].add(job_id)
        keyed = {
            j: [(sum(c / len(shared[b]) for b, c in strong.evicted[(j, o)].items()), o) for o in options]
            for j, options in strong.options.items()
        }
        walk = cheapest_first(keyed, _apart)
        upcoming = next(walk, None)
        branches: list[_Branch] = []
        rounds = 0
        while left() > 0.3:
            branches = [b for b in branches if not b.closed and b.bound < self.incumbent - 1e-6]
            frontier = upcoming[0] + self.repair if upcoming else math.inf
            self.bound = max(self.bound, min([self.incumbent, frontier] + [b.bound for b in branches]))
            if min([frontier] + [b.bound for b in branches]) >= self.incumbent - 1e-6:
                self.proven = self.incumbent < math.inf
                break
            unsettled = [b for b in branches if not b.settled]
            branch = min(unsettled or branches, key=lambda b: b.bound, default=None)
            rounds += 1
            promising = [b for b in unsettled if b.value < math.inf]
            if rounds % 2 == 0 and promising:  # every other round deepens the branch of the best plan
                branch = min(promising, key=lambda b: b.value)
            elif upcoming is not None and (branch is None or not unsettled or frontier <= branch.bound):
                combo = upcoming[1]
                branch = _Branch(
                    combo,
                    self._branch_bound(strong, combo),
                    dict.fromkeys(self._displaced(strong, combo) | self.must_move, self.listed),
                )
                if self.best.status == "FEASIBLE":
                    # the incumbent's own placement: its plan is where the neighbourhood search starts in this
                    # branch; its `value` (which orders the relaxations) comes from plans found in it only
                    placed = _placed(self.best)
                    if all(placed.get(j) == o for j, o in combo.items()):
                        branch.plan = self.best
                branches.append(branch)
                upcoming = next(walk, None)
                self.opened += 1
            elif not unsettled and branch is not None:
                branch.gap = 0.0  # every branch is within GAP: the time left goes to exact proofs
            if branch is None:  # nothing open and nothing left to open
                break
            began = time.perf_counter()
            self._round(branch, left)
            self._relaxing += time.perf_counter() - began
            self._search_around(branches, left, pool)
            self.note = (
                f"{self.opened} joint placements of the jobs opened, {len(branches)} open; bound: the least "
                "over the open ones and the next unopened (true for the whole problem)"
            )

    def _search_around(self, branches: list[_Branch], left, pool: ThreadPoolExecutor) -> None:
        """Large-neighbourhood steps on the open, unsettled branches' plans, until they have taken
        LNS_SHARE times as long as the relaxations so far (the relaxations still open branches and raise
        the bound) and no window step is being solved; every other step on the best of those plans, the
        others on the plan furthest above its branch's bound (a branch whose plan is not the incumbent may
        hold a better one). A window step (`start_window`) is solved on `pool` meanwhile, one at a time."""
        if len(self.instance.consultants) > LNS_TEAM:
            return
        while (self._improving < LNS_SHARE * self._relaxing or self._pending) and left() > 0.3:
            began = time.perf_counter()
            self.finish_window(wait=False)
            candidates = [
                b
                for b in branches
                if b.plan is not None and not b.settled and not b.closed and b.bound < self.incumbent - 1e-6
            ]
            if not candidates:
                self.finish_window(wait=True)
                return
            planned = {id(b): b.plan.objective["value"] for b in candidates if b.plan is not None}
            if self.lns_steps % 2:
                branch = max(candidates, key=lambda b: planned[id(b)] - b.bound)
            else:
                branch = min(candidates, key=lambda b: planned[id(b)])
            due = self._improving < LNS_SHARE * self._relaxing  # else region steps go on only until the window is done
            if due and self._pending is None and left() > LNS_WINDOW_SECONDS + 0.5:
                self.start_window(min(candidates, key=lambda b: planned[id(b)]), LNS_WINDOW_SECONDS, pool)
            assert branch.plan is not None
            found = self.improve(branch.plan, time.perf_counter() + left() - 0.2)
            if found is not None:
                self._offer(branch, found)
            self._improving += time.perf_counter() - began
        self.finish_window(wait=True)  # its time limit ends before the search's

    def _displaced(self, placements: Placements, combo: dict[str, Option]) -> set[str]:
        return {b for j, o in combo.items() for b in placements.evicted[(j, o)]}

    def _displaced_costs(self, placements: Placements, combo: dict[str, Option]) -> dict[str, float]:
        costs: dict[str, float] = {}
        for j, o in combo.items():
            for b, c in placements.evicted[(j, o)].items():
                costs[b] = max(costs.get(b, 0.0), c)
        return costs

    def _branch_bound(self, strong: Placements, combo: dict[str, Option]) -> float:
        return sum(self._displaced_costs(strong, combo).values()) + self.repair

    def _round(self, branch: _Branch, left) -> None:
        """One relaxation of the branch; its solution completed into a plan; what it sent elsewhere or
        pushed out gets listed positions for the next round."""
        displaced = self._displaced_costs(self.placements, branch.combo)
        slack = self.incumbent - sum(displaced.values()) - self.repair
        movable = self._cheaper_than(slack) | set(displaced) | self.must_move
        limits = {b: n for b, n in branch.limits.items() if b in movable}
        allowance = {b: slack + displaced.get(b, self.cheapest[b] if b in self.must_move else 0.0) for b in limits}
        reduction = Reduction(movable, allowance, self.cheapest)
        near = {c for b in limits for c in self.bookings[b].eligible} | {o.consultant for o in branch.combo.values()}
        blocking = {b for c in near for b in self.by_consultant.get(c, ()) if b in movable and b not in limits}
        single = Placements({j: [o] for j, o in branch.combo.items()}, {}, set())
        hint = branch.hint or (self.hint() if all(self.hint().get(j) == o for j, o in branch.combo.items()) else {})
        scope = _positions(
            self.instance,
            self.t,
            self.state,
            self.bookings,
            single,
            reduction,
            hint,
            limits,
            blocking,
            self.nearest,
            time.perf_counter() + left() / 4,
        )
        until = time.perf_counter() + min(left() - 0.2, max(branch.budget, 0.1))
        built, status, solver = self._solve(scope, until, hint, False, branch.gap)
        if status == cp_model.INFEASIBLE:
            branch.closed = True
            return
        if solver is not None:
            branch.bound = max(branch.bound, solver.BestObjectiveBound() / SCALE)
        if status != cp_model.OPTIMAL:
            branch.budget *= 2
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return
        away = {b for b, v in built.away.items() if solver.Value(v)}
        cleared = {b for b, v in built.cleared.items() if solver.Value(v)}
        if not away and not cleared:  # the relaxation's solution is a plan
            plan = _extract(self.instance, self.t, self.state, built, scope, solver, 0.0)
            self._offer(branch, plan)
            branch.settled = status == cp_model.OPTIMAL
            branch.closed = branch.settled and solver.ObjectiveValue() <= solver.BestObjectiveBound() + 0.5
            return
        chosen = {
            item: next(o for o in options if solver.Value(built.choice[(item, o)]))
            for item, options in scope.positions.items()
            if item not in away
        }
        where = dict(self.state.where) | {i: o for i, o in chosen.items() if i in self.bookings}
        completed = complete(self.instance, self.t, where, branch.combo, away | cleared, self._walks)
        if completed is not None:
            self._offer(branch, completed)
        else:
            branch.hint = where | branch.combo
        wider = {b: None if (n := limits[b]) is None or n * 4 > WIDE else n * 4 for b in away}
        branch.limits = limits | wider | {b: self.listed for b in cleared}

    # --- large-neighbourhood search on the branches' plans (plans only, never a bound) ----------------
    def _days(self, o: Option) -> list[tuple[str, date]]:
        """The consultant-days a position covers."""
        tz = self.t.tz
        first, last = o.start.astimezone(tz).date(), (o.end - _TICK).astimezone(tz).date()
        return [(o.consultant, first + timedelta(days=n)) for n in range((last - first).days + 1)]

    def _window_days(self, booking) -> list[tuple[str, date]]:
        """The consultant-days a booking may start on."""
        tz = self.t.tz
        lo = max(booking.window.start, self.t.freeze).astimezone(tz).date()
        hi = (booking.window.end - _TICK).astimezone(tz).date()
        return [(c, lo + timedelta(days=n)) for n in range((hi - lo).days + 1) for c in booking.eligible]

    def _on_day(self, booking, cd: tuple[str, date]) -> list[tuple[Option, float]]:
        """A booking's legal positions starting on a consultant-day, with their move costs; kept, as steps list
        the same ones again (producing them was a fifth of a region step's time)."""
        found = self._day_positions.get((booking.id, cd))
        if found is None:
            day = datetime.combine(cd[1], datetime.min.time(), self.t.tz)
            lo, hi = max(booking.window.start, self.t.freeze, day), day + _DAY
            options = self.t.options(booking, cd[0], lo, hi, whole_window=False)
            found = [(o, self.t.move_cost(booking, o)) for o in options if o.end <= booking.window.end]
            self._day_positions[(booking.id, cd)] = found
        return found

    def _push(self, booking, cd: tuple[str, date], occupancy: Occupancy) -> float:
        """The least a booking's move to a consultant-day costs, with the cheapest moves of what it
        would push out there (inf when it would push something fixed)."""
        best = math.inf
        for o, cost in self._on_day(booking, cd):
            for b in occupancy.overlapping(o.consultant, o.start, o.end):
                if b != booking.id:
                    cost += self.cheapest.get(b, math.inf)
            best = min(best, cost)
        return best

    def _excess(self, b: str, where: dict[str, Option], jobs: dict[str, Option]) -> float:
        """What a booking's move costs beyond what it must pay (its cheapest move, if a job covers it)."""
        return self.t.move_cost(self.bookings[b], where[b]) - (self.cheapest[b] if self._covered(b, jobs) else 0.0)

    def _pushed(self, b: str, where: dict[str, Option]) -> float:
        """What the moves of the bookings a booking pushed out of their places cost, and of those they pushed out
        in turn. On cascade seed 4 the whole-day install b00266, moved onto another install's day, pushed that one
        onto a day of six sessions owing 90 EUR each: counted one step deep, its weight was 0.2 % of the draw and
        its window (the step that leads to the best plan) was drawn in none of four traced runs; counted through,
        38–43 % of the draw on the plans it stalls on."""
        total, seen, reached = 0.0, {b}, [b]
        while reached:
            there = where[reached.pop()]
            for p in self.state.occupancy.overlapping(there.consultant, there.start, there.end):
                if p not in seen and where[p] != self.state.where[p]:
                    seen.add(p)
                    reached.append(p)
                    total += self.t.move_cost(self.bookings[p], where[p])
        return total

    def _covered(self, b: str, jobs: dict[str, Option]) -> bool:
        """Whether a booking must move: a job covers its place, or an absence does."""
        home = self.state.where[b]
        return b in self.must_move or any(
            o.consultant == home.consultant and o.start < home.end and home.start < o.end for o in jobs.values()
        )

    def _read(self, plan: Plan):
        """A plan's positions, who is on each consultant-day, and its moves' weights as starts of a
        neighbourhood; kept for the plan last read (steps that find nothing read it again)."""
        if self._lns_read is not None and self._lns_read[0] is plan:
            return self._lns_read[1:]
        jobs = _placed(plan)
        where = dict(self.state.where) | {m.id: Option(m.consultant, m.start, m.end) for m in plan.moves}
        moved = [m.id for m in plan.moves]
        occupancy, on_day = Occupancy(), defaultdict(list)
        for item, o in (where | jobs).items():
            occupancy.add(o.consultant, o.start, o.end, item)
            for cd in self._days(o):
                on_day[cd].append(item)
        weights = [self._excess(b, where, jobs) + LNS_ANCHOR for b in moved] + [LNS_ANCHOR] * len(jobs)
        self._lns_read = (plan, jobs, where, moved, occupancy, on_day, weights)
        return self._lns_read[1:]

    def region(self, plan: Plan, size: int):
        """Consultant-days to free around a plan, `size` of them, and the bookings whose every position on
        them is listed. It starts from one of the plan's moves, the dearer beyond what it must pay the
        likelier (or from a job); each booking reached frees where it was, where it is, and the few days
        where moving it (and pushing out what is there) is cheapest, with some noise; the moved bookings
        on a freed day, and some of the others, are reached in turn: a cascade of moves fits in."""
        jobs, where, moved, occupancy, on_day, weights = self._read(plan)
        rng, moving = self.rng, set(moved)
        anchors = moved + list(jobs)
        queue = rng.choices(anchors, weights) if anchors else []
        seen, reached = set(queue), set()
        region: list[tuple[str, date]] = []
        while queue and len(region) < size:
            item = queue.pop(rng.randrange(len(queue)))
            reached.add(item)
            if item in jobs:
                days = self._days(jobs[item])
            else:
                booking = self.bookings[item]
                cost = {
                    cd: self._push(booking, cd, occupancy) * math.exp(rng.gauss(0, LNS_NOISE))
                    for cd in self._window_days(booking)
                }
                near = sorted((cd for cd in cost if cost[cd] < math.inf), key=cost.__getitem__)
                days = self._days(where[item]) + self._days(self.state.where[item]) + near[:LNS_NEAR]
            for cd in days:
                if len(region) >= size:
                    break
                if cd in region or cd[1] < self._first_day:
                    continue
                region.append(cd)
                for b in on_day.get(cd, ()):
                    if b not in seen and b in self.bookings and (b in moving or rng.random() < LNS_SPREAD):
                        seen.add(b)
                        queue.append(b)
            if not queue and len(region) < size:
                rest = [a for a in anchors if a not in seen]
                if rest:
                    seen.add(pick := rng.choice(rest))
                    queue.append(pick)
        return set(region), reached

    def _window(self, plan: Plan):
        """A window step's region: every consultant-day on which a booking that must move (a job or an absence
        covers its place) may start, and the day where the plan has it, with every booking on them reached.
        The booking is drawn among those whose window was tried least often in this search (on any plan),
        weighted by what its move costs beyond what it must pay plus what the moves of the bookings it pushed
        out cost (the dearer, the likelier), once per plan. On cascade seed 4
        the plans stalled with a whole-day install on a day of short-notice bookings (120,000 each to move)
        while the best plan has it on a day of 90,000 ones: some forty bookings differ, a change no small
        region holds; this one does, and is solved in about a second. Another stall (5,605,971) was left by
        the windows of 2 of its 36 displaced bookings only, while the weights put 93 % on two others: drawing
        by weight alone tried those again on every new plan. A plain window solved to optimality is tried
        again, widened by its `_outlets`, before any other (on the plan of the next draw, if its booking still
        must move there). None when every such booking has had its step on this plan."""
        jobs, where, moved, occupancy, on_day, weights = self._read(plan)
        value = plan.objective["value"]
        widen, self._widen = self._widen, None
        if widen is not None and self._covered(widen, jobs):  # its plain window was solved to optimality
            self.drawn = (value, widen, True)
            days, reached = self._window_of(widen, where, on_day)
            return days | self._outlets(reached, days, occupancy), reached
        forced = [  # the weights list the jobs after the moves
            (b, w)
            for b, w in zip(moved, weights, strict=False)
            if (value, b) not in self._windows_tried and self._covered(b, jobs)
        ]
        if not forced:
            return None
        least = min(self._window_tries[b] for b, _ in forced)
        forced = [(b, w + self._pushed(b, where)) for b, w in forced if self._window_tries[b] == least]
        item = self.rng.choices([b for b, _ in forced], [w for _, w in forced])[0]
        self._windows_tried.add((value, item))
        self._window_tries[item] += 1
        self.drawn = (value, item, False)
        return self._window_of(item, where, on_day)

    def _window_of(self, item: str, where: dict[str, Option], on_day) -> tuple[set, set[str]]:
        days = {cd for cd in self._window_days(self.bookings[item]) if cd[1] >= self._first_day}
        days |= set(self._days(where[item]))
        return days, {b for cd in days for b in on_day.get(cd, ()) if b in self.bookings}

    def _outlets(self, reached: set[str], days: set, occupancy: Occupancy) -> set[tuple[str, date]]:
        """For each booking a window reached, the consultant-day outside it where moving it costs least, with
        the cheapest moves of what it would push out there: freed too (their bookings are not reached, they
        keep their own day's positions). On cascade seed 4 a window of the whole-day install alone was solved
        to optimality in a second on each stalled plan (5,484,915 and the like) and found nothing: the best
        plan (5,395,034) also moves the bookings that the install evicts onto other consultants' days, and
        theirs on. With these days the same step found it from 3 of 5 stalled plans within its 2 s, on
        models of 20,000 literals instead of 8,500; two outlets per booking (26,000 literals) were not solved
        in time. Widening every window from the start found it in none of 8 runs (2 of 8 without): their
        models took the others' time. Widened once its plain window is solved to optimality (improving the plan
        or not: the widened window then starts from the better plan), 12 runs of 40 found it (3 of 14 before)."""
        found = set()
        for b in sorted(reached):
            booking = self.bookings[b]
            cost = {
                cd: self._push(booking, cd, occupancy)
                for cd in self._window_days(booking)
                if cd not in days and cd[1] >= self._first_day
            }
            finite = [cd for cd in cost if cost[cd] < math.inf]
            if finite:
                found.add(min(finite, key=cost.__getitem__))
        return found

    def improve(self, plan: Plan, until: float = math.inf) -> Plan | None:
        """One step of large-neighbourhood search on a plan: free the bookings on some consultant-days
        (`region`, its size adapted to the solver's time), fix every other item where the plan has it, and
        solve that model (see `_neighbourhood`): the better plan found, or None. CP-SAT gets LNS_SECONDS of
        its own, ending by `until` (perf_counter), whatever building the model took: with one limit for both,
        the build (0.1 to 0.3 s) left steps of 12 days 0.05 s to solve, and on a plan where 12 of 12 such
        steps found 120,000 with 3 s, 15 of 15 found nothing."""
        started = time.perf_counter()
        region, reached = self.region(plan, int(self.lns_size))
        step = self._neighbourhood(plan, region, reached, started + LNS_SECONDS / 3)
        status, solver = _run_neighbourhood(step.built.model, min(LNS_SECONDS, until - time.perf_counter()))
        self.lns_steps += 1
        took = time.perf_counter() - started
        if status == cp_model.OPTIMAL and took < LNS_STEP:
            self.lns_size = min(self.lns_size * 1.15, 500)
        elif status != cp_model.OPTIMAL or took > 2 * LNS_STEP:
            self.lns_size = max(self.lns_size / 1.15, 3)
        return self._found(step, status, solver)

    def start_window(self, branch: _Branch, seconds: float, pool: ThreadPoolExecutor) -> bool:
        """Build a window step's model on the branch's plan (`_window`) and solve it on `pool`, beside the
        region steps: CP-SAT releases the GIL, a region step is four fifths Python (listing positions and
        building its model) and a window's model four fifths CP-SAT, so the two share the two cores. False
        when every window of the plan was tried."""
        assert branch.plan is not None and self._pending is None
        started = time.perf_counter()
        window = self._window(branch.plan)
        if window is None:
            return False
        region, reached = window
        step = self._neighbourhood(branch.plan, region, reached, started + seconds / 3)
        solving = pool.submit(_run_neighbourhood, step.built.model, started + seconds - time.perf_counter(), True)
        self._pending = (branch, step, solving, self.drawn)
        return True

    def finish_window(self, wait: bool) -> None:
        """The window step in flight, once solved (or at once with `wait`): its plan goes to its branch if it
        is better than the branch's plan now (region steps went on meanwhile). A plain window solved to
        optimality is due again, widened (`_window`)."""
        if self._pending is None:
            return
        branch, step, solving, (_, item, widened) = self._pending
        if not wait and not solving.done():
            return
        self._pending = None
        self.window_steps += 1
        status, solver = solving.result()
        found = self._found(step, status, solver)
        if status == cp_model.OPTIMAL and not widened:
            self._widen = item
        if found is not None and (branch.plan is None or found.objective["value"] < branch.plan.objective["value"]):
            self._offer(branch, found)

    def _neighbourhood(self, plan: Plan, region: set, reached: set, until: float) -> _Step:
        """The model of a step: the bookings on the `region`'s consultant-days are freed (those that may move
        in a plan better than the incumbent, and the plan's moved ones, also those moved away from them), every
        other item stays where the plan has it. Positions listed: where the plan has it, every position on the
        freed days for the bookings `reached` (on the booking's own day for the others), and the LNS_OPTIONS
        cheapest elsewhere that nothing fixed covers, walked until `until`. Its solutions are plans; its bound
        holds for the neighbourhood only and is never used."""
        if self._lns_reduction is None or self._lns_incumbent != self.incumbent:
            self._lns_reduction, self._lns_incumbent = self.reduction(), self.incumbent
        reduction = self._lns_reduction  # positions no plan better than the incumbent uses are left out
        jobs, where, moved, _, on_day, _ = self._read(plan)
        plan_moved = set(moved)
        free = {b for cd in region for b in on_day.get(cd, ()) if b in reduction.movable or b in plan_moved}
        free |= {b for b in moved if any(cd in region for cd in self._days(self.state.where[b]))}
        fixed = Occupancy()
        for item, o in (where | jobs).items():
            if item not in free:
                fixed.add(o.consultant, o.start, o.end, item)
        scope = Scope({j: [o] for j, o in jobs.items()}, cheapest=self.cheapest)
        for b in sorted(free):
            booking = self.bookings[b]
            own = set(self._days(where[b]))
            days = [cd for cd in region if cd[0] in booking.eligible and (b in reached or cd in own)]
            allowance = reduction.allowance.get(b, 0.0) + 1e-6
            kept = self._listing(booking, where[b], days, fixed, allowance, until)
            scope.positions[b] = sorted(kept)
            scope.costs.update(((b, o), cost) for o, cost in kept.items())
        return _Step(plan, scope, _constraints(self.t, self.bookings, scope, where | jobs), State(fixed, where))

    def _found(self, step: _Step, status, solver) -> Plan | None:
        """A step's plan, if it is cheaper than the plan the step started from."""
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        found = _extract(self.instance, self.t, step.state, step.built, step.scope, solver, 0.0)
        return found if found.objective["value"] < step.plan.objective["value"] - 1e-6 else None

    def _listing(self, booking, here: Option, days, fixed: Occupancy, allowance: float, until: float):
        """A freed booking's positions in a neighbourhood and their costs: where the plan has it, its positions
        on `days`, and the LNS_OPTIONS cheapest elsewhere (walked until `until`), each within its allowance
        and covered by nothing fixed. Each position is tested once (the tests were a third of a step)."""
        kept = {here: self.t.move_cost(booking, here)}
        tried = {here}

        def keep(o: Option, cost: float) -> bool:
            tried.add(o)
            if cost > allowance or fixed.overlapping(o.consultant, o.start, o.end):
                return False
            kept[o] = cost
            return True

        for cd in days:
            for o, cost in self._on_day(booking, cd):
                if o not in tried:
                    keep(o, cost)
        outside = 0
        for o in self.nearest(booking):  # cheapest first: past the allowance, every later one is too
            if outside >= LNS_OPTIONS or time.perf_counter() > until:
                break
            if o not in tried:
                cost = self.t.move_cost(booking, o)
                if cost > allowance:
                    break
                outside += keep(o, cost)
        return kept

    def _cheaper_than(self, slack: float) -> set[str]:
        """Bookings whose cheapest move costs at most `slack`."""
        return set(self._by_cost[: bisect_right(self._costs, slack + 1e-6)])


@dataclass
class _Step:
    """A neighbourhood step's model: the plan it starts from, what it lists, and the items it fixes."""

    plan: Plan
    scope: Scope
    built: Built
    state: State  # the fixed items' occupancy, and where the plan has every booking


@dataclass
class _Branch:
    """One joint placement of the priority jobs and what is known of the best plan that uses it."""

    combo: dict[str, Option]
    bound: float
    limits: dict[str, int | None]  # bookings listed with their positions (None: all of them)
    budget: float = 0.5  # seconds for its next relaxation, doubled when that is not enough
    hint: dict[str, Option] = field(default_factory=dict)  # its latest plan, or partial solution
    value: float = math.inf  # its best plan's value
    gap: float = GAP  # relative gap at which its relaxation stops
    settled: bool = False  # its relaxation's solution is a plan, within `gap` of the optimum
    closed: bool = False  # its optimum is known (and offered), or it has no plan
    plan: Plan | None = None  # its best plan


_TICK = timedelta(microseconds=1)
_DAY = timedelta(days=1)


def _apart(combo: dict[str, Option]) -> bool:
    """No two jobs of the combination on one consultant at once."""
    placed = sorted((o.consultant, o.start, o.end) for o in combo.values())
    return all(
        a[0] != b[0] or a[2] <= b[1] for a, b in zip(placed, placed[1:], strict=False)
    )  # neighbours: one pair fewer


def _estimate(t: Timeline, bookings: dict, reduction: Reduction, most: int) -> int:
    """Positions of the exact model, roughly (every legal position of each movable booking within its
    allowance), computed from the cached position lists without filtering against fixed bookings."""
    total = 0
    for booking_id in reduction.movable:
        booking = bookings[booking_id]
        for consultant in booking.eligible:
            options, starts = t.positions(consultant, booking)
            total += len(options)
        if total > most * 3:
            return total
    return total // 3  # the allowance and the window keep about a third
