"""Business time in whole minutes since the epoch: the slot pipeline's arithmetic, where datetimes cost too much.

A start becomes a minute by flooring and an end by ceiling, which keeps every comparison with a slot of
whole minutes exact (s < b ⟺ s < ceil(b); a < s + d ⟺ floor(a) < s + d). A working block carries its
local midnight, so that the slot grid, counted in local wall time, is one modulo; a block that a clock
change crosses (a night pattern) carries None, and each free segment is placed on the grid from its own
local time, as the datetime pipeline did.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from .worktime import PARIS, WorkCalendar

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
Block = tuple[int, int, "int | None"]  # start, end, the minute of local midnight (None: a clock change inside)


def floor(instant: datetime) -> int:
    return (instant - EPOCH) // MINUTE


def ceil(instant: datetime) -> int:
    return -((EPOCH - instant) // MINUTE)


def instant(minute: int) -> datetime:
    """The UTC instant of a minute."""
    return EPOCH + minute * MINUTE


def midnight(minute: int) -> int:
    """The minute that local midnight would be if the day kept this minute's UTC offset."""
    local = instant(minute).astimezone(PARIS)
    return minute - local.hour * 60 - local.minute


@lru_cache(maxsize=64)
def _calendar(week: tuple, region: str | None) -> WorkCalendar:
    return WorkCalendar(week=week, holiday_region=region)


@lru_cache(maxsize=16384)
def day_blocks(week: tuple, region: str | None, day: date) -> tuple[Block, ...]:
    """A pattern's working blocks on one local day (public holidays give none), without absences."""
    blocks = []
    for a, b in _calendar(week, region).day_intervals(day):
        start, end = floor(a), ceil(b)
        same = a.astimezone(PARIS).utcoffset() == b.astimezone(PARIS).utcoffset()
        blocks.append((start, end, midnight(start) if same else None))
    return tuple(blocks)


def merged(intervals: Iterable[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """The union of intervals as sorted starts and ends (disjoint, so both lists are sorted)."""
    starts: list[int] = []
    ends: list[int] = []
    for a, b in sorted(intervals):
        if ends and a <= ends[-1]:
            ends[-1] = max(ends[-1], b)
        elif a < b:
            starts.append(a)
            ends.append(b)
    return starts, ends


def _on_grid(minute: int, zero: int | None, grid: int) -> int:
    """The first start on the local grid at or after `minute`."""
    if zero is None:
        zero = midnight(minute)
    return minute + (zero - minute) % grid


def free_starts(
    blocks: tuple[Block, ...], holes: tuple[list[int], list[int]], low: int, high: int, length: int, grid: int
) -> list[tuple[int, int]]:
    """(start, end) of every grid start in [low, high) whose `length` fits in a block outside the holes."""
    starts, ends = holes
    found: list[tuple[int, int]] = []
    for a, b, zero in blocks:
        cursor, stop = max(a, low), min(b, high)
        if cursor >= stop:
            continue
        index = bisect_right(ends, cursor)  # the first hole that ends after the cursor
        segments = []
        while index < len(starts) and starts[index] < stop:
            if starts[index] > cursor:
                segments.append((cursor, starts[index]))
            cursor = max(cursor, ends[index])
            index += 1
        if cursor < stop:
            segments.append((cursor, stop))
        for p, q in segments:
            found.extend((s, s + length) for s in range(_on_grid(p, zero, grid), q - length + 1, grid))
    return found


def grid_starts(blocks: tuple[Block, ...], low: int, high: int, length: int, grid: int) -> set[int]:
    """Every start the blocks could offer in [low, high), before anything is subtracted."""
    return {s for s, _ in free_starts(blocks, ([], []), low, high, length, grid)}
