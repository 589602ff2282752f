"""The reshuffle solver: plans always pass the checker, CP-SAT never worse than the greedy, the exact
optimum on tiny instances, clear INFEASIBLE answers, and the command line of docs/solver-format.md."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.check import objective, violations
from solver.generate import generate
from solver.greedy import booking_options, job_options, solve_greedy
from solver.instance import InstanceError, Move, Placement, Plan, load_instance, read_instance, read_plan
from solver.model import solve
from solver.timeline import Timeline
from tests.solver_data import NEW, OLD, TINY, tiny

EXAMPLE = Path(__file__).resolve().parent / "data" / "solver" / "example-small.json"


@pytest.fixture(scope="module")
def example():
    return load_instance(str(EXAMPLE))


def test_the_example_schedule_is_valid_but_for_the_unplaced_job(example):
    assert violations(example, Plan("UNKNOWN", "none")) == ["p1 not placed"]


@pytest.mark.parametrize("engine", ["greedy", "cp-sat"])
def test_plans_for_the_example_pass_the_checker(example, engine):
    plan = solve_greedy(example) if engine == "greedy" else solve(example, time_limit=5)
    assert plan.status in ("FEASIBLE", "OPTIMAL") and violations(example, plan) == []
    assert plan.objective == {
        **objective(example, plan),
        **({"best_bound": plan.objective.get("best_bound")} if engine == "cp-sat" else {}),
    }
    again = read_plan(json.loads(json.dumps(plan.to_json())))
    assert violations(example, again) == []
    if engine == "cp-sat":
        assert plan.objective["best_bound"] <= plan.objective["value"]
        assert plan.objective["value"] <= solve_greedy(example).objective["value"]


def test_the_checker_catches_each_broken_rule(example):
    good = solve_greedy(example)
    t = Timeline(example)
    pinned = next(b for b in example.bookings if b.pinned or b.start < t.freeze)
    other = next(b for b in example.bookings if b.consultant == pinned.consultant and b.id != pinned.id)
    frozen = Move(
        pinned.id,
        pinned.consultant,
        pinned.start,
        pinned.consultant,
        other.start,
        other.start + (pinned_end(t, pinned) - pinned.start),
        0,
    )
    bad = Plan("FEASIBLE", "test", good.placements, good.moves + [frozen])
    assert any("freeze horizon" in v or "pinned" in v for v in violations(example, bad))
    job = example.priority_jobs[0]
    p = good.placements[0]
    wrong_skill = next(c.id for c in example.consultants if job.skill not in c.skills)
    for placement, message in [
        (Placement(job.id, wrong_skill, p.start, p.end), "lacks skill"),
        (Placement(job.id, p.consultant, p.start.replace(minute=7), p.end), "off the grid"),
        (Placement(job.id, p.consultant, job.window.end, job.window.end + (p.end - p.start)), "outside its window"),
    ]:
        assert any(message in v for v in violations(example, Plan("FEASIBLE", "t", [placement], good.moves)))
    unmoved = Plan("FEASIBLE", "t", good.placements, [])
    assert any("overlap" in v for v in violations(example, unmoved))


def pinned_end(t, booking):
    return t.end_of(booking, booking.consultant, booking.start)


def test_no_consultant_with_the_skill_is_infeasible_with_the_reason(example):
    raw = json.loads(EXAMPLE.read_text())
    raw["priority_jobs"][0]["skill"] = "astrology"
    plan = solve(read_instance(raw), time_limit=2)
    assert plan.status == "INFEASIBLE" and "astrology" in plan.reason and plan.to_json()["reason"]


def test_malformed_instances_are_refused_clearly():
    with pytest.raises(InstanceError, match="format"):
        read_instance({"format": "other"})
    raw = json.loads(EXAMPLE.read_text())
    raw["bookings"][0]["start"] = "2027-03-15T09:00:00"
    with pytest.raises(InstanceError, match="no offset"):
        read_instance(raw)


def brute_force(instance) -> float:
    """Every placement of every job and every position of every booking, the cheapest valid plan."""
    t = Timeline(instance)
    options = [[(b, None)] + [(b, o) for o in booking_options(b, t)] for b in instance.bookings]
    best = float("inf")
    for placements in itertools.product(*(job_options(job, instance, t) for job in instance.priority_jobs)):
        taken = [(p.consultant, p.start, p.end) for p in placements]
        if any(c == d and a < f and e < b for k, (c, a, b) in enumerate(taken) for d, e, f in taken[k + 1 :]):
            continue

        def search(index, taken, cost):
            nonlocal best
            if cost >= best:
                return
            if index == len(options):
                best = cost
                return
            for booking, o in options[index]:
                here = (
                    (booking.consultant, booking.start, t.end_of(booking, booking.consultant, booking.start))
                    if o is None
                    else (o.consultant, o.start, o.end)
                )
                if any(c == here[0] and a < here[2] and here[1] < b for c, a, b in taken):
                    continue
                search(index + 1, taken + [here], cost + (0 if o is None else t.move_cost(booking, o)))

        search(0, taken, 0.0)
    return best


def test_cp_sat_finds_the_brute_force_optimum_on_a_tiny_instance():
    instance = read_instance(TINY)
    optimum = brute_force(instance)
    plan = solve(instance, time_limit=5)
    assert violations(instance, plan) == []
    assert plan.objective["value"] == pytest.approx(optimum) and plan.status == "OPTIMAL"


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 10_000), st.integers(2, 4))
def test_cp_sat_is_never_worse_than_the_greedy(seed, consultants):
    instance = read_instance(generate(consultants, weeks=1, seed=seed, jobs=1, load=0.6))
    greedy, exact = solve_greedy(instance), solve(instance, time_limit=3)
    if exact.status in ("INFEASIBLE", "UNKNOWN"):  # no plan: only when the greedy has none either, and said why
        assert greedy.status != "FEASIBLE" and exact.reason and not exact.placements
        return
    assert violations(instance, exact) == [] and exact.status in ("OPTIMAL", "FEASIBLE")
    if greedy.status == "FEASIBLE":
        assert violations(instance, greedy) == []
        assert exact.objective["value"] <= greedy.objective["value"] + 1e-6
    assert exact.objective["best_bound"] <= exact.objective["value"] + 1e-6


def test_command_line_generate_solve_check(tmp_path):
    run = lambda *args: subprocess.run([sys.executable, "-m", "solver", *args], capture_output=True, text=True)  # noqa: E731
    generated = run("generate", "--consultants", "4", "--weeks", "2", "--seed", "3", "--jobs", "1")
    assert generated.returncode == 0
    (tmp_path / "i.json").write_text(generated.stdout)
    solved = run("solve", str(tmp_path / "i.json"), "--time-limit", "3")
    assert solved.returncode == 0
    plan = json.loads(solved.stdout)
    assert plan["format"] == "erplib-reshuffle-plan/1" and plan["solver"] == "cp-sat"
    (tmp_path / "p.json").write_text(solved.stdout)
    if plan["status"] in ("OPTIMAL", "FEASIBLE"):
        assert run("check", str(tmp_path / "i.json"), str(tmp_path / "p.json")).returncode == 0
    plan["placements"] = []
    (tmp_path / "bad.json").write_text(json.dumps(plan))
    broken = run("check", str(tmp_path / "i.json"), str(tmp_path / "bad.json"))
    assert broken.returncode == 1 and "not placed" in broken.stdout
    missing = run("solve", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "error" in missing.stderr


def test_repair_moves_what_an_absence_now_covers():
    raw = json.loads(json.dumps(TINY))
    raw["priority_jobs"] = []
    raw["consultants"][0]["unavailable"] = [{"start": "2027-03-09T09:00:00+01:00", "end": "2027-03-09T12:30:00+01:00"}]
    instance = read_instance(raw)
    assert {v.split(":")[0] for v in violations(instance, Plan("UNKNOWN", "none"))} == {"b1", "b2"}
    for plan in (solve_greedy(instance), solve(instance, time_limit=3)):
        assert violations(instance, plan) == [] and {m.id for m in plan.moves} >= {"b1", "b2"}
    assert solve(instance, time_limit=3).objective["value"] <= solve_greedy(instance).objective["value"]


def test_the_tight_case_defeats_the_simple_greedy_but_not_the_solver():
    from solver.bench import _tight

    instance = _tight()
    assert solve_greedy(instance, tries=1, all_orders=False).status == "UNKNOWN"
    plan = solve(instance, 5)
    assert plan.status in ("FEASIBLE", "OPTIMAL") and len(plan.placements) == 3
    assert violations(instance, plan) == []


def test_positions_come_cheapest_first_and_are_exactly_the_legal_ones():
    instance = read_instance(generate(5, 2, 3, jobs=1))
    t = Timeline(instance)
    for booking in [b for b in instance.bookings if t.movable(b)][:25]:
        lazy = list(t.nearest(booking, max(booking.window.start, t.freeze)))
        costs = [t.move_cost(booking, o) for o in lazy]
        assert costs == sorted(costs)
        assert set(lazy) == set(booking_options(booking, t))


# Non-overlapping templates that fill a consultant's day: displaced bookings must push others.
TEMPLATES = [("09:00", 90), ("10:30", 120), ("14:00", 90), ("15:30", 45), ("16:15", 105)]
slot = st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(range(len(TEMPLATES))), st.sampled_from([OLD, NEW]))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(slot, min_size=1, max_size=5, unique_by=lambda s: (s[0], s[1])),
    st.sampled_from([120, 210, 300]),
    st.sampled_from([(60_000, 60), (0, 60), (0, 2)]),
)
def test_the_bound_never_exceeds_the_brute_force_optimum(slots, job_minutes, sizes):
    """The bound is true for the whole problem, both from the exact reduced model and (max_exact 0) from the
    rounds of neighbourhood and relaxation (listed positions, `elsewhere`, `clearable` bookings), also with
    only 2 positions listed per booking at first (so that `elsewhere` is used)."""
    max_exact, listed = sizes
    raw = tiny([(f"b{n}", c, *TEMPLATES[k], booked) for n, (c, k, booked) in enumerate(slots, start=10)], job_minutes)
    instance = read_instance(raw)
    optimum = brute_force(instance)
    plan = solve(instance, time_limit=3, max_exact=max_exact, listed=listed)
    if optimum == float("inf"):
        assert plan.status in ("INFEASIBLE", "UNKNOWN")
        return
    assert plan.objective["best_bound"] <= optimum + 1e-6
    assert plan.objective["value"] >= optimum - 1e-6
    if plan.status == "OPTIMAL":
        assert plan.objective["value"] == pytest.approx(optimum)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(slot, min_size=1, max_size=4, unique_by=lambda s: (s[0], s[1])),
    st.sampled_from([(60, 120), (105, 90), (45, 210)]),
)
def test_two_jobs_the_bound_never_exceeds_the_brute_force_optimum(slots, minutes):
    """Two jobs on the one consultant with their skill: joint placements that overlap are skipped, and a
    booking that both may displace is counted once in the order in which the branches are opened."""
    raw = tiny([(f"b{n}", c, *TEMPLATES[k], booked) for n, (c, k, booked) in enumerate(slots, start=10)], minutes[0])
    raw["priority_jobs"].append({**raw["priority_jobs"][0], "id": "p2", "duration_minutes": minutes[1]})
    instance = read_instance(raw)
    optimum = brute_force(instance)
    plan = solve(instance, time_limit=3, max_exact=0, listed=2)
    if optimum == float("inf"):
        assert plan.status in ("INFEASIBLE", "UNKNOWN")
        return
    assert violations(instance, plan) == []
    assert plan.objective["best_bound"] <= optimum + 1e-6 <= plan.objective["value"] + 2e-6
    if plan.status == "OPTIMAL":
        assert plan.objective["value"] == pytest.approx(optimum)


def test_branches_give_valid_plans_and_a_true_bound_on_a_cascade_instance():
    """The branch search (max_exact 0) on a busy instance: its completed plans pass the checker and its
    bound never exceeds its value."""
    instance = read_instance(generate(6, 2, 4, jobs=2, cascade=True))
    plan = solve(instance, time_limit=4, max_exact=0)
    assert plan.status in ("FEASIBLE", "OPTIMAL") and violations(instance, plan) == []
    assert plan.objective["best_bound"] <= plan.objective["value"]


def test_joint_placements_come_cheapest_first_and_are_all_the_compatible_ones():
    from solver.combos import cheapest_first

    costs = {"p1": [(3.0, "a1"), (1.0, "a2"), (2.0, "b1")], "p2": [(0.5, "a1"), (4.0, "b2")], "p3": [(1.0, "c1")]}
    apart = lambda combo: combo["p1"] != combo["p2"]  # noqa: E731
    found = list(cheapest_first(costs, apart))
    assert [c for c, _ in found] == sorted(c for c, _ in found)
    expected = [
        dict(zip(costs, places, strict=True))
        for places in itertools.product(*([p for _, p in v] for v in costs.values()))
        if apart(dict(zip(costs, places, strict=True)))
    ]
    assert sorted(map(sorted, (c.items() for _, c in found))) == sorted(map(sorted, (c.items() for c in expected)))
    assert list(cheapest_first({}, apart)) == [(0.0, {})]


def test_the_cascade_option_makes_a_busier_schedule_of_whole_days_and_short_windows():
    from datetime import datetime, timedelta

    plain, cascade = (generate(10, 4, 3, jobs=2, cascade=flag) for flag in (False, True))
    days = [sum(b["span"] == "days" for b in raw["bookings"]) / len(raw["bookings"]) for raw in (plain, cascade)]
    assert days[1] > 2 * days[0]
    stretch = [
        max(datetime.fromisoformat(b["window"]["end"]) - datetime.fromisoformat(b["start"]) for b in raw["bookings"])
        for raw in (plain, cascade)
    ]
    assert stretch[1] <= timedelta(days=7) < stretch[0]
    assert plain == generate(10, 4, 3, jobs=2)  # the option leaves the usual instances as they were


def test_neighbourhood_steps_return_valid_cheaper_plans_and_leave_the_bound_alone(monkeypatch):
    """Large-neighbourhood search on a branch's plan (fix what lies outside some consultant-days, solve
    the rest): every plan it returns passes the checker and is cheaper than the one it started from;
    the bound reported stays below the value (the neighbourhood's own bound is never used)."""
    from solver import model

    steps: list[tuple[float, Plan | None]] = []
    searches: list = []
    improve = model._Search.improve

    def recorded(self, plan, until):
        searches.append((self, plan))
        found = improve(self, plan, until)
        steps.append((plan.objective["value"], found))
        return found

    monkeypatch.setattr(model._Search, "improve", recorded)
    monkeypatch.setattr(model, "LNS_SECONDS", 1.0)  # a step's model finishes even on a loaded machine (CI)
    instance = read_instance(generate(10, 4, 2, jobs=2, cascade=True))
    plan = solve(instance, time_limit=5, max_exact=0)
    assert searches
    search, first = searches[0]
    for _ in range(8):  # a loaded machine ran only a step or two in the 5 s (CI): more steps from the first plan
        if any(found is not None for _, found in steps):
            break
        steps.append((first.objective["value"], improve(search, first)))
    assert any(found is not None for _, found in steps)
    for before, found in steps:
        if found is not None:
            assert violations(instance, found) == [] and found.objective["value"] < before
    assert violations(instance, plan) == [] and plan.objective["best_bound"] <= plan.objective["value"]
