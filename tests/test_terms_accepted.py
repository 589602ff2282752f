"""`Booking.terms_accepted_at` (migration 0028, sixteenth session): when a booking's terms were accepted on its day,
written by the confirmation or the move that accepted them, never by a priority plan; the planned changes of
formula read it (`companies._counted_under`) and no longer the audit log. Dates from a frozen clock and the business
calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from flask_migrate import downgrade, upgrade
from sqlalchemy import delete, select, text

from booking.extensions import db
from booking.models import AuditEntry, Booking, ContractPeriod, LedgerEntry, ReshufflePlan
from booking.services import bookings, companies, hour_bank, priority
from booking.services.errors import Conflict
from calendars.worktime import PARIS

from . import factories as f
from .dates import at, contract_start, now, said, working_day
from .plans import computed

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
TODAY = NOW.astimezone(PARIS).date()
PLANNED = working_day(after=10, today=TODAY)
INSIDE = working_day(after=20, today=TODAY)
SESSION = working_day(after=30, today=TODAY)
SECOND = working_day(after=36, today=TODAY)
MINUTE = timedelta(minutes=1)


def accepted(booking_id: int) -> datetime | None:
    return db.session.scalar(select(Booking.terms_accepted_at).where(Booking.id == booking_id))


# --- each setter --------------------------------------------------------------------------------------------------


def test_booking_confirming_and_moving_write_the_time_of_consent(app):
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, contact = f.client_with_consultant("confort", contract_start(TODAY))
        planner = f.user("planner")
        db.session.commit()
        confirmed = bookings.book(contact, "erplib", at(SESSION), now())
        held = bookings.book(contact, "erplib", at(SESSION, 14), now(), hold=True)
        db.session.commit()
        assert accepted(confirmed.id) == NOW and accepted(held.id) is None
        traveller.shift(MINUTE)
        bookings.confirm(contact, held, now())
        db.session.commit()
        assert accepted(held.id) == NOW + MINUTE
        traveller.shift(MINUTE)
        bookings.reschedule(contact, confirmed, at(SECOND), now())
        db.session.commit()
        assert accepted(confirmed.id) == NOW + 2 * MINUTE
        traveller.shift(MINUTE)  # a planner's move, for the client: the same consent step, the same record
        bookings.reschedule(planner, held, at(SECOND, 14), now(), acknowledged=True)
        db.session.commit()
        assert accepted(held.id) == NOW + 3 * MINUTE


def test_a_priority_plan_moves_bookings_without_writing_their_consent(app):
    start = datetime(2026, 11, 30, 8, tzinfo=UTC)  # Monday 09:00 in Paris, as tests/test_priority.py
    requester_company = f.company("serenite", contract_start=date(2026, 1, 1), name="Pressé SA")
    other = f.company("confort", name="Patient SARL")
    requester, patient = f.user("client", requester_company), f.user("client", other)
    expert = f.consultant(skills=("migration",))
    planner = f.user("planner")
    long_ago = start - timedelta(days=30)
    for day in range(1, 19):
        begins = datetime(2026, 12, day, 9, tzinfo=PARIS)
        if begins.weekday() < 5:
            f.booking(expert, begins, company=other, contact=patient, booked_at=long_ago, terms_accepted_at=long_ago)
    db.session.commit()
    app.config["RESHUFFLE_SECONDS"] = 2
    with time_machine.travel(start, tick=True):
        request = priority.request_consulting(requester, "migration", 1, "days", "Migration paie", start)
        plan = computed(priority.decide(planner, request, True, start).id)
        assert plan.status == "ready", plan.error
        moved_ids = [int(m["id"][1:]) for m in plan.plan["moves"]]
        priority.accept_quote(requester, request, start)
    db.session.expire_all()
    assert db.session.get(ReshufflePlan, plan.id).status == "applied"
    moved = [db.session.get(Booking, i) for i in moved_ids]
    assert moved and all(b.sequence == 1 and b.terms_accepted_at == long_ago for b in moved)
    placed = db.session.scalars(select(Booking).where(Booking.kind == "priority_consulting")).all()
    assert placed and all(b.terms_accepted_at is None for b in placed)


# --- the rule reads the bookings, not the audit log ----------------------------------------------------------------


def _moved_under_a_later_plan(traveller):
    """Sérénité planned from SESSION, a session of SECOND booked under it, Sérénité planned from PLANNED too, the
    session moved to INSIDE (lines kept): cutting from a day between PLANNED and INSIDE is refused."""
    admin, company, contact = f.client_with_consultant("confort", contract_start(TODAY))
    companies.change_tier(admin, company, "serenite", SESSION, now())
    db.session.commit()
    traveller.shift(MINUTE)
    session = bookings.book(contact, "erplib", at(SECOND), now())
    db.session.commit()
    traveller.shift(MINUTE)
    companies.change_tier(admin, company, "serenite", PLANNED, now())
    db.session.commit()
    traveller.shift(MINUTE)
    bookings.reschedule(contact, session, at(INSIDE), now())
    db.session.commit()
    traveller.shift(MINUTE)
    return admin, company, [("confort", working_day(after=15, today=TODAY)), ("standard", PLANNED)]


def _withdrawn_inside_an_earlier_one(traveller):
    """Sérénité planned from SESSION, a session of SECOND booked under it, then Sérénité planned from PLANNED, then the
    one from SESSION withdrawn: the session still holds the Sérénité from PLANNED (planned after it was booked)."""
    admin, company, contact = f.client_with_consultant("confort", contract_start(TODAY))
    first = companies.change_tier(admin, company, "serenite", SESSION, now())
    db.session.commit()
    traveller.shift(MINUTE)
    bookings.book(contact, "erplib", at(SECOND), now())
    db.session.commit()
    traveller.shift(MINUTE)
    companies.change_tier(admin, company, "serenite", PLANNED, now())
    db.session.commit()
    traveller.shift(MINUTE)
    companies.cancel_change(admin, company, first.id, now())
    db.session.commit()
    traveller.shift(MINUTE)
    return admin, company, [("standard", PLANNED), ("confort", INSIDE)]


def _booked_and_confirmed(traveller):
    """Sérénité planned from PLANNED; a session held before it was planned, confirmed after: counted."""
    admin, company, contact = f.client_with_consultant("confort", contract_start(TODAY))
    held = bookings.book(contact, "erplib", at(SESSION), now(), hold=True)
    db.session.commit()
    traveller.shift(MINUTE)
    companies.change_tier(admin, company, "serenite", PLANNED, now())
    db.session.commit()
    traveller.shift(MINUTE)
    bookings.confirm(contact, held, now())
    db.session.commit()
    traveller.shift(MINUTE)
    return admin, company, [("standard", PLANNED), ("confort", INSIDE)]


@pytest.mark.parametrize("scene", [_moved_under_a_later_plan, _withdrawn_inside_an_earlier_one, _booked_and_confirmed])
def test_the_answers_do_not_change_when_the_audit_log_is_emptied(app, scene):
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, asked = scene(traveller)
        planned = [(p.starts_on, p.tier, p.created_at) for p in db.session.scalars(select(ContractPeriod))]
        before = [_answer(company, tier, day) for tier, day in asked]
        assert all(code == "change_counted" for code, _ in before)  # every scene holds a session
        db.session.execute(delete(AuditEntry))  # a retention job pruned the log
        db.session.commit()
        assert [_answer(company, tier, day) for tier, day in asked] == before
        assert [(p.starts_on, p.tier, p.created_at) for p in db.session.scalars(select(ContractPeriod))] == planned


def _answer(company, tier: str, day: date) -> tuple[str, str] | None:
    db.session.expire_all()
    try:
        companies.check_change(db.session.get(type(company), company.id), tier, day, TODAY)
    except Conflict as refused:
        return refused.code, refused.message
    return None


# --- the sentence is true ---------------------------------------------------------------------------------------


def test_a_session_moved_with_another_tiers_lines_is_said_to_keep_its_price(app):
    """Confort today, a session of SECOND booked (billed at Confort's price); Sérénité then planned from PLANNED; the
    session moved to SESSION under Sérénité keeps its Confort lines. Its day keeps the tier its move consented to
    (replacing the change is refused), and the refusal says it kept the price it was booked at, not Sérénité's."""
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, contact = f.client_with_consultant("confort", contract_start(TODAY))
        session = bookings.book(contact, "erplib", at(SECOND), now())
        db.session.commit()
        traveller.shift(MINUTE)
        companies.change_tier(admin, company, "serenite", PLANNED, now())
        db.session.commit()
        traveller.shift(MINUTE)
        bookings.reschedule(contact, session, at(SESSION), now())
        db.session.commit()
        assert hour_bank.held(session) == (0, 45)  # kept: billable, as booked under Confort
        traveller.shift(MINUTE)
        code, sentence = _answer(company, "standard", PLANNED)
        assert code == "change_counted" and sentence.endswith(
            f"Le rendez-vous du {said(SESSION)} a été déplacé sous la formule Sérénité en gardant le prix auquel il "
            "avait été réservé avant qu'elle soit prévue."
        )
        # a session booked under Sérénité itself is not said to keep another price
        bookings.cancel(contact, session, now())
        bookings.book(contact, "erplib", at(SECOND, 14), now())
        db.session.commit()
        code, sentence = _answer(company, "standard", PLANNED)
        assert code == "change_counted" and f"Le rendez-vous du {said(SECOND)}" in sentence
        assert "en gardant le prix" not in sentence


def test_the_day_suggested_after_the_sessions_is_never_the_next_changes_day(app):
    """Sérénité planned from PLANNED and Standard from the day after SESSION; a session on SESSION: a change cutting
    Sérénité before it cannot be moved after it without replacing the Standard change, and the refusal says so."""
    eve = SESSION
    next_day = eve + timedelta(days=1)
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, contact = f.client_with_consultant("confort", contract_start(TODAY))
        companies.change_tier(admin, company, "serenite", PLANNED, now())
        db.session.commit()
        traveller.shift(MINUTE)
        companies.change_tier(admin, company, "standard", next_day, now())
        db.session.commit()
        traveller.shift(MINUTE)
        bookings.book(contact, "erplib", at(eve), now())
        db.session.commit()
        traveller.shift(MINUTE)
        code, sentence = _answer(company, "confort", INSIDE)
        assert code == "change_counted"
        assert f"Le lendemain, le {said(next_day)}, est le jour du changement prévu en formule Standard" in sentence
        assert "choisissez une date" not in sentence


# --- the backfill -------------------------------------------------------------------------------------------------


def test_the_upgrade_dates_past_bookings_from_their_booking_lines_and_moves(empty_app):
    upgrade()
    t = [NOW + i * MINUTE for i in range(6)]
    consultant = f.consultant()
    company = f.company("serenite", contract_start=contract_start(TODAY))
    rows = {
        name: f.booking(consultant, at(SESSION, hour), company=company, status=status, booked_at=t[0])
        for name, hour, status in [
            ("booked", 9, "confirmed"),
            ("counted", 10, "confirmed"),
            ("moved", 11, "confirmed"),
            ("confirmed", 14, "confirmed"),
            ("done", 15, "completed"),
            ("held", 16, "held"),
            ("cancelled", 17, "cancelled"),
        ]
    }
    year = hour_bank.contract_year(company, SESSION)

    def line(booking, kind, when):
        db.session.add(
            LedgerEntry(
                company_id=company.id,
                contract_year=year,
                booking_id=booking.id,
                kind=kind,
                minutes=-45,
                created_at=when,
            )
        )

    def logged(booking, action, when, object_type="booking"):
        db.session.add(AuditEntry(action=action, object_type=object_type, object_id=booking.id, at=when, details={}))

    line(rows["counted"], "reserve", t[2])
    line(rows["counted"], "refund", t[4])  # not an acceptance
    logged(rows["moved"], "booking.reschedule", t[3])
    line(rows["moved"], "reserve", t[1])
    logged(rows["moved"], "booking.cancel", t[5])
    logged(rows["moved"], "booking.reschedule", t[5], object_type="company")  # another object of that id
    logged(rows["confirmed"], "booking.hold", t[0])
    logged(rows["confirmed"], "booking.confirm", t[2])
    logged(rows["done"], "booking.reschedule", t[1])
    logged(rows["held"], "booking.reschedule", t[1])
    db.session.commit()
    downgrade(revision="0027")
    assert "terms_accepted_at" not in {c["name"] for c in db.inspect(db.engine).get_columns("bookings")}
    upgrade()
    db.session.expire_all()
    found = {name: accepted(b.id) for name, b in rows.items()}
    assert found == {
        "booked": t[0],
        "counted": t[2],
        "moved": t[3],
        "confirmed": t[2],
        "done": t[1],
        "held": None,
        "cancelled": None,
    }
    assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0028"
