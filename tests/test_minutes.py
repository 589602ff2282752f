"""Business time in whole minutes: rounding that keeps comparisons exact, the local grid, clock changes."""

from datetime import UTC, date, datetime, time, timedelta

from calendars import minutes
from calendars.worktime import PARIS, parse_week

UTC = UTC


def test_starts_floor_and_ends_ceil_to_the_minute():
    instant = datetime(2026, 12, 8, 9, 7, 30, tzinfo=UTC)
    assert minutes.instant(minutes.floor(instant)) == instant.replace(second=0)
    assert minutes.instant(minutes.ceil(instant)) == instant.replace(minute=8, second=0)
    whole = instant.replace(second=0)
    assert minutes.floor(whole) == minutes.ceil(whole)


def test_holes_are_merged_and_subtracted_on_the_local_grid():
    week = parse_week({"1": [["09:00", "12:30"]]})
    blocks = minutes.day_blocks(week, None, date(2026, 12, 8))  # a Tuesday
    ten = minutes.floor(datetime(2026, 12, 8, 10, tzinfo=PARIS))
    # 10:00–10:45 and 10:30–11:07:30 (an imported event with seconds) overlap: one hole to 11:08
    holes = minutes.merged([(ten + 30, ten + 68), (ten, ten + 45)])
    assert holes == ([ten], [ten + 68])
    starts = minutes.free_starts(blocks, holes, 0, 10**9, 45, 15)
    local = [minutes.instant(s).astimezone(PARIS).strftime("%H:%M") for s, _ in starts]
    assert local == ["09:00", "09:15", "11:15", "11:30", "11:45"]


def test_a_block_across_a_clock_change_keeps_the_local_grid_after_it():
    """A night pattern on the Sunday clocks go back (03:00 → 02:00): every start stays on a local quarter."""
    week = parse_week({"6": [["01:00", "05:00"]]})
    day = date(2026, 10, 25)
    (block,) = minutes.day_blocks(week, None, day)
    assert block[2] is None and block[1] - block[0] == 5 * 60  # five real hours in that block
    gap = minutes.floor(datetime.combine(day, time(2, 20), PARIS).astimezone(UTC) + timedelta(hours=1))
    starts = minutes.free_starts((block,), ([block[0]], [gap]), 0, 10**9, 45, 15)
    assert all(minutes.instant(s).astimezone(PARIS).minute % 15 == 0 for s, _ in starts)
    assert minutes.instant(starts[0][0]).astimezone(PARIS).strftime("%H:%M") == "02:30"
