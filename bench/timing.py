"""Shared by the benchmark scripts: repeated timings in milliseconds and their median and p95."""

import statistics
import time


def timed(function, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def line(name: str, samples: list[float], base: float, target: float | None = None) -> str:
    """One line: median, p95, ratio to the baseline endpoint measured in the same run, and the target."""
    median = statistics.median(samples)
    verdict = "" if target is None else f"   target < {target:g} ms: {'met' if median < target else 'NOT met'}"
    return (
        f"  {name:<34} median {median:8.1f} ms   p95 {p95(samples):8.1f} ms   "
        f"ratio to /healthz {median / base:7.1f}×{verdict}"
    )
