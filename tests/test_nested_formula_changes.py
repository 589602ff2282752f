"""A change of formula planned inside, before or on the day of one already planned (sixteenth session).

Sessions confirmed since a change was planned were accepted at its tier's terms (`change_counted`): a later change
that would put them under another tier is refused with the reason, whether it replaces the planned one on its day,
withdraws it, or cuts it from a day inside it. A change planned before it takes nothing of its days; a period in
force is cut as before (its bookings keep what they were counted). Every date is picked with the business calendar
from a frozen clock."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from booking.extensions import db
from booking.models import Booking, Company, ContractPeriod, User
from booking.services import bookings, companies, hour_bank, tokens
from booking.services.errors import Conflict, ServiceError
from calendars.worktime import PARIS

from . import factories as f
from .dates import at, contract_start, now, said, working_day, working_days
from .factories import tier_of

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
TODAY = NOW.astimezone(PARIS).date()
PLANNED = working_day(after=10, today=TODAY)  # Sérénité planned from this day
INSIDE = working_day(after=20, today=TODAY)  # a change planned inside it
SESSION = working_day(after=30, today=TODAY)  # a session accepted under Sérénité, after INSIDE
SECOND = working_day(after=36, today=TODAY)
BEFORE = working_day(after=5, today=TODAY)  # a change planned before the planned one
MINUTE = timedelta(minutes=1)


def refusal_fr(first: date, after: date) -> str:
    return (
        f"Le rendez-vous du {said(first)}, confirmé depuis que le passage en formule Sérénité du {said(PLANNED)} "
        f"est prévu, a été accepté aux conditions de la formule Sérénité, qu'un changement au {said(INSIDE)} "
        f"remplacerait pour lui : annulez-le ou déplacez-le avant, ou choisissez une date à partir du {said(after)}."
    )


def refusal_en(first: date, after: date) -> str:
    return (
        f"The booking of {said(first, 'en')}, confirmed since the change to the Sérénité plan on "
        f"{said(PLANNED, 'en')} was planned, was accepted on the terms of the Sérénité plan, which a change on "
        f"{said(INSIDE, 'en')} would replace for it: cancel or move it first, or choose a date from "
        f"{said(after, 'en')} on."
    )


def scene(traveller, sessions=(SESSION,)):
    """Confort today, Sérénité planned from PLANNED, then (a minute later) sessions booked under it."""
    admin, company, contact = f.client_with_consultant("confort", contract_start(TODAY))
    companies.change_tier(admin, company, "serenite", PLANNED, now())
    db.session.commit()
    traveller.shift(MINUTE)
    booked = [bookings.book(contact, "erplib", at(day), now()) for day in sessions]
    db.session.commit()
    traveller.shift(MINUTE)
    return admin, company, contact, booked


def history(company: Company) -> list[tuple[date, str]]:
    rows = db.session.execute(
        select(ContractPeriod.starts_on, ContractPeriod.tier)
        .where(ContractPeriod.company_id == company.id)
        .order_by(ContractPeriod.starts_on)
    )
    return [tuple(row) for row in rows]


def test_the_dates_picked_keep_their_order():
    assert TODAY < BEFORE < PLANNED < INSIDE < SESSION < SECOND <= TODAY + timedelta(days=60)


def test_a_change_inside_a_planned_one_is_refused_while_a_session_was_accepted_under_it(any_app):
    """Sérénité planned, a session of SESSION booked as included: Standard from INSIDE would put it under Standard
    (billable) although its client consented to Sérénité's terms. Refused, naming it and the first day a change
    leaves it alone; nothing planned. From that day the change is planned and the session stays under Sérénité."""
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, _, (session,) = scene(traveller)
        assert hour_bank.held(session) == (45, 0)
        before = history(company)
        with pytest.raises(Conflict) as refused:
            companies.change_tier(admin, company, "standard", INSIDE, now())
        assert refused.value.code == "change_counted"
        after = SESSION + timedelta(days=1)
        assert refused.value.message == refusal_fr(SESSION, after)
        db.session.rollback()
        assert history(company) == before
        companies.change_tier(admin, company, "standard", after, now())
        db.session.commit()
        assert tier_of(company.id, SESSION) == "serenite" and tier_of(company.id, after) == "standard"
        assert hour_bank.held(db.session.get(Booking, session.id)) == (45, 0)


def test_two_sessions_are_counted_and_the_sentence_names_the_first_and_the_last(app):
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, _, _ = scene(traveller, sessions=(SESSION, SECOND))
        with pytest.raises(Conflict) as refused:
            companies.check_change(company, "confort", INSIDE, TODAY)
        assert refused.value.message == (
            f"2 rendez-vous confirmés depuis que le passage en formule Sérénité du {said(PLANNED)} est prévu "
            f"(du {said(SESSION)} au {said(SECOND)}) ont été acceptés aux conditions de la formule Sérénité, qu'un "
            f"changement au {said(INSIDE)} remplacerait pour eux : annulez-les ou déplacez-les avant, ou choisissez "
            f"une date à partir du {said(SECOND + timedelta(days=1))}."
        )


def test_the_page_and_the_api_give_the_same_refusal_in_french_and_in_english(app):
    """The page refuses at its first step (no confirmation offered for a change the click would refuse) and at the
    click; the API answers 409 change_counted with the same sentence, in the reader's language."""
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, _, _ = scene(traveller)
        english_admin = f.user("admin", locale="en")
        raw = tokens.create(admin, "back office")
        db.session.commit()
        after = SESSION + timedelta(days=1)
        form = {"tier": "standard", "starts_on": INSIDE.isoformat(), "note": ""}
        address = f"/admin/societes/{company.id}/formule"
        for email, sentence in ((admin.email, refusal_fr), (english_admin.email, refusal_en)):
            browser = app.test_client()
            assert browser.post("/login", data={"email": email, "password": f.PASSWORD}).status_code == 302
            for data in (form, {**form, "confirm": "1"}):
                page = browser.post(address, data=data)
                text = html.unescape(page.get_data(as_text=True))
                assert page.status_code == 422 and sentence(SESSION, after) in text
                assert 'data-testid="consequences"' not in text
        api = app.test_client()
        for language, sentence in (("fr", refusal_fr), ("en", refusal_en)):
            answer = api.post(
                f"/api/v1/companies/{company.id}/contract-changes",
                headers={"Authorization": f"Bearer {raw}", "Accept-Language": language},
                json={"tier": "standard", "starts_on": INSIDE.isoformat()},
            )
            assert answer.status_code == 409 and answer.json["code"] == "change_counted"
            assert answer.json["detail"] == sentence(SESSION, after)
        db.session.rollback()
        assert [p for p in history(company) if p[0] > TODAY] == [(PLANNED, "serenite")]


def test_the_same_day_replacement_is_refused_at_the_first_step_too(app):
    """It was refused only at the click, after a confirmation page that offered it."""
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, _, _ = scene(traveller)
        browser = app.test_client()
        browser.post("/login", data={"email": admin.email, "password": f.PASSWORD})
        page = browser.post(
            f"/admin/societes/{company.id}/formule", data={"tier": "standard", "starts_on": PLANNED.isoformat()}
        )
        text = html.unescape(page.get_data(as_text=True))
        assert page.status_code == 422 and f"Le rendez-vous du {said(SESSION)}, confirmé depuis" in text
        assert "aux conditions de la formule Sérénité" in text


def test_sessions_booked_before_the_planned_change_was_planned_do_not_hold_it(app):
    """Booked under Confort (billable) before Sérénité was planned: their terms were Confort's, kept either way;
    Standard inside Sérénité is planned, and the confirmation says they stay as booked."""
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, contact = f.client_with_consultant("confort", contract_start(TODAY))
        session = bookings.book(contact, "erplib", at(SESSION), now())
        db.session.commit()
        traveller.shift(MINUTE)
        companies.change_tier(admin, company, "serenite", PLANNED, now())
        db.session.commit()
        traveller.shift(MINUTE)
        lines = companies.consequences(company, "standard", INSIDE, now())
        assert any("Le rendez-vous déjà pris après cette date reste tel qu'il a été réservé" in x for x in lines)
        companies.change_tier(admin, company, "standard", INSIDE, now())
        db.session.commit()
        assert tier_of(company.id, SESSION) == "standard"
        assert hour_bank.held(db.session.get(Booking, session.id)) == (0, 45)


def test_a_change_before_the_planned_one_takes_none_of_its_days(app):
    """Standard from BEFORE cuts the period in force (Confort), not Sérénité: the session accepted under Sérénité
    stays under it, and the Sérénité change keeps its day."""
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, _, (session,) = scene(traveller)
        companies.change_tier(admin, company, "standard", BEFORE, now())
        db.session.commit()
        assert [p for p in history(company) if p[0] > TODAY] == [(BEFORE, "standard"), (PLANNED, "serenite")]
        assert tier_of(company.id, SESSION) == "serenite"
        assert hour_bank.held(db.session.get(Booking, session.id)) == (45, 0)


def test_a_change_inside_a_period_in_force_keeps_its_bookings_as_booked(app):
    """Sérénité from today (in force), a session booked under it: a later change is planned (the sixth session's
    rule: bookings made keep what they were counted, the confirmation says how many)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, contact = f.client_with_consultant("confort", contract_start(TODAY))
        companies.change_tier(admin, company, "serenite", TODAY, now())
        db.session.commit()
        traveller.shift(MINUTE)
        session = bookings.book(contact, "erplib", at(SESSION), now())
        db.session.commit()
        traveller.shift(MINUTE)
        companies.change_tier(admin, company, "standard", INSIDE, now())
        db.session.commit()
        assert hour_bank.held(db.session.get(Booking, session.id)) == (45, 0)


def test_a_session_moved_into_another_planned_period_of_its_tier_still_holds_it(app):
    """Sérénité planned from SESSION, a session of SECOND booked under it; then Sérénité planned from PLANNED too.
    The session moved to INSIDE keeps its lines (the same tier: the move counts nothing again) and its booking time,
    older than the change it now lies under: its move consented to that change's terms, so cutting it is refused."""
    with time_machine.travel(NOW, tick=False) as traveller:
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
        assert hour_bank.held(session) == (45, 0)  # not counted again
        traveller.shift(MINUTE)
        cut = working_day(after=15, today=TODAY)
        assert PLANNED < cut < INSIDE
        with pytest.raises(Conflict) as refused:
            companies.change_tier(admin, company, "confort", cut, now())
        assert refused.value.code == "change_counted" and said(INSIDE) in refused.value.message


# --- the invariant, over any sequence of plans, withdrawals, bookings, cancellations and moves -------------------

DAYS = [
    *working_days(2, after=8, today=TODAY),
    *working_days(6, after=20, today=TODAY)[::2],
    SECOND,
    SECOND + timedelta(days=14),
]
HOURS = (9, 10, 11, 14)
TIERS = ("standard", "confort", "serenite")

operations = st.lists(
    st.one_of(
        st.tuples(st.just("plan"), st.sampled_from(TIERS), st.integers(0, len(DAYS) - 1)),
        st.tuples(st.just("withdraw"), st.integers(0, 5)),
        st.tuples(st.just("book"), st.integers(0, len(DAYS) - 1), st.integers(0, len(HOURS) - 1)),
        st.tuples(st.just("cancel"), st.integers(0, 5)),
        st.tuples(st.just("move"), st.integers(0, 5), st.integers(0, len(DAYS) - 1), st.integers(0, len(HOURS) - 1)),
    ),
    min_size=1,
    max_size=12,
)


def _planned(company_id: int) -> list[ContractPeriod]:
    return list(
        db.session.scalars(
            select(ContractPeriod)
            .where(ContractPeriod.company_id == company_id, ContractPeriod.starts_on > TODAY)
            .order_by(ContractPeriod.starts_on)
        )
    )


def _day(booking: Booking) -> date:
    return booking.start_at.astimezone(PARIS).date()


def _accepted_under_planned(company_id: int, day: date) -> bool:
    return any(p.starts_on <= day for p in _planned(company_id))


def _range_end(company_id: int, first_day: date) -> date:
    starts = [p.starts_on for p in _planned(company_id) if p.starts_on > first_day]
    return min(starts) if starts else date.max


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_no_session_accepted_under_a_planned_tier_ends_up_under_another(any_app, ops):
    """Whatever the admin plans or withdraws, a session confirmed under a planned tier stays under that tier on its
    day; a refusal changes nothing, and is made only while such a session lies on the days it would take."""
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, contact = f.client_with_consultant("confort", contract_start(TODAY))
        company_id, accepted = company.id, {}  # booking id -> the tier it was accepted under
        for op in ops:
            traveller.shift(MINUTE)
            kind = op[0]
            company, contact = db.session.get(Company, company_id), db.session.get(User, contact.id)
            before = [(p.starts_on, p.tier, p.created_at) for p in _planned(company_id)]
            if kind in ("plan", "withdraw"):
                if kind == "plan":
                    first_day = DAYS[op[2]]
                else:
                    planned = _planned(company_id)
                    if not planned:
                        continue
                    period = planned[op[1] % len(planned)]
                    first_day = period.starts_on
                taken = (first_day, _range_end(company_id, first_day))
                try:
                    if kind == "plan":
                        companies.change_tier(admin, company, op[1], first_day, now())
                    else:
                        companies.cancel_change(admin, company, period.id, now())
                    db.session.commit()
                except ServiceError as refusal:
                    db.session.rollback()
                    assert [(p.starts_on, p.tier, p.created_at) for p in _planned(company_id)] == before
                    if refusal.code == "change_counted":
                        held = [db.session.get(Booking, i) for i in accepted]
                        assert any(taken[0] <= _day(b) < taken[1] for b in held if b.status == "confirmed")
                    else:
                        assert refusal.code == "same_tier"
            elif kind == "book":
                day = DAYS[op[1]]
                try:
                    session = bookings.book(contact, "erplib", at(day, HOURS[op[2]]), now())
                    db.session.commit()
                except ServiceError:
                    db.session.rollback()
                    continue
                if _accepted_under_planned(company_id, day):
                    accepted[session.id] = tier_of(company_id, day)
            else:
                mine = list(
                    db.session.scalars(
                        select(Booking)
                        .where(Booking.company_id == company_id, Booking.status == "confirmed")
                        .order_by(Booking.id)
                    )
                )
                if not mine:
                    continue
                session = mine[op[1] % len(mine)]
                try:
                    if kind == "cancel":
                        bookings.cancel(contact, session, now())
                    else:
                        bookings.reschedule(contact, session, at(DAYS[op[2]], HOURS[op[3]]), now())
                    db.session.commit()
                except ServiceError:
                    db.session.rollback()
                    continue
                if kind == "move":  # consented to its new day's terms (counted again, or kept under the same tier)
                    if _accepted_under_planned(company_id, _day(session)):
                        accepted[session.id] = tier_of(company_id, _day(session))
                    else:
                        accepted.pop(session.id, None)
            for booking_id, tier in accepted.items():
                booking = db.session.get(Booking, booking_id)
                if booking.status == "confirmed":
                    assert tier_of(company_id, _day(booking)) == tier, (op, booking_id)
