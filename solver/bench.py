"""The solver's benchmark: generated instances solved at the time limit, each in a fresh process (so that
its peak memory is its own), against best-known values computed once by long runs and kept in
solver/best_known.json (`python -m solver best-known` recomputes them; it keeps the lower value)."""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

BEST_KNOWN = Path(__file__).resolve().parent / "best_known.json"
TIGHT_SEED = 8  # found by scanning seeds: the simple greedy fails on it, a plan exists


@dataclass(frozen=True)
class Case:
    """One generated instance, named by the generator's parameters (the key of best_known.json)."""

    consultants: int
    weeks: int
    jobs: int
    seed: int
    cascade: bool = False
    tight: bool = False

    @property
    def key(self) -> str:
        family = "cascade" if self.cascade else "tight" if self.tight else "standard"
        return f"{family} {self.consultants}c {self.weeks}w {self.jobs}j seed {self.seed}"

    def instance(self):
        from .generate import generate
        from .instance import read_instance

        if self.tight:
            return _tight(self.seed)
        return read_instance(generate(self.consultants, self.weeks, self.seed, jobs=self.jobs, cascade=self.cascade))


def _tight(seed: int = TIGHT_SEED):
    """Three priority jobs needing the same skill, ten consultants at 85 % load: a simple greedy (jobs
    in one order, each at its cheapest-looking placement) finds no plan."""
    from .generate import generate
    from .instance import read_instance

    raw = generate(10, weeks=4, seed=seed, jobs=3, load=0.85)
    for job in raw["priority_jobs"]:
        job["skill"] = raw["consultants"][0]["skills"][0]
    return read_instance(raw)


def cases(sizes: list[int], seeds: int, cascades: int = 5, large: bool = True) -> list[Case]:
    found = [Case(n, 4, 2, s) for n in sizes for s in range(1, seeds + 1)]
    found += [Case(10, 4, 2, s, cascade=True) for s in range(1, cascades + 1)]
    found += [Case(10, 4, 3, TIGHT_SEED, tight=True)]
    if large:
        found.append(Case(200, 8, 3, 1))
    return found


def _measure(case: Case, limit: float) -> dict:
    """Run in a fresh process: the first (greedy) plan, then the solver at the time limit."""
    from .check import violations
    from .greedy import solve_greedy
    from .model import solve
    from .timeline import Timeline

    instance = case.instance()
    started = time.perf_counter()
    first = solve_greedy(instance, Timeline(instance), all_orders=False)  # the first complete plan
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    plan = solve(instance, limit)
    seconds = time.perf_counter() - started
    found = plan.status in ("OPTIMAL", "FEASIBLE")
    return {
        "items": len(instance.bookings),
        "status": plan.status,
        "valid": found and not violations(instance, plan),
        "value": plan.objective.get("value"),
        "bound": plan.objective.get("best_bound"),
        "seconds": seconds,
        "first": first_seconds,
        "first_value": first.objective.get("value"),
        "reason": plan.reason,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _in_fresh_process(function, *args):
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def read_best_known() -> dict:
    return json.loads(BEST_KNOWN.read_text())["instances"] if BEST_KNOWN.exists() else {}


def _pct(a, b) -> float:
    return 100 * (a - b) / b if a is not None and b else float("nan")


def run(sizes: list[int], seeds: int, limit: float, cascades: int = 5, large: bool = True) -> None:
    known = read_best_known()
    load = os.getloadavg()[0]
    print(
        f"solver benchmark — {os.cpu_count()} cores, 2 CP-SAT workers, {limit:g} s per instance, "
        f"each in a fresh process; load average {load:.1f} at the start"
    )
    print(
        f"{'instance':<32}{'valid':>6}{'value':>12}{'best-known':>12}{'vs best %':>10}{'cert. gap %':>12}"
        f"{'status':>10}{'first s':>8}{'total s':>8}{'peak MiB':>9}{'1st plan vs best %':>19}"
    )
    distances, gaps = [], []
    for case in cases(sizes, seeds, cascades, large):
        r = _in_fresh_process(_measure, case, limit)
        best = known.get(case.key, {}).get("value")
        value, bound = r["value"], r["bound"]
        distance = _pct(value, best) if best is not None else float("nan")
        gap = 100 * (value - bound) / value if value else float("nan")
        distances += [distance] if best is not None else []
        gaps.append(gap)
        print(
            f"{case.key:<32}{'yes' if r['valid'] else 'NO':>6}{value or float('nan'):>12.0f}"
            f"{best if best is not None else float('nan'):>12.0f}{distance:>10.3f}{gap:>12.3f}{r['status']:>10}"
            f"{r['first']:>8.2f}{r['seconds']:>8.2f}{r['peak_mib']:>9.0f}{_pct(r['first_value'], best):>19.2f}",
            flush=True,
        )
    print(
        f"worst distance to best-known: {max(distances, default=float('nan')):.3f} % (target 0.5 %, cascades 1 %); "
        f"worst certified gap: {max(gaps, default=float('nan')):.3f} % (target 0.5 %); "
        f"median certified gap {statistics.median(gaps) if gaps else float('nan'):.3f} %"
    )
    print(f"load average at the end {os.getloadavg()[0]:.1f} (other agents share the machine)")
    print(
        "cert. gap: (value - best_bound) / value, the bound true for the whole problem; first s: the first "
        "complete (greedy) plan; peak MiB: the process's peak resident memory"
    )


def best_known(
    sizes: list[int],
    seeds: int,
    limit: float,
    cascades: int = 5,
    large: bool = True,
    only: str | None = None,
    path: Path = BEST_KNOWN,
) -> None:
    """Long runs, one per instance, each in a fresh process; the file keeps the lower of old and new
    (it is read again before each write, so that runs over different instances may share it)."""
    for case in cases(sizes, seeds, cascades, large):
        if only and only not in case.key:
            continue
        r = _in_fresh_process(_measure, case, limit)
        data = json.loads(path.read_text()) if path.exists() else {"instances": {}}
        data["command"] = (
            f"python -m solver best-known --time-limit {limit:g} "
            "(one CP-SAT run per instance, 2 workers, 2-core machine shared with other jobs)"
        )
        old = data["instances"].get(case.key)
        if r["valid"] and (old is None or r["value"] < old["value"]):
            data["instances"][case.key] = {
                "value": r["value"],
                "bound": r["bound"],
                "seconds": round(r["seconds"], 1),
                "status": r["status"],
            }
        print(
            f"{case.key:<32}{r['status']:>10}{r['value'] or float('nan'):>12.0f}{r['bound'] or float('nan'):>12.0f}"
            f"  kept {data['instances'].get(case.key, {}).get('value')}",
            flush=True,
        )
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
