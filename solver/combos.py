"""Joint placements of the priority jobs, cheapest lower bound first (a best-first walk over each job's
placements sorted by cost, so that stopping anywhere leaves every unseen combination at least as dear
as the next one)."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

Place = TypeVar("Place")


def cheapest_first(
    costs: Mapping[str, Sequence[tuple[float, Place]]], compatible: Callable[[dict[str, Place]], bool]
) -> Iterator[tuple[float, dict[str, Place]]]:
    """(sum of the jobs' costs, {job: place}) in increasing sum, skipping incompatible combinations.
    Each index tuple is reached once: a successor raises one coordinate, and is pushed only by its
    predecessor on the last coordinate that is not zero before it (the usual k-best enumeration)."""
    names = sorted(costs)
    lists = [sorted(costs[name], key=lambda c: c[0]) for name in names]
    if not names:  # nothing to place (a repair): one empty combination
        yield 0.0, {}
        return
    if any(not options for options in lists):
        return
    first = (0,) * len(lists)
    heap = [(sum(options[0][0] for options in lists), first)]
    while heap:
        total, index = heapq.heappop(heap)
        combo = {name: lists[k][i][1] for k, (name, i) in enumerate(zip(names, index, strict=True))}
        if compatible(combo):
            yield total, combo
        last = max((k for k, i in enumerate(index) if i), default=0)
        for k in range(last, len(index)):  # raise only coordinates at or after the last raised one
            if index[k] + 1 < len(lists[k]):
                successor = index[:k] + (index[k] + 1,) + index[k + 1 :]
                heapq.heappush(heap, (total - lists[k][index[k]][0] + lists[k][index[k] + 1][0], successor))
