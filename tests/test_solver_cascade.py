"""The neighbourhood search's steps on a cascade instance: a window step frees every day a displaced booking
may go to, is solved beside the region steps and gives its branch only a plan better than the branch's own;
windows not yet tried come first; a region step's solver has its own time. Every plan found is valid and
cheaper, and the bound is never the neighbourhood's."""

import contextlib
import dataclasses
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from solver import model
from solver.check import violations
from solver.generate import generate
from solver.instance import read_instance, read_plan

STALLED_INSTALL = Path(__file__).resolve().parent / "data" / "solver" / "cascade-4-stalled-install.json"


class _FirstStep(Exception):
    """Raised by the first neighbourhood step, to stop the search there."""


def _a_search_and_its_plan(monkeypatch):
    """A search stopped at its first neighbourhood step, and the plan that step started from."""
    seen: list = []

    def recorded(self, plan, until):
        seen.append((self, plan))
        raise _FirstStep

    monkeypatch.setattr(model._Search, "improve", recorded)
    monkeypatch.setattr(model._Search, "start_window", lambda self, branch, seconds, pool: False)
    instance = read_instance(generate(10, 4, 4, jobs=2, cascade=True))
    # Stopped at the first step, not by the clock: a loaded machine (the suite's workers, a browser) may take
    # more than a short time limit to get there. Its relaxations' limits are those of a 5-s run (1 s each).
    with contextlib.suppress(_FirstStep):
        model.solve(instance, time_limit=10, max_exact=0)
    monkeypatch.undo()
    assert seen
    return instance, *seen[0]


def _newly_tried(search, before: set) -> str:
    """The booking of the window step `_window` has just drawn."""
    ((_, item),) = search._windows_tried - before
    return item


def test_a_window_frees_every_day_a_displaced_booking_may_start_on_and_reaches_all_on_them(monkeypatch):
    instance, search, plan = _a_search_and_its_plan(monkeypatch)
    jobs, where, moved, _, on_day, _ = search._read(plan)
    displaced = {b for b in moved if search._covered(b, jobs)}
    assert displaced  # the jobs push bookings out on this instance
    tried = set()
    for _ in displaced:
        days, reached = search._window(plan)
        (value, item), *_ = search._windows_tried - tried
        tried.add((value, item))
        assert item in displaced and value == plan.objective["value"] and search.drawn == (value, item, False)
        starts = {cd for cd in search._window_days(search.bookings[item]) if cd[1] >= search._first_day}
        assert days == starts | set(search._days(where[item]))
        assert reached == {b for cd in days for b in on_day.get(cd, ()) if b in search.bookings}
    assert search._window(plan) is None  # each displaced booking once per plan


def test_a_window_solved_to_optimality_is_tried_again_widened_by_each_bookings_cheapest_outlet(monkeypatch):
    instance, search, plan = _a_search_and_its_plan(monkeypatch)
    branch = _branch(plan)
    statuses = []
    real = search._found

    def seen(step, status, solver):
        statuses.append(status)
        return real(step, status, solver)

    monkeypatch.setattr(search, "_found", seen)
    with ThreadPoolExecutor(1) as pool:
        for _ in range(12):  # plain windows of the plan until one is solved to optimality
            branch.plan = plan
            assert search.start_window(branch, 5.0, pool)
            search.finish_window(wait=True)
            if statuses[-1] == model.cp_model.OPTIMAL:
                break
    item = search._widen
    assert item == search.drawn[1]
    jobs, where, _, occupancy, on_day, _ = search._read(plan)
    window, reached = search._window_of(item, where, on_day)
    days, widened_reached = search._window(plan)
    assert search.drawn == (plan.objective["value"], item, True) and search._widen is None  # once
    assert window < days and widened_reached == reached  # the outlets' bookings are freed, not reached
    for b in reached:  # its outlet: among its days outside the window, one of those it is cheapest to go to
        outside = {
            cd: search._push(search.bookings[b], cd, occupancy) for cd in search._window_days(search.bookings[b])
        }
        outside = {cd: cost for cd, cost in outside.items() if cd not in window and cd[1] >= search._first_day}
        if any(cost < math.inf for cost in outside.values()):
            assert any(cd in days for cd, cost in outside.items() if cost == min(outside.values()))
    assert days - window <= {cd for b in reached for cd in search._window_days(search.bookings[b])}


def test_windows_not_yet_tried_come_before_those_tried_on_an_earlier_plan(monkeypatch):
    """On cascade seed 4 a stall was left by 2 windows of 36 while the weights put 93 % on two others."""
    instance, search, plan = _a_search_and_its_plan(monkeypatch)
    jobs, _, moved, _, _, weights = search._read(plan)
    displaced = {b: w for b, w in zip(moved, weights, strict=False) if search._covered(b, jobs)}
    heaviest = max(displaced, key=lambda b: displaced[b] + search._pushed(b, search._read(plan)[1]))
    tried_before = set()
    while heaviest not in tried_before:  # windows on this plan until the heaviest has had its own
        before = set(search._windows_tried)
        search._window(plan)
        tried_before.add(_newly_tried(search, before))
    later = dataclasses.replace(plan, objective=dict(plan.objective, value=plan.objective["value"] - 1))
    untried = set(displaced) - tried_before
    assert untried  # else this test shows nothing: the instance has displaced bookings tried later
    drawn = []
    for _ in untried:
        before = set(search._windows_tried)
        search._window(later)
        drawn.append(_newly_tried(search, before))
    assert set(drawn) == untried


def _branch(plan):
    return model._Branch(model._placed(plan), 0.0, {}, plan=plan)


def test_a_window_step_is_solved_beside_the_region_steps_and_its_plan_is_valid_and_cheaper(monkeypatch):
    instance, search, plan = _a_search_and_its_plan(monkeypatch)
    branch = _branch(plan)
    with ThreadPoolExecutor(1) as pool:
        for steps in range(1, 13):  # windows of the plan until one improves it
            assert search.start_window(branch, 5.0, pool)
            assert search._pending is not None  # being solved: the caller goes on with region steps
            search.finish_window(wait=True)
            assert search._pending is None and search.window_steps == steps
            if branch.plan is not plan:
                break
    assert violations(instance, branch.plan) == []
    assert branch.plan.objective["value"] < plan.objective["value"]


def test_a_window_step_keeps_the_branch_plan_that_region_steps_found_meanwhile_if_it_is_better(monkeypatch):
    instance, search, plan = _a_search_and_its_plan(monkeypatch)
    better = dataclasses.replace(plan, objective=dict(plan.objective, value=0.0))  # as if found meanwhile
    found: list = []
    real = search._found

    def seen(step, status, solver):
        found.append(real(step, status, solver))
        return found[-1]

    monkeypatch.setattr(search, "_found", seen)
    branch = _branch(plan)
    with ThreadPoolExecutor(1) as pool:
        for _ in range(12):  # windows of the plan until one improves it
            branch.plan = plan
            if not search.start_window(branch, 5.0, pool):
                break
            branch.plan = better
            search.finish_window(wait=True)
            if found[-1] is not None:
                break
    assert found[-1] is not None and found[-1].objective["value"] < plan.objective["value"]
    assert violations(instance, found[-1]) == []
    assert branch.plan is better


def test_a_region_step_gives_cp_sat_its_own_time_whatever_building_the_model_took(monkeypatch):
    instance, search, plan = _a_search_and_its_plan(monkeypatch)
    limits: list[float] = []
    real = model._run_neighbourhood

    def run(built, seconds, presolve=False):
        limits.append(seconds)
        return real(built, seconds, presolve)

    monkeypatch.setattr(model, "_run_neighbourhood", run)
    search.improve(plan)
    search.improve(plan, until=time.perf_counter() + 0.1)  # but never past the search's end
    assert limits[0] == model.LNS_SECONDS and limits[1] <= 0.1


def test_a_region_step_slower_than_twice_its_share_of_time_shrinks_the_next_region(monkeypatch):
    instance, search, plan = _a_search_and_its_plan(monkeypatch)
    monkeypatch.setattr(model, "LNS_STEP", 0.0)  # every step is too slow: building alone takes time
    search.lns_size = 10.0
    found = search.improve(plan)
    assert search.lns_size < 10.0
    if found is not None:
        assert violations(instance, found) == [] and found.objective["value"] < plan.objective["value"]


def test_a_window_s_weight_counts_the_moves_of_what_its_booking_pushed_out_in_turn(monkeypatch):
    """A stalled plan of cascade seed 4 (+1.67 %): the install b00266 sits on b00441's day, which sits on the day
    of six sessions owing 90 EUR each; the weight of b00266's window counts those six moves too."""
    instance, search, _ = _a_search_and_its_plan(monkeypatch)
    stalled = read_plan(json.loads(STALLED_INSTALL.read_text()))
    assert not violations(instance, stalled)
    where = search._read(stalled)[1]
    pushed_by_b00441 = search._pushed("b00441", where)
    assert pushed_by_b00441 >= 6 * 90_000
    assert search._pushed("b00266", where) >= pushed_by_b00441 + search.t.move_cost(
        search.bookings["b00441"], where["b00441"]
    )
