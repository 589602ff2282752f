"""The troubleshooter ("why is this slot not free?"): every blocking rule per consultant, from the same steps
as `decide`, which must agree with it instant by instant, on the DST weeks and on a week with a holiday."""

import html
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking import contract
from booking.extensions import db
from booking.models import Absence, ExternalBusy, ExternalCalendar
from booking.services import availability, reasons, tokens, why_not
from calendars.worktime import PARIS, WorkCalendar

from . import factories as f

BUSINESS = WorkCalendar()
ORDER = {"holiday": 0, "closed": 1, "absence": 2, "busy": 3, "taken": 4, "daily_cap": 5}


def last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def working_days_after(day: date, count: int) -> list[date]:
    found = []
    while len(found) < count:
        day += timedelta(days=1)
        if BUSINESS.is_working_day(day):
            found.append(day)
    return found


def first_holiday_after(day: date) -> date:
    while not (day.weekday() < 5 and BUSINESS.is_holiday(day)):
        day += timedelta(days=1)
    return day


def at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), PARIS)


# The weeks around the clock changes (last Sundays of March and October) and one with a French holiday on a
# weekday; "now" is the Monday a week before, so that notice and horizon let the whole week through.
SUNDAYS = [last_sunday(2027, 3), last_sunday(2027, 10)]
HOLIDAY = first_holiday_after(date(2027, 5, 1) + timedelta(days=1))  # a weekday holiday in May 2027
# the week that starts the day after each clock change (now, a week before, is on the other side of it)
WEEKS = [
    ("dst-march", SUNDAYS[0] + timedelta(days=1)),
    ("dst-october", SUNDAYS[1] + timedelta(days=1)),
    ("holiday", HOLIDAY),
]


def _now(day: date) -> datetime:
    return at(day - timedelta(days=day.weekday() + 7), "08:00")


def _world(day: date):
    """Two consultants: one with a morning absence, an imported event and a booking; one with a full day."""
    first, second = f.consultant(), f.consultant(daily_cap=1)
    company, other = f.company("serenite"), f.company("serenite", name="Autre client")
    work = working_days_after(day - timedelta(days=day.weekday() + 1), 3)  # the first three of its week
    first.absences.append(Absence(start_at=at(work[0], "09:00"), end_at=at(work[0], "10:30")))
    db.session.add(
        ExternalBusy(
            calendar=ExternalCalendar(consultant_id=first.id, label="Perso"),
            consultant_id=first.id,
            start_at=at(work[1], "14:00"),
            end_at=at(work[1], "15:00"),
        )
    )
    f.booking(first, at(work[1], "10:00"), company=other)
    f.booking(second, at(work[2], "09:00"), company=other)
    db.session.commit()
    return company, first, second, work


def _instants(day: date):
    """Every quarter hour from 07:00 to 19:00, Monday to Sunday of `day`'s week, and a few off the grid."""
    monday = day - timedelta(days=day.weekday())
    for n in range(7):
        for minutes in range(7 * 60, 19 * 60, 15):
            yield datetime.combine(monday + timedelta(days=n), time(), PARIS) + timedelta(minutes=minutes)
        yield at(monday + timedelta(days=n), "10:07")


@pytest.mark.parametrize("name, day", WEEKS, ids=[w[0] for w in WEEKS])
def test_the_troubleshooter_agrees_with_decide_at_every_instant(any_app, name, day):
    company, *_ = _world(day)
    now, seen = _now(day), set()
    for start in _instants(day):
        outcome = availability.decide("erplib", company, start, now)
        verdict = availability.why_not("erplib", company, start, now)
        firsts = [blockers[0].reason for _, blockers in verdict.consultants if blockers]
        seen |= {b.reason.code for b in verdict.shared} | {b.reason.code for _, bs in verdict.consultants for b in bs}
        seen |= {"free"} if verdict.slot else set()
        if isinstance(outcome, availability.Slot):
            assert verdict.slot == outcome and not verdict.shared, start
            assert any(not blockers for _, blockers in verdict.consultants), start
        else:
            assert verdict.slot is None, start
            assert verdict.shared or all(blockers for _, blockers in verdict.consultants), start
            expected = verdict.shared[0].reason if verdict.shared else max(firsts, key=lambda r: ORDER[r.code])
            assert outcome == expected, start
    # the week's world exercises each rule (so that agreement is not vacuous)
    assert {"free", "grid", "closed", "absence", "busy", "taken", "daily_cap"} <= seen
    assert ("holiday" in seen) == any(BUSINESS.is_holiday(d) for d in _days(day))


def _days(day: date) -> list[date]:
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=n) for n in range(7)]


def test_the_march_clock_change_keeps_the_opening_hours_in_paris(app):
    company, first, _, _ = _world(SUNDAYS[0])
    monday = working_days_after(SUNDAYS[0], 1)[0]
    now = _now(monday)
    assert availability.why_not("erplib", company, at(monday, "09:00"), now, consultant_id=first.id).slot
    late = availability.why_not("erplib", company, at(monday, "17:30"), now, consultant_id=first.id)
    assert [b.reason.code for _, bs in late.consultants for b in bs] == ["closed"]


def test_a_holiday_lists_the_holiday_and_the_closed_day(app):
    company, first, _, _ = _world(HOLIDAY)
    verdict = availability.why_not("erplib", company, at(HOLIDAY, "10:00"), _now(HOLIDAY), consultant_id=first.id)
    codes = [b.reason.code for _, bs in verdict.consultants for b in bs]
    assert codes == ["holiday", "closed"] and verdict.slot is None
    assert "est un jour férié" in verdict.consultants[0][1][0].reason.sentence


def test_every_rule_is_listed_with_what_blocks(app, monkeypatch):
    """An instant blocked by an absence, a booking, an imported event, the buffer and the notice at once."""
    day = working_days_after(SUNDAYS[1], 1)[0]
    consultant = f.consultant(daily_cap=1)
    company = f.company("serenite")
    consultant.absences.append(Absence(start_at=at(day, "09:00"), end_at=at(day, "09:30")))
    db.session.add(
        ExternalBusy(
            calendar=ExternalCalendar(consultant_id=consultant.id, label="Perso"),
            consultant_id=consultant.id,
            start_at=at(day, "09:40"),
            end_at=at(day, "10:00"),
        )
    )
    f.booking(consultant, at(day, "10:00"))  # ends 10:45; its buffer reaches the start of 09:45's ten minutes
    db.session.commit()
    terms = contract.current()
    monkeypatch.setattr(contract, "current", lambda: replace(terms, policy=replace(terms.policy, buffer_minutes=10)))
    verdict = availability.why_not("erplib", company, at(day, "09:15"), at(day, "07:00"))
    assert [b.reason.code for b in verdict.shared] == ["notice"]
    blockers = verdict.consultants[0][1]
    assert [b.reason.code for b in blockers] == ["absence", "busy", "taken", "daily_cap"]
    absence, imported, booked, _ = blockers
    assert absence.interval == (at(day, "09:00"), at(day, "09:30"))
    assert imported.interval == (at(day, "09:40"), at(day, "10:00")) and not imported.buffered
    assert booked.interval == (at(day, "10:00"), at(day, "10:45")) and booked.buffered  # 10:00 = end, buffer 10 min
    # decide stops at the first rule: the notice, shared by every consultant
    assert availability.decide("erplib", company, at(day, "09:15"), at(day, "07:00")).code == "notice"


def test_nobody_offering_the_service_is_one_shared_reason(app):
    company = f.company("serenite")
    db.session.commit()
    verdict = availability.why_not("erplib", company, at(HOLIDAY, "10:00"), _now(HOLIDAY))
    assert [b.reason.code for b in verdict.shared] == ["no_consultant"] and not verdict.consultants
    assert set(ORDER) < set(reasons.CODES)


def _page(client, auth, company, consultant, start: datetime, kind="erplib"):
    planner = f.user("planner")
    db.session.commit()
    auth.login(planner.email)
    local = start.astimezone(PARIS)
    return client.get(
        "/planification/pourquoi/",
        query_string={
            "consultant": consultant.id if consultant else "",
            "company": company.id,
            "service": kind,
            "day": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
        },
    )


def test_the_planner_page_lists_each_rule_with_what_it_found(app, client, auth):
    company, first, second, work = _world(HOLIDAY)
    with time_machine.travel(_now(HOLIDAY), tick=False):
        r = _page(client, auth, company, None, at(work[1], "14:00"))
    text = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 200
    assert "Agenda importé « Perso » : occupé" in text and "<code>busy</code>" in text  # first's event
    assert "Libre" in text and second.name in text  # the team is free: the second consultant takes it
    with time_machine.travel(_now(HOLIDAY), tick=False):
        taken = html.unescape(_page(client, auth, company, first, at(work[1], "10:15")).get_data(as_text=True))
    assert "<code>taken</code>" in taken and "(Autre client)" in taken and "Libre" not in taken
    with time_machine.travel(_now(HOLIDAY), tick=False):
        free = _page(client, auth, company, first, at(work[2], "09:00"))
    assert "Libre" in free.get_data(as_text=True) and first.name in free.get_data(as_text=True)
    with time_machine.travel(_now(HOLIDAY), tick=False):
        holiday = _page(client, auth, company, first, at(HOLIDAY, "10:00"))
    assert "est un jour férié" in html.unescape(holiday.get_data(as_text=True))


def test_the_page_refuses_bad_input_and_clients(app, client, auth):
    company, first, *_ = _world(HOLIDAY)
    planner, customer = f.user("planner"), f.user("client", company)
    db.session.commit()
    auth.login(planner.email)
    r = client.get(
        "/planification/pourquoi/",
        query_string={"company": company.id, "service": "erplib", "day": "2027-02-30", "time": "25:00"},
    )
    assert r.status_code == 422 and "aria-invalid" in r.get_data(as_text=True)
    assert client.get("/planification/pourquoi/").status_code == 200  # the empty form
    auth.logout()
    auth.login(customer.email)
    assert client.get("/planification/pourquoi/").status_code == 403


def test_the_api_explains_in_each_reader_s_words(app, client):
    company, first, second, work = _world(HOLIDAY)
    planner, customer = f.user("planner"), f.user("client", company)
    staff_key, client_key = tokens.create(planner), tokens.create(customer)
    db.session.commit()
    start = at(work[1], "10:15").isoformat()
    with time_machine.travel(_now(HOLIDAY), tick=False):
        staff = client.get(
            "/api/v1/availability/why",
            headers={"Authorization": f"Bearer {staff_key}"},
            query_string={"service": "erplib", "start": start, "consultant_id": first.id, "company_id": company.id},
        )
        mine = client.get(
            "/api/v1/availability/why",
            headers={"Authorization": f"Bearer {client_key}"},
            query_string={"service": "erplib", "start": start, "consultant_id": first.id},
        )
        bad = client.get(
            "/api/v1/availability/why",
            headers={"Authorization": f"Bearer {client_key}"},
            query_string={"service": "erplib", "start": "demain"},
        )
    assert staff.status_code == 200 and staff.json["free"] is False
    [row] = staff.json["consultants"]
    assert row["consultant"] == first.name and [r["code"] for r in row["rules"]] == ["taken"]
    assert "Autre client" in row["rules"][0]["detail"]
    [row] = mine.json["consultants"]
    assert row["consultant"] is None and row["rules"][0]["detail"] == "déjà réservé"
    assert "Autre client" not in mine.get_data(as_text=True)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert "/api/v1/availability/why" in client.get("/api/v1/openapi.json").json["paths"]


def test_a_refused_booking_says_why_in_the_client_s_words(app, client, auth):
    company, first, second, work = _world(HOLIDAY)
    customer = f.user("client", company)
    f.booking(first, at(work[2], "09:00"), company=f.company(name="Autre client bis"))  # both taken at 09:15
    db.session.commit()
    with time_machine.travel(_now(HOLIDAY), tick=False):
        auth.login(customer.email)
        r = client.post("/portail/reserver/erplib", data={"start": at(work[2], "09:15").isoformat()})
    text = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 422 and "Pourquoi ?" in text
    assert "déjà réservé" in text and "plus disponible" in text
    assert "Autre client" not in text and first.name not in text and second.name not in text


_WEEK = working_days_after(SUNDAYS[1], 5)  # the week after the October clock change (with 1 November's holiday)
_quarters = st.builds(
    lambda d, q: at(d, "00:00") + timedelta(minutes=15 * q),
    st.sampled_from(_WEEK + [SUNDAYS[1] + timedelta(days=1)]),
    st.integers(7 * 4, 19 * 4),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    bookings=st.lists(st.tuples(_quarters, st.sampled_from([30, 45, 120])), max_size=6),
    absences=st.lists(st.tuples(_quarters, st.sampled_from([30, 90, 240])), max_size=2),
    imported=st.lists(st.tuples(_quarters, st.sampled_from([15, 60])), max_size=3),
    cap=st.integers(1, 6),
    buffer=st.sampled_from([0, 15]),
    asked=_quarters,
)
def test_decide_is_the_first_rule_the_troubleshooter_lists(
    app, monkeypatch, bookings, absences, imported, cap, buffer, asked
):
    """Whatever the consultant's week: free exactly when no rule blocks, and refused with the first rule listed."""
    terms = contract.current()
    buffered = replace(terms, policy=replace(terms.policy, buffer_minutes=buffer))
    monkeypatch.setattr(contract, "current", lambda: buffered)
    consultant = f.consultant(daily_cap=cap)
    company = f.company("serenite")
    for start, minutes in absences:
        consultant.absences.append(Absence(start_at=start, end_at=start + timedelta(minutes=minutes)))
    for start, minutes in imported:
        db.session.add(
            ExternalBusy(
                calendar=ExternalCalendar(consultant_id=consultant.id, label="Perso"),
                consultant_id=consultant.id,
                start_at=start,
                end_at=start + timedelta(minutes=minutes),
            )
        )
    placed = []
    for start, minutes in bookings:  # the database refuses overlapping bookings of one consultant
        end = start + timedelta(minutes=minutes)
        if all(end <= a or start >= b for a, b in placed):
            f.booking(consultant, start, minutes)
            placed.append((start, end))
    db.session.flush()
    now = _now(_WEEK[0])
    outcome = availability.decide("erplib", company, asked, now)
    verdict = availability.why_not("erplib", company, asked, now)
    [(_, blockers)] = verdict.consultants
    rules = [b.reason for b in verdict.shared + blockers]
    if isinstance(outcome, availability.Slot):
        assert not rules and verdict.slot == outcome
    else:
        assert rules and outcome == rules[0]
    db.session.rollback()


def test_a_service_outside_the_contract_is_listed_for_everyone(app):
    f.consultant(skills=("comptabilite", "installation"))
    company = f.company("standard")
    db.session.commit()
    day = working_days_after(SUNDAYS[0], 3)[-1]
    answer = why_not.explain("minor_update", company, at(day, "14:00"), _now(day))
    assert answer.codes[0] == "not_entitled" and "n'inclut pas" in answer.shared[0].sentence
    assert answer.slot is None
