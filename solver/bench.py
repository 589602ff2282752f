"""CP-SAT against the greedy baseline on generated instances (and one tight case), with a long run
of the same solver as the best-known value. Prints one line per instance and the medians."""
from __future__ import annotations

import os
import re
import statistics
import time

from .check import violations
from .generate import generate
from .greedy import solve_greedy
from .instance import read_instance
from .model import solve


TIGHT_SEED = 8  # found by scanning seeds: the simple greedy fails on it, a plan exists


def _tight(seed: int = TIGHT_SEED):
    """Three priority jobs needing the same skill, ten consultants at 85 % load: a simple greedy (jobs
    in one order, each at its cheapest-looking placement) finds no plan."""
    raw = generate(10, weeks=4, seed=seed, jobs=3, load=0.85)
    for job in raw["priority_jobs"]:
        job["skill"] = raw["consultants"][0]["skills"][0]
    return read_instance(raw)


def run(sizes: list[int], seeds: int, limit: float, best_known: float) -> None:
    print(f"solver benchmark — {os.cpu_count()} cores, 2 workers, {limit:g} s runs, best-known from {best_known:g} s runs")
    print(f"{'instance':<14}{'items':>7}{'first s':>8}{'build s':>8}{'greedy':>12}{'cp-sat':>12}{'ratio':>7}{'status':>10}"
          f"{'bound':>12}{'gap %':>7}{'moved':>6}{'best-known':>12}{'vs best %':>10}{'valid':>6}")
    ratios, distances = [], []
    cases = [(f"{n}c seed {s}", lambda n=n, s=s: read_instance(generate(n, 4, s, jobs=2))) for n in sizes
             for s in range(1, seeds + 1)] + [(f"tight seed {TIGHT_SEED}", _tight)]
    for name, make in cases:
        instance = make()
        started = time.perf_counter()
        solve_greedy(instance, all_orders=False)  # the first complete plan
        first = time.perf_counter() - started
        greedy = solve_greedy(instance)
        plan = solve(instance, limit)
        built = re.search(r"built in ([0-9.]+) s", plan.reason)
        build = float(built.group(1)) if built else float("nan")
        best = solve(instance, best_known) if best_known > 0 else plan
        valid = not violations(instance, plan)
        if plan.status in ("OPTIMAL", "FEASIBLE"):
            value, bound = plan.objective["value"], plan.objective["best_bound"]
            known = min(value, best.objective.get("value", value))
            gap = 100 * (value - bound) / value if value else 0.0
            ratio = value / greedy.objective["value"] if greedy.status == "FEASIBLE" and greedy.objective["value"] else None
            distance = 100 * (value - known) / known if known else 0.0
            ratios += [ratio] if ratio else []
            distances.append(distance)
            print(f"{name:<14}{len(instance.bookings):>7}{first:>8.2f}{build:>8.2f}"
                  f"{greedy.objective.get('value', float('nan')):>12.0f}{value:>12.0f}"
                  f"{(ratio or float('nan')):>7.3f}{plan.status:>10}{bound:>12.0f}{gap:>7.2f}{plan.objective['moved']:>6}"
                  f"{known:>12.0f}{distance:>10.3f}{'yes' if valid else 'NO':>6}")
        else:
            print(f"{name:<14}{len(instance.bookings):>7}{first:>8.2f}{build:>8.2f}{greedy.status:>12}{plan.status:>12}"
                  f"{'':>7}{'':>10}{'':>12}{'':>7}{'':>6}{'':>12}{'':>10}{'yes' if valid or not plan.placements else 'NO':>6}"
                  f"  {plan.reason}")
    simple = solve_greedy(_tight(), tries=1, all_orders=False)
    print(f"tight case, simple greedy (one order, cheapest placement): {simple.status} — {simple.reason}")
    if ratios:
        print(f"median cp-sat / greedy: {statistics.median(ratios):.4f}; "
              f"worst distance to best-known: {max(distances):.3f} % (target 0.5 %)")
    print("first s: the first complete (greedy) plan; build s: the CP-SAT model's construction")
