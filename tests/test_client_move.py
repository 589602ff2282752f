"""A client moves a booking from its pages in two steps: the slot chosen shows what the move changes (the new
slot, who takes it, the cost it keeps, the new cancellation limit) and nothing moves until it is confirmed."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime

import pytest
import time_machine

from booking.extensions import db
from booking.models import Booking, Consultant
from booking.services import costs
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday; the clock is frozen there
BOOKED = datetime(2026, 12, 10, 10, 0, tzinfo=PARIS)  # Thursday of the next week
TO = datetime(2026, 12, 11, 14, 0, tzinfo=PARIS)  # the Friday


@pytest.fixture
def booked(app, client, auth):
    with time_machine.travel(NOW, tick=False):
        _, company, contact = f.client_with_consultant("confort")
        consultant = db.session.scalars(db.select(Consultant)).one()
        booking = f.booking(consultant, BOOKED, company=company, contact=contact)
        db.session.commit()
        auth.login(contact.email)
    return booking


def _move(client, booking, **data):
    with time_machine.travel(NOW, tick=False):
        return client.post(f"/portail/rendez-vous/{booking.id}/deplacer", data={"start": TO.isoformat(), **data})


def test_the_slot_chosen_shows_the_move_and_moves_nothing(booked, client):
    page = _move(client, booked)
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and "Confirmer le déplacement" in text
    assert "vendredi 11 décembre 2026, 14:00" in text and booked.consultant.name in text
    # the limit of the new slot (24 business hours before it), not the current one's
    assert costs.free_cancel_until(TO) != costs.free_cancel_until(BOOKED)
    assert "jusqu'au mardi 8 décembre à 11 h 00" in text
    f.reread()
    assert db.session.get(Booking, booked.id).start_at == BOOKED


def test_the_move_is_made_once_confirmed(booked, client):
    moved = _move(client, booked, seen=booked.sequence)
    assert moved.status_code == 302
    f.reread()
    assert db.session.get(Booking, booked.id).start_at == TO


def test_a_move_confirmed_after_another_change_is_refused(booked, client):
    seen = booked.sequence
    assert _move(client, booked, seen=seen).status_code == 302  # another tab moved it meanwhile
    again = _move(client, booked, start=BOOKED.isoformat(), seen=seen)
    assert again.status_code == 422 and "vient d'être déplacé" in html.unescape(again.get_data(as_text=True))
    f.reread()
    assert db.session.get(Booking, booked.id).start_at == TO


def test_a_change_of_consultant_is_said_before_it_is_made(booked, client):
    with time_machine.travel(NOW, tick=False):
        other = f.consultant()
        f.booking(booked.consultant, TO)  # the booking's consultant is taken at the new time
        db.session.commit()
    text = _move(client, booked).get_data(as_text=True)
    assert other.name in text and f"au lieu de {booked.consultant.name}" in text


def test_a_move_into_the_next_contract_year_says_where_its_minutes_count(app, client, auth):
    with time_machine.travel(NOW, tick=False):
        # the contract's year turns on 11 December: the booking is in this one, the new slot in the next
        _, company, contact = f.client_with_consultant("serenite", contract_start=date(2025, 12, 11))
        consultant = db.session.scalars(db.select(Consultant)).one()
        booking = f.booking(consultant, BOOKED, company=company, contact=contact)
        db.session.commit()
        auth.login(contact.email)
    text = html.unescape(_move(client, booking).get_data(as_text=True))
    assert "autre année de contrat" in text


def test_a_move_past_a_planned_change_of_formula_is_counted_and_allowed_as_the_new_one_says(app, client, auth):
    """Sérénité until 10 December, Standard from the 11th: a session moved from the 10th to the 11th gives its
    included minutes back and is billed as a Standard one (said before consent, recorded after); a minor update,
    which Standard does not include, cannot be moved there, as it could not be booked there."""
    from booking.models import ContractPeriod
    from booking.services import bookings, hour_bank
    from booking.services.errors import NotEntitled

    with time_machine.travel(NOW, tick=False):
        _, company, contact = f.client_with_consultant("serenite")
        f.consultant(skills=("installation",))
        db.session.add(ContractPeriod(company_id=company.id, starts_on=date(2026, 12, 11), tier="standard"))
        db.session.commit()
        session = bookings.book(contact, "erplib", BOOKED, NOW)
        update = bookings.book(contact, "minor_update", datetime(2026, 12, 9, 14, tzinfo=PARIS), NOW)
        db.session.commit()
        year = hour_bank.contract_year(company, BOOKED.date())
        assert costs.for_booking(session).included_minutes == 45 and hour_bank.balance(company, year) == 555
        auth.login(contact.email)
    text = html.unescape(_move(client, session).get_data(as_text=True))
    assert "À cette date, la formule de votre société sera Standard" in text
    assert "45 minutes, soit 90,00\xa0€ HT" in text and "incluses" not in text
    assert _move(client, session, seen=session.sequence).status_code == 302
    f.reread()
    moved = db.session.get(Booking, session.id)
    cost = costs.for_booking(moved)
    assert moved.start_at == TO and (cost.basis, cost.included_minutes, cost.billable_minutes) == ("billable", 0, 45)
    assert cost.price_eur == 90 and hour_bank.balance(company, year) == 600
    with time_machine.travel(NOW, tick=False), pytest.raises(NotEntitled, match="Standard"):
        bookings.reschedule(contact, update, datetime(2026, 12, 11, 9, tzinfo=PARIS), NOW)
    f.reread()
    assert db.session.get(Booking, update.id).start_at == datetime(2026, 12, 9, 14, tzinfo=PARIS)


def _planned_change(tier: str, to: str, on: date, contract_start: date = date(2026, 3, 1)):
    """A company of `tier` whose `to` starts on `on`, its contact logged-in later by the test; committed."""
    from booking.models import ContractPeriod

    _, company, contact = f.client_with_consultant(tier, contract_start=contract_start)
    db.session.add(ContractPeriod(company_id=company.id, starts_on=on, tier=to))
    db.session.commit()
    return company, contact


def test_a_move_whose_cost_changed_after_it_was_shown_is_refused_and_moves_nothing(app, client, auth):
    """Standard until the 10th, Sérénité from the 11th: the page says the moved session is included; the bank is
    used up before the click: the move is refused with the new split (cost_changed), as a confirmation is."""
    from booking.models import LedgerEntry
    from booking.services import bookings, hour_bank

    with time_machine.travel(NOW, tick=False):
        company, contact = _planned_change("standard", "serenite", date(2026, 12, 11))
        session = bookings.book(contact, "erplib", BOOKED, NOW)
        db.session.commit()
        auth.login(contact.email)
    shown = html.unescape(_move(client, session).get_data(as_text=True))
    assert "45 minutes incluses" in shown and 'name="billable" value="0"' in shown
    year = hour_bank.contract_year(company, TO.date())
    db.session.add(LedgerEntry(company_id=company.id, contract_year=year, kind="adjust", minutes=-600, note="x"))
    db.session.commit()
    refused = _move(client, session, seen=session.sequence, billable=0)
    assert refused.status_code == 422 and "Le coût a changé depuis son affichage" in html.unescape(refused.text)
    f.reread()
    assert db.session.get(Booking, session.id).start_at == BOOKED
    assert costs.held(db.session.get(Booking, session.id)) == (0, 45)


def test_a_move_counts_again_a_session_booked_before_a_change_planned_since(app, client, auth):
    """Booked on the 10th under Sérénité (45 included minutes); Standard is then planned from the 9th: moved to the
    11th, both Standard days, it is billed as Standard and gives its minutes back (it kept them before)."""
    from booking.models import ContractPeriod
    from booking.services import bookings

    with time_machine.travel(NOW, tick=False):
        _, company, contact = f.client_with_consultant("serenite")
        session = bookings.book(contact, "erplib", BOOKED, NOW)
        db.session.add(ContractPeriod(company_id=company.id, starts_on=date(2026, 12, 9), tier="standard"))
        db.session.commit()
        auth.login(contact.email)
    text = html.unescape(_move(client, session).get_data(as_text=True))
    assert "45 minutes, soit 90,00\xa0€ HT" in text and "sera Standard" in text
    assert _move(client, session, seen=session.sequence, billable=45).status_code == 302
    f.reread()
    assert costs.held(db.session.get(Booking, session.id)) == (0, 45)


def test_a_move_into_another_year_and_another_tier_says_both(app, client, auth):
    from booking.services import bookings

    with time_machine.travel(NOW, tick=False):
        company, contact = _planned_change("serenite", "standard", date(2026, 12, 11), date(2025, 12, 11))
        session = bookings.book(contact, "erplib", BOOKED, NOW)
        db.session.commit()
        auth.login(contact.email)
    text = html.unescape(_move(client, session).get_data(as_text=True))
    assert "autre année de contrat" in text and "sera Standard" in text and "45 minutes, soit 90,00\xa0€ HT" in text


def test_a_planner_moving_a_session_past_a_change_of_formula_is_told_how_it_is_counted(app, client, auth):
    """The planner's confirmation said « ses minutes ne changent pas » while the move gave the client's included
    minutes back and billed 45 minutes under Standard."""
    from booking.services import bookings

    with time_machine.travel(NOW, tick=False):
        company, contact = _planned_change("serenite", "standard", date(2026, 12, 11))
        session = bookings.book(contact, "erplib", BOOKED, NOW)
        planner = f.user("planner")
        db.session.commit()
        auth.login(planner.email)
        step = client.post(
            f"/planification/rendez-vous/{session.id}/deplacer",
            data={"start": "2026-12-11T14:00", "sequence": session.sequence},
        )
    text = html.unescape(step.get_data(as_text=True))
    assert step.status_code == 200 and "ses minutes ne changent pas" not in text
    assert "compté de nouveau, 0 minutes de sa banque d'heures et 45 minutes facturables" in text


def test_the_days_of_a_planned_tier_without_the_service_offer_no_slot_and_say_why(app, client, auth):
    """Sérénité until Thursday 10 December, Standard (no minor update) from Friday: the week offers minor updates
    until Thursday only; Friday says why, in the words a booking or a move there is refused with; the API lists
    no slot on Friday either."""
    from booking.services import bookings, tokens
    from booking.services.errors import NotEntitled

    with time_machine.travel(NOW, tick=False):
        company, contact = _planned_change("serenite", "standard", date(2026, 12, 11))
        f.consultant(skills=("installation",))
        token = tokens.create(contact)
        db.session.commit()
        auth.login(contact.email)
        page = html.unescape(client.get("/portail/reserver/minor_update?semaine=2026-12-07").get_data(as_text=True))
        api = client.get(
            "/api/v1/availability?service=minor_update&start=2026-12-07&end=2026-12-11",
            headers={"Authorization": f"Bearer {token}"},
        ).json
        with pytest.raises(NotEntitled) as refused:
            bookings.book(contact, "minor_update", datetime(2026, 12, 11, 9, tzinfo=PARIS), NOW)
    sentence = "Le 11 décembre 2026, votre contrat sera en formule Standard, qui n'inclut pas « Mise à jour mineure »."
    assert refused.value.message == sentence
    assert f'title="{sentence}">Hors de votre formule<' in page
    assert "2026-12-10T" in page and "2026-12-11T" not in page  # Thursday's slots, none on Friday
    days = [day["date"] for day in api["days"]]
    assert "2026-12-10" in days and "2026-12-11" not in days


def test_a_session_moved_into_the_next_year_and_back_then_cancelled_gives_each_year_back_its_minutes(app):
    """The contract's year turns on 11 December: a session of the 10th moved to the 11th and back holds its 45
    minutes in the first year again; cancelled, they go back to that year (they went to the last year written)."""
    from booking.services import bookings, hour_bank

    with time_machine.travel(NOW, tick=False):
        _, company, contact = f.client_with_consultant("serenite", contract_start=date(2025, 12, 11))
        session = bookings.book(contact, "erplib", BOOKED, NOW)
        this, next_year = date(2025, 12, 11), date(2026, 12, 11)
        bookings.reschedule(contact, session, TO, NOW)
        bookings.reschedule(contact, session, BOOKED, NOW)
        assert (hour_bank.balance(company, this), hour_bank.balance(company, next_year)) == (555, 600)
        bookings.cancel(contact, session, NOW)
        assert (hour_bank.balance(company, this), hour_bank.balance(company, next_year)) == (600, 600)
        assert costs.held(session) == (0, 0)


def test_a_confirmed_session_s_page_says_its_year_s_balance_is_the_balance_now(app, client, auth):
    """Its page said « Solde ensuite » with today's balance: after later bookings, a number it never was after it."""
    from booking.services import bookings

    with time_machine.travel(NOW, tick=False):
        _, company, contact = f.client_with_consultant("serenite")
        first = bookings.book(contact, "erplib", BOOKED, NOW)
        bookings.book(contact, "erplib", TO, NOW)
        db.session.commit()
        auth.login(contact.email)
        page = html.unescape(client.get(f"/portail/rendez-vous/{first.id}").get_data(as_text=True))
    assert "Solde de l'année, rendez-vous compris" in page and "Solde ensuite" not in page
    assert 'data-testid="balance-after">8 h 30<' in page  # 600 - 2 × 45
