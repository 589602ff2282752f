"""The database as a solver instance: imported busy time, absences and regional holidays are unavailable
time that the solver's plans respect."""
from datetime import date, datetime, timezone

from booking.models import Absence, PriorityRequest
from booking.services import calendar_sync, reshuffle
from booking.extensions import db
from calendars.worktime import PARIS
from solver.check import violations
from solver.instance import read_instance
from solver.model import solve

from . import factories as f

NOW = datetime(2026, 12, 1, 8, tzinfo=timezone.utc)
BUSY = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:d\r\nDTSTAMP:20261201T000000Z\r\n"
        b"DTSTART;TZID=Europe/Paris:20261209T000000\r\nDTEND;TZID=Europe/Paris:20261210T000000\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n")


def test_the_instance_carries_busy_time_and_the_plan_avoids_it(app):
    company = f.company("serenite", contract_start=date(2026, 1, 1))
    contact = f.user("client", company)
    expert = f.consultant(skills=("migration",), holiday_region="57")
    other = f.consultant(skills=("comptabilite",))
    expert.absences.append(Absence(start_at=datetime(2026, 12, 10, tzinfo=PARIS), end_at=datetime(2026, 12, 11, tzinfo=PARIS)))
    f.booking(other, datetime(2026, 12, 7, 10, tzinfo=PARIS), company=company, contact=contact)
    request = PriorityRequest(company=company, requester=contact, skill="migration", amount=1, unit="days",
                              status="accepted", accepted_at=NOW)
    db.session.add(request)
    db.session.commit()
    calendar_sync.add(None, expert, "Perso", NOW, data=BUSY)
    raw = reshuffle.build(NOW, [request])
    spans = {(u["start"][:10], u["end"][:10]) for c in raw["consultants"] if c["id"] == f"c{expert.id}" for u in c["unavailable"]}
    assert ("2026-12-09", "2026-12-10") in spans and ("2026-12-10", "2026-12-11") in spans
    assert ("2026-12-26", "2026-12-27") in spans  # Alsace-Moselle's 26 December
    assert "2026-12-25" in raw["calendar"]["holidays"]
    instance = read_instance(raw)
    plan = solve(instance, time_limit=3)
    assert violations(instance, plan) == []
    day = plan.placements[0].start.astimezone(PARIS).date()
    assert plan.placements[0].consultant == f"c{expert.id}" and day not in (date(2026, 12, 9), date(2026, 12, 10))
