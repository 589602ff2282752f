"""The planner's week (services/planner_week.py) and its bars (services/day_bars.py): one geometry, and a
number of SQL statements that does not grow with the consultants shown."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event

from booking.extensions import db
from booking.models import Absence, ExternalBusy, ExternalCalendar
from booking.services.day_bars import Bar, day_bars
from booking.services.planner_week import week_of
from calendars.worktime import PARIS

from . import factories as f

MONDAY = date(2026, 12, 7)


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


@pytest.mark.parametrize(
    "start, end, expected",
    [
        # one hour from 10:00 on a 09:00–18:00 bar
        ("2026-12-08 10:00", "2026-12-08 11:00", [(date(2026, 12, 8), 11.1, 11.1)]),
        # Friday afternoon to Monday noon: Friday's end, no weekend, Monday's start
        ("2026-12-11 14:00", "2026-12-14 12:00", [(date(2026, 12, 11), 55.6, 44.4), (date(2026, 12, 14), 0.0, 33.3)]),
        # a whole day ending at midnight does not leak a sliver onto the next day
        ("2026-12-09 00:00", "2026-12-10 00:00", [(date(2026, 12, 9), 0.0, 100.0)]),
        # before the opening: a sliver at the left edge, still visible
        ("2026-12-08 07:00", "2026-12-08 08:00", [(date(2026, 12, 8), 0.0, 0.8)]),
        # after the closing: nothing to draw
        ("2026-12-08 19:00", "2026-12-08 20:00", []),
    ],
)
def test_a_span_becomes_one_bar_per_working_day(start, end, expected):
    found = day_bars("erplib", paris(start), paris(end), "x")
    assert [(day, bar.left, bar.width) for day, bar in found] == expected
    assert all(bar == Bar("erplib", bar.left, bar.width, "x", paris(start), paris(end)) for _day, bar in found)


def test_a_bar_is_cut_to_the_days_asked_for():
    found = day_bars(
        "absence", paris("2026-12-03 09:00"), paris("2026-12-09 18:00"), first=MONDAY, last=MONDAY + timedelta(days=4)
    )
    assert [day for day, _bar in found] == [date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9)]


def _consultant_with_a_busy_week(n: int):
    consultant = f.consultant()
    for day in range(5):
        f.booking(
            consultant, paris(f"2026-12-{7 + day:02d} {9 + n % 5:02d}:00"), company=f.company(name=f"Client {n}-{day}")
        )
    db.session.add(
        Absence(
            consultant_id=consultant.id,
            start_at=paris("2026-12-10 14:00"),
            end_at=paris("2026-12-10 18:00"),
            reason="Formation",
        )
    )
    db.session.add(
        ExternalBusy(
            calendar=ExternalCalendar(consultant_id=consultant.id, label="Perso"),
            consultant_id=consultant.id,
            start_at=paris("2026-12-11 16:00"),
            end_at=paris("2026-12-11 17:00"),
        )
    )
    return consultant


def test_the_week_holds_each_consultants_bookings_absences_and_busy_time(app):
    consultant = _consultant_with_a_busy_week(0)
    db.session.commit()
    week = week_of(date(2026, 12, 9))  # a Wednesday: its week starts on Monday
    assert week.monday == MONDAY and week.days[-1] == date(2026, 12, 11)
    assert (week.previous, week.following) == (date(2026, 11, 30), date(2026, 12, 14))
    assert [b.label for b in week.cells[(consultant.id, MONDAY)]] == ["Client 0-0 09:00"]
    assert [(b.kind, b.left, b.width, b.label) for b in week.cells[(consultant.id, date(2026, 12, 10))]] == [
        ("erplib", 0.0, 8.3, "Client 0-3 09:00"),
        ("absence", 55.6, 44.4, "Formation"),
    ]
    assert [b.kind for b in week.cells[(consultant.id, date(2026, 12, 11))]] == ["erplib", "busy"]


def _statements_for_the_week_page(client) -> tuple[int, str]:
    count = [0]

    def counted(*_args):
        count[0] += 1

    event.listen(db.engine, "before_cursor_execute", counted)
    try:
        page = client.get("/planification/semaine?semaine=2026-12-07")
    finally:
        event.remove(db.engine, "before_cursor_execute", counted)
    assert page.status_code == 200
    return count[0], page.get_data(as_text=True)


def test_the_week_page_costs_the_same_statements_for_one_consultant_or_ten(pg_app):
    client = pg_app.test_client()
    planner = f.user("planner")
    _consultant_with_a_busy_week(0)
    db.session.commit()
    client.post("/login", data={"email": planner.email, "password": "secret-pass"})
    one, page = _statements_for_the_week_page(client)
    assert page.count('kind-erplib" style=') == 5 and page.count('kind-absence" style=') == 1
    for n in range(1, 10):
        _consultant_with_a_busy_week(n)
    db.session.commit()
    ten, page = _statements_for_the_week_page(client)
    assert page.count('kind-erplib" style=') == 50 and page.count('kind-busy" style=') == 10
    assert ten == one


def _statements(work) -> int:
    count = [0]

    def counted(*_args):
        count[0] += 1

    event.listen(db.engine, "before_cursor_execute", counted)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", counted)
    return count[0]


def test_a_plans_view_costs_the_same_statements_for_one_move_or_ten(pg_app):
    from booking.models import ReshufflePlan
    from booking.services import plan_view, reshuffle, solver_ids
    from solver.instance import PLAN_FORMAT

    now = paris("2026-11-30 09:00")
    consultant, other = f.consultant(), f.consultant()
    booked = [
        f.booking(
            consultant, paris(f"2026-12-{7 + n % 5:02d} {9 + n // 5:02d}:00"), company=f.company(name=f"Client {n}")
        )
        for n in range(10)
    ]
    db.session.commit()
    instance = reshuffle.build(now, [])

    def plan_moving(bookings) -> ReshufflePlan:
        moves = [
            {
                "id": solver_ids.booking(b.id),
                "from": {"consultant": solver_ids.consultant(consultant.id), "start": b.start_at.isoformat()},
                "to": {
                    "consultant": solver_ids.consultant(other.id),
                    "start": b.start_at.isoformat(),
                    "end": b.end_at.isoformat(),
                },
                "compensation_eur": 60.0,
            }
            for b in bookings
        ]
        plan = ReshufflePlan(
            kind="repair",
            status="ready",
            created_at=now,
            instance=instance,
            plan={
                "format": PLAN_FORMAT,
                "status": "OPTIMAL",
                "solver": "cp-sat",
                "placements": [],
                "moves": moves,
                "objective": {"value": 1.0},
            },
        )
        db.session.add(plan)
        db.session.commit()
        return plan

    one, ten = plan_moving(booked[:1]), plan_moving(booked)
    views = {}
    counts = [
        _statements(lambda p=p: (db.session.expire_all(), views.__setitem__(p.id, plan_view.describe(p))))
        for p in (one, ten)
    ]
    assert [len(views[p.id].moves) for p in (one, ten)] == [1, 10]
    assert {m.booking.company.name for m in views[ten.id].moves} == {f"Client {n}" for n in range(10)}
    assert views[ten.id].per_client[0] == ("Client 0", 60.0)
    # before on the first consultant, after on the other, for each of the five days
    assert len(views[ten.id].timelines) == 10
    assert counts[0] == counts[1]
