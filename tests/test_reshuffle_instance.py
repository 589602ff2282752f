"""The database as a solver instance: imported busy time, absences and regional holidays are unavailable
time that the solver's plans respect."""

from datetime import UTC, date, datetime

from booking.extensions import db
from booking.models import Absence, PriorityRequest
from booking.services import calendar_sync, reshuffle
from calendars.worktime import PARIS
from solver.check import violations
from solver.instance import read_instance
from solver.model import solve

from . import factories as f

NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)
BUSY = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:d\r\nDTSTAMP:20261201T000000Z\r\n"
    b"DTSTART;TZID=Europe/Paris:20261209T000000\r\nDTEND;TZID=Europe/Paris:20261210T000000\r\nEND:VEVENT\r\n"
    b"END:VCALENDAR\r\n"
)


def test_the_instance_carries_busy_time_and_the_plan_avoids_it(app):
    company = f.company("serenite", contract_start=date(2026, 1, 1))
    contact = f.user("client", company)
    expert = f.consultant(skills=("migration",), holiday_region="57")
    other = f.consultant(skills=("comptabilite",))
    expert.absences.append(
        Absence(start_at=datetime(2026, 12, 10, tzinfo=PARIS), end_at=datetime(2026, 12, 11, tzinfo=PARIS))
    )
    f.booking(other, datetime(2026, 12, 7, 10, tzinfo=PARIS), company=company, contact=contact)
    request = PriorityRequest(
        company=company, requester=contact, skill="migration", amount=1, unit="days", status="accepted", accepted_at=NOW
    )
    db.session.add(request)
    db.session.commit()
    calendar_sync.add(None, expert, "Perso", NOW, data=BUSY)
    raw = reshuffle.build(NOW, [request])
    spans = {
        (u["start"][:10], u["end"][:10])
        for c in raw["consultants"]
        if c["id"] == f"c{expert.id}"
        for u in c["unavailable"]
    }
    assert ("2026-12-09", "2026-12-10") in spans  # the imported busy day
    # the absence; (Alsace-Moselle's 26 December is a Saturday in 2026: no business time to take away)
    assert date(2026, 12, 10) in _unavailable_days(raw, expert)
    assert "2026-12-25" in raw["calendar"]["holidays"]
    instance = read_instance(raw)
    plan = solve(instance, time_limit=3)
    assert violations(instance, plan) == []
    day = plan.placements[0].start.astimezone(PARIS).date()
    assert plan.placements[0].consultant == f"c{expert.id}" and day not in (date(2026, 12, 9), date(2026, 12, 10))


def _unavailable_days(raw: dict, consultant) -> set[date]:
    """Local days on which the instance says this consultant is unavailable for all of business time."""
    spans = [
        (datetime.fromisoformat(u["start"]), datetime.fromisoformat(u["end"]))
        for c in raw["consultants"]
        if c["id"] == f"c{consultant.id}"
        for u in c["unavailable"]
    ]
    days = set()
    for day in {a.astimezone(PARIS).date() for a, _ in spans}:
        hours = sum(
            (
                (
                    min(b, datetime.combine(day, datetime.max.time(), PARIS))
                    - max(a, datetime.combine(day, datetime.min.time(), PARIS))
                ).total_seconds()
                for a, b in spans
                if a.astimezone(PARIS).date() <= day <= b.astimezone(PARIS).date()
            )
        )
        if hours >= 7.5 * 3600:
            days.add(day)
    return days


def test_a_part_time_pattern_is_the_instance_s_unavailable_time_as_it_is_the_slot_list_s(app):
    """One calendar: the solver instance and the slot list both follow the consultant's own week."""
    from booking.services import availability

    company = f.company("serenite", contract_start=date(2026, 1, 1))
    contact = f.user("client", company)
    # Monday all day, Tuesday morning 08:30–12:00; nothing else
    part_time = f.consultant(
        skills=("paie",), working_pattern={"0": [["09:00", "12:30"], ["14:00", "18:00"]], "1": [["08:30", "12:00"]]}
    )
    request = PriorityRequest(
        company=company, requester=contact, skill="paie", amount=2, unit="hours", status="accepted", accepted_at=NOW
    )
    db.session.add(request)
    db.session.commit()
    raw = reshuffle.build(NOW, [request])
    unavailable = [
        (datetime.fromisoformat(u["start"]), datetime.fromisoformat(u["end"]))
        for c in raw["consultants"]
        if c["id"] == f"c{part_time.id}"
        for u in c["unavailable"]
    ]
    wednesday, tuesday = date(2026, 12, 2), date(2026, 12, 8)
    assert _unavailable_days(raw, part_time) >= {wednesday, date(2026, 12, 3), date(2026, 12, 4)}
    tuesday_afternoon = datetime(2026, 12, 8, 14, tzinfo=PARIS)
    assert any(a <= tuesday_afternoon < b for a, b in unavailable)
    assert not any(
        a < datetime(2026, 12, 7, 18, tzinfo=PARIS) and datetime(2026, 12, 7, 9, tzinfo=PARIS) < b
        for a, b in unavailable
    )  # Monday is all working time
    instance = read_instance(raw)
    plan = solve(instance, time_limit=3)
    assert violations(instance, plan) == []
    placed = plan.placements[0]
    assert placed.consultant == f"c{part_time.id}"
    assert placed.start.astimezone(PARIS).weekday() in (0, 1)  # Monday or Tuesday morning only
    assert not (placed.start.astimezone(PARIS).date() == tuesday and placed.start.astimezone(PARIS).hour >= 12)
    # the slot list follows the same week: only Mondays and Tuesday mornings (from 08:30)
    found = availability.slots(
        "erplib",
        company,
        datetime(2026, 12, 7, tzinfo=PARIS),
        datetime(2026, 12, 12, tzinfo=PARIS),
        NOW,
        consultant_id=part_time.id,
    )
    assert {s.start.astimezone(PARIS).weekday() for s in found} == {0, 1}
    assert min(s.start for s in found if s.start.astimezone(PARIS).date() == tuesday) == datetime(
        2026, 12, 8, 8, 30, tzinfo=PARIS
    )


def test_a_priority_consulting_already_placed_is_its_consultants_unavailable_time(app):
    """A plan took a paid 4-day priority consulting for a movable one-day block and shrank it to one day: an
    applied consulting is not the solver's to move, and its whole time is its consultant's."""
    company = f.company("serenite", contract_start=date(2026, 1, 1))
    contact = f.user("client", company)
    expert = f.consultant(skills=("migration",))
    f.consultant(skills=("migration",))  # somewhere else for the new job
    # Monday 30 November to Wednesday 9 December: begun before now, its remaining days count too
    started, ends = datetime(2026, 11, 30, 9, tzinfo=PARIS), datetime(2026, 12, 9, 18, tzinfo=PARIS)
    minutes = int((ends - started).total_seconds() // 60)
    placed = f.booking(expert, started, minutes, company=company, contact=contact, kind="priority_consulting")
    request = PriorityRequest(
        company=company, requester=contact, skill="migration", amount=2, unit="days", status="accepted", accepted_at=NOW
    )
    db.session.add(request)
    db.session.commit()
    raw = reshuffle.build(NOW, [request])
    assert f"b{placed.id}" not in {b["id"] for b in raw["bookings"]}
    days = {date(2026, 12, d) for d in (1, 2, 3, 4, 7, 8, 9)}
    assert _unavailable_days(raw, expert) >= days
    instance = read_instance(raw)
    plan = solve(instance, time_limit=3)
    assert violations(instance, plan) == [] and not plan.moves
    assert all(p.consultant != f"c{expert.id}" or p.start.astimezone(PARIS).date() not in days for p in plan.placements)


def test_a_booking_s_window_stops_where_a_planned_tier_without_its_service_starts(app):
    """Sérénité until Thursday 10 December, Standard (no minor update) from Friday: a minor update of Wednesday
    9th may move until Thursday's end only, a session (which Standard has too) five days on as every booking."""
    from booking.models import ContractPeriod

    company = f.company("serenite", contract_start=date(2026, 1, 1))
    contact = f.user("client", company)
    installer = f.consultant(skills=("installation",))
    db.session.add(ContractPeriod(company_id=company.id, starts_on=date(2026, 12, 11), tier="standard"))
    update = f.booking(installer, datetime(2026, 12, 9, 14, tzinfo=PARIS), company=company, contact=contact)
    update.kind = "minor_update"
    session = f.booking(installer, datetime(2026, 12, 8, 10, tzinfo=PARIS), company=company, contact=contact)
    db.session.commit()
    windows = {b["id"]: b["window"] for b in reshuffle.build(NOW, [])["bookings"]}
    assert windows[f"b{update.id}"]["end"] == "2026-12-11T00:00:00+01:00"
    assert windows[f"b{session.id}"]["end"] == "2026-12-13T10:00:00+01:00"
    assert windows[f"b{update.id}"]["start"] == windows[f"b{session.id}"]["start"] == "2026-12-01T09:00:00+01:00"
