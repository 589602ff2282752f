"""Each hard rule of the format has its own function in solver/check.py; each is tested here on one fixed
instance (TINY: a Tuesday, consultants a with skill x and b) against a valid plan and plans that break
exactly that rule."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from solver import check
from solver.instance import Move, Placement, Plan, read_instance
from solver.timeline import Timeline
from tests.solver_data import TINY


def at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"2027-03-09T{hhmm}:00+01:00")


def instance_with(**changes):
    raw = json.loads(json.dumps(TINY))
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = raw
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value
    return read_instance(raw)


def move(booking_id: str, frm: tuple[str, str], to: tuple[str, str, str]) -> Move:
    return Move(booking_id, frm[0], at(frm[1]), to[0], at(to[1]), at(to[2]), 60.0)


JOB = Placement("p1", "a", at("09:00"), at("12:30"))
VALID = Plan(
    "FEASIBLE",
    "test",
    [JOB],
    [move("b1", ("a", "09:00"), ("b", "10:00", "10:45")), move("b2", ("a", "10:00"), ("b", "11:00", "11:45"))],
)


def rules(instance, plan):
    t = Timeline(instance)
    occupied = check.final_positions(instance, plan, t)
    return {
        "1": check.jobs_placed(instance, plan, t),
        "2": check.working_time(instance, plan, t, occupied),
        "3": check.no_overlap(occupied),
        "4": check.moves_allowed(instance, plan, t),
        "5": check.inside_horizon(instance, occupied),
    }


def broken(instance, plan) -> dict[str, list[str]]:
    return {rule: found for rule, found in rules(instance, plan).items() if found}


def test_the_valid_plan_breaks_no_rule():
    instance = read_instance(TINY)
    assert broken(instance, VALID) == {} and check.violations(instance, VALID) == []


@pytest.mark.parametrize(
    "placements, message",
    [
        ([], "p1 not placed"),
        ([Placement("p1", "b", at("09:00"), at("12:30"))], "p1: b lacks skill 'x'"),
        ([Placement("p1", "a", at("18:00"), at("21:30"))], "p1: starts 2027-03-09T18:00:00+01:00 outside its window"),
        ([JOB, Placement("p9", "b", at("14:00"), at("15:00"))], "placement p9 is not a priority job"),
    ],
)
def test_rule_1_every_job_placed_in_its_window_with_the_skill(placements, message):
    instance = read_instance(TINY)
    assert message in check.jobs_placed(instance, Plan("FEASIBLE", "t", placements, VALID.moves), Timeline(instance))


def test_rule_1_a_start_off_the_grid():
    instance = read_instance(TINY)
    plan = Plan("FEASIBLE", "t", [Placement("p1", "a", at("09:07"), at("12:37"))], VALID.moves)
    assert any("off the grid" in v for v in check.jobs_placed(instance, plan, Timeline(instance)))


@pytest.mark.parametrize(
    "plan, message",
    [
        (
            Plan("FEASIBLE", "t", [Placement("p1", "a", at("11:00"), at("14:30"))], []),  # across the lunch break
            "p1: not in working time of a or wrong span/end",
        ),
        (
            Plan(
                "FEASIBLE",
                "t",
                [JOB],
                [
                    move("b1", ("a", "09:00"), ("b", "12:45", "13:30")),
                    move("b2", ("a", "10:00"), ("b", "11:00", "11:45")),
                ],
            ),
            "b1: not in working time of b or wrong span/end",
        ),
        (
            Plan(
                "FEASIBLE",
                "t",
                [JOB],
                [
                    move("b1", ("a", "09:00"), ("b", "10:00", "11:00")),  # 60 minutes, not 45
                    move("b2", ("a", "10:00"), ("b", "11:00", "11:45")),
                ],
            ),
            "b1: not in working time of b or wrong span/end",
        ),
    ],
)
def test_rule_2_working_time_and_span(plan, message):
    instance = read_instance(TINY)
    t = Timeline(instance)
    assert message in check.working_time(instance, plan, t, check.final_positions(instance, plan, t))


def test_rule_2_an_absence_makes_a_booking_left_in_place_invalid():
    instance = instance_with(
        consultants__1__unavailable=[{"start": "2027-03-09T15:00:00+01:00", "end": "2027-03-09T16:00:00+01:00"}]
    )
    assert broken(instance, VALID) == {"2": ["b5: not in working time of b or wrong span/end"]}


def test_rule_3_no_two_items_at_once():
    instance = read_instance(TINY)
    plan = Plan(
        "FEASIBLE",
        "t",
        [JOB],
        [move("b1", ("a", "09:00"), ("b", "09:15", "10:00")), move("b2", ("a", "10:00"), ("b", "11:00", "11:45"))],
    )
    assert broken(instance, plan) == {"3": ["b4 and b1 overlap on b"]}
    unmoved = Plan("FEASIBLE", "t", [JOB], [])
    assert check.no_overlap(check.final_positions(instance, unmoved, Timeline(instance))) == [
        "b1 and p1 overlap on a",
        "p1 and b2 overlap on a",
    ]


def test_rule_3_an_item_covering_two_others_overlaps_both():
    spans = [
        check.Occupied("long", "a", at("09:00"), at("12:00")),
        check.Occupied("x", "a", at("09:30"), at("10:00")),
        check.Occupied("y", "a", at("11:00"), at("11:30")),
        check.Occupied("z", "a", at("12:00"), at("12:30")),
    ]
    assert check.no_overlap(spans) == ["long and x overlap on a", "long and y overlap on a"]


@pytest.mark.parametrize(
    "changes, plan_moves, message",
    [
        ({"bookings__0__pinned": True}, None, "move b1: the booking is pinned"),
        ({"now": "2027-03-08T09:00:00+01:00"}, None, "move b1: inside the freeze horizon"),
        ({"bookings__0__eligible": ["a"]}, None, "move b1: b is not eligible"),
        (
            {"bookings__0__window": {"start": "2027-03-09T00:00:00+01:00", "end": "2027-03-09T10:30:00+01:00"}},
            None,
            "move b1: outside the client's window",
        ),
        ({}, [move("b3", ("a", "14:30"), ("a", "14:30", "15:15"))], "move b3: neither consultant nor start changed"),
        ({}, [move("b5", ("a", "15:00"), ("b", "16:00", "16:45"))], "move b5: 'from' does not match the instance"),
        ({}, [move("b99", ("a", "15:00"), ("b", "16:00", "16:45"))], "move b99: no such booking"),
    ],
)
def test_rule_4_moves_allowed(changes, plan_moves, message):
    instance = instance_with(**changes)
    plan = Plan("FEASIBLE", "t", [JOB], plan_moves if plan_moves is not None else VALID.moves)
    assert message in check.moves_allowed(instance, plan, Timeline(instance))


def test_rule_4_alone_when_only_the_move_is_forbidden():
    instance = instance_with(bookings__0__pinned=True)
    assert broken(instance, VALID) == {"4": ["move b1: the booking is pinned"]}


def test_rule_5_everything_inside_the_horizon():
    instance = instance_with(horizon={"start": "2027-03-09T00:00:00+01:00", "end": "2027-03-09T15:00:00+01:00"})
    assert broken(instance, VALID)["5"] == ["b3: outside the horizon", "b5: outside the horizon"]
