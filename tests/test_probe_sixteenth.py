"""The sixteenth session's probe: a ticket reference names one ticket whatever its case; the refusal of a ticket
sent otherwise says, on a page, what the week shown does; a change of formula says until when it applies and counts
only its own days; withdrawing a planned change whose days fall back to the same tier is allowed. Clock frozen,
days picked with the business calendar, French and English."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask_babel import force_locale
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Booking, ContractPeriod, Ticket
from booking.services import access, bookings, callbacks, companies, hour_bank, tokens
from booking.services.errors import Conflict
from calendars.worktime import PARIS

from . import factories as f
from .dates import at, contract_start, now, said, working_day
from .factories import tier_of

# --- tickets: one reference, whatever its case ------------------------------------------------------------------

MONDAY = datetime(2026, 12, 7, 8, tzinfo=UTC)  # Monday 7 December 2026, 09:00 in Paris (a working day)
OPENED = MONDAY
TUESDAY_14 = datetime(2026, 12, 8, 14, tzinfo=PARIS)
TYPED_LOWER = "ticket=tck-new-2&priorite=bloquante&ouvert=2026-12-07T09:00"  # recorded as TCK-NEW-2, Mineure


def leroy(locale: str = "fr"):
    """A Sérénité contact whose company booked a callback for TCK-NEW-2, Mineure (as Transports Leroy in the demo)."""
    contact = f.user("client", f.company("serenite"), locale=locale)
    f.consultant()
    db.session.commit()
    bookings.book(
        contact,
        "callback",
        TUESDAY_14,
        MONDAY,
        ticket=access.ticket_for(contact.company, "TCK-NEW-2", "mineure", OPENED),
    )
    db.session.commit()
    return contact


def tickets(company_id: int) -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(Ticket.reference, Ticket.priority).where(Ticket.company_id == company_id).order_by(Ticket.id)
    )
    return [tuple(row) for row in rows]


def test_a_reference_in_another_case_or_with_spaces_is_the_recorded_ticket(any_app):
    with time_machine.travel(MONDAY, tick=False):
        contact = leroy()
        company = contact.company
        recorded = db.session.scalar(select(Ticket).where(Ticket.company_id == company.id))
        for typed in ("tck-new-2", " Tck-New-2 ", "TCK-NEW-2"):
            assert access.ticket_for(company, typed, "mineure", OPENED) is recorded
            with pytest.raises(Conflict) as refused:
                access.ticket_for(company, typed, "bloquante", OPENED)
            assert (
                refused.value.code == "ticket_differs" and "Le ticket TCK-NEW-2 est enregistré" in refused.value.message
            )
        bookings.book(
            contact,
            "callback",
            TUESDAY_14 + timedelta(days=1),
            MONDAY,
            ticket=access.ticket_for(company, "tck-new-2", "mineure", OPENED),
        )
        db.session.commit()
        assert tickets(company.id) == [("TCK-NEW-2", "mineure")]
        # another company's ticket of the same reference is its own
        other = f.company("serenite")
        db.session.commit()
        assert access.ticket_for(other, "tck-new-2", "bloquante", OPENED).id is None


def test_rows_written_before_the_rule_that_differ_by_case_only_answer_the_first_recorded(any_app):
    """Two rows differing only by case (possible before this rule: the unique constraint is on the reference as
    written): the lookup answers the first recorded, whatever the case typed; nothing is merged."""
    company = f.company("serenite")
    db.session.commit()
    first = Ticket(company=company, reference="TCK-7", priority="mineure", opened_at=OPENED)
    db.session.add(first)
    db.session.flush()
    db.session.add(Ticket(company=company, reference="tck-7", priority="bloquante", opened_at=OPENED))
    db.session.commit()
    for typed in ("tck-7", "TCK-7", "Tck-7"):
        assert access.ticket_for(company, typed, "mineure", OPENED) is first
    listed, recorded = callbacks.as_known(company, {"reference": "tck-7", "priority": "bloquante", "opened_at": OPENED})
    assert recorded is first and (listed["reference"], listed["priority"]) == ("TCK-7", "mineure")
    assert tickets(company.id) == [("TCK-7", "mineure"), ("tck-7", "bloquante")]


def test_a_call_asked_for_is_found_whatever_the_case(any_app):
    contact = leroy()
    ticket = db.session.scalar(select(Ticket).where(Ticket.company_id == contact.company_id))
    ticket.call_requested_at = MONDAY
    db.session.commit()
    assert callbacks.call_requested(contact.company, " tck-NEW-2 ") == MONDAY
    ticket.called_at = MONDAY + timedelta(hours=1)
    db.session.commit()
    assert callbacks.call_requested(contact.company, "tck-new-2") is None


def week(client, args: str) -> str:
    response = client.get(f"/portail/reserver/callback?{args}")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def form_action(page: str) -> str | None:
    found = re.search(r'<form method="post" class="week" action="([^"]+)"', page)
    return found.group(1) if found else None


def test_the_week_of_a_lower_case_reference_is_the_recorded_tickets_and_its_click_books_it(app, client, auth):
    """The tester's path: tck-new-2 typed as Bloquante after TCK-NEW-2 was booked as Mineure. The week says the
    ticket is recorded, lists Mineure's windows, and its click books on the recorded ticket: no second ticket."""
    contact = leroy()
    recorded_deadline = callbacks.commitment(contact.company, "mineure", OPENED).take_charge
    typed_deadline = callbacks.commitment(contact.company, "bloquante", OPENED).take_charge
    assert recorded_deadline != typed_deadline
    with time_machine.travel(MONDAY, tick=False):
        auth.login(contact.email)
        page = week(client, TYPED_LOWER)
        assert 'data-testid="ticket-recorded"' in page
        assert "Le ticket TCK-NEW-2 est déjà enregistré en priorité Mineure" in page
        assert "Ticket TCK-NEW-2 (Mineure)." in page and "Bloquante)" not in page
        action = form_action(page)
        assert action is not None and "priorite=mineure" in action
        start = re.findall(r'name="start" value="([^"]+)"', page)[0]
        held = client.post(action, data={"start": start})
        assert held.status_code == 302 and "/confirmer" in held.headers["Location"]
        # typed as recorded, in lower case: no notice, the reference said as first recorded
        same = week(client, "ticket=tck-new-2&priorite=mineure&ouvert=2026-12-07T09:00")
        assert 'data-testid="ticket-recorded"' not in same and "Ticket TCK-NEW-2 (Mineure)." in same
    assert tickets(contact.company_id) == [("TCK-NEW-2", "mineure")]
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 2


PAGE_FR = (
    "Le ticket TCK-NEW-2 est enregistré en priorité Mineure, ouvert le 7 décembre 2026 à 09:00. La semaine "
    "ci-dessous liste les créneaux de rappel de ce ticket tel qu'il est enregistré : choisissez-en un à nouveau. Si "
    "sa priorité a changé, contactez votre planificateur."
)
PAGE_EN = (
    "Ticket TCK-NEW-2 is recorded with priority Minor, opened on 7 December 2026 at 09:00. The week below lists the "
    "callback windows of this ticket as recorded: choose one again. If its priority has changed, contact your planner."
)


@pytest.mark.parametrize(("locale", "sentence"), [("fr", PAGE_FR), ("en", PAGE_EN)])
def test_a_click_refused_on_a_page_says_the_week_below_is_the_recorded_tickets(app, client, auth, locale, sentence):
    """A stale page's click (the typed values): ticket_differs, said as what the week shown again does."""
    contact = leroy(locale)
    with time_machine.travel(MONDAY, tick=False):
        auth.login(contact.email)
        refused = client.post(f"/portail/reserver/callback?{TYPED_LOWER}", data={"start": "2026-12-07T10:00:00+01:00"})
        page = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422 and sentence in page
    assert "indiquez ces valeurs" not in page and "send these values" not in page
    assert 'data-testid="ticket-recorded"' in page and "priorite=mineure" in (form_action(page) or "")
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1


def test_the_api_keeps_asking_for_the_recorded_values_and_books_a_lower_case_reference_on_the_ticket(any_app):
    contact = leroy()
    key = tokens.create(contact)
    db.session.commit()
    client = any_app.test_client()

    def callback(start: str, priority: str, language: str):
        ticket = {"reference": "tck-new-2", "priority": priority, "opened_at": "2026-12-07T09:00:00+01:00"}
        return client.post(
            "/api/v1/bookings",
            headers={"Authorization": f"Bearer {key}", "Accept-Language": language},
            json={"service": "callback", "start": start, "ticket": ticket},
        )

    with time_machine.travel(MONDAY, tick=False):
        fr, en = (callback("2026-12-07T10:00:00+01:00", "bloquante", lang) for lang in ("fr", "en"))
        booked = callback("2026-12-09T10:00:00+01:00", "mineure", "en")
    assert fr.status_code == en.status_code == 409 and fr.json["code"] == en.json["code"] == "ticket_differs"
    assert fr.json["detail"] == (
        "Le ticket TCK-NEW-2 est enregistré en priorité Mineure, ouvert le 7 décembre 2026 à 09:00 : indiquez ces "
        "valeurs, ou, si sa priorité a changé, contactez votre planificateur."
    )
    assert en.json["detail"] == (
        "Ticket TCK-NEW-2 is recorded with priority Minor, opened on 7 December 2026 at 09:00: send these values, or, "
        "if its priority has changed, contact your planner."
    )
    assert booked.status_code == 201, booked.json
    assert booked.json["ticket"]["reference"] == "TCK-NEW-2"
    assert tickets(contact.company_id) == [("TCK-NEW-2", "mineure")]


# --- a change of formula: until when it applies; withdrawing a change whose days keep their tier -----------------

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
TODAY = NOW.astimezone(PARIS).date()
EARLY = working_day(after=10, today=TODAY)  # Standard planned from here (the admin's new change)
BETWEEN = working_day(after=13, today=TODAY)  # a session inside EARLY's days
LATER = working_day(after=20, today=TODAY)  # Sérénité already planned from here
SESSION = working_day(after=30, today=TODAY)  # a session accepted under the Sérénité planned from LATER
CUT = working_day(after=25, today=TODAY)  # between LATER and SESSION
MINUTE = timedelta(minutes=1)


def test_the_dates_picked_keep_their_order():
    assert TODAY < EARLY < BETWEEN < LATER < CUT < SESSION <= TODAY + timedelta(days=45)


def plasturgie(traveller, sessions=(SESSION,)):
    """Confort today, Sérénité planned from LATER, then sessions booked (a minute later)."""
    admin, company, contact = f.client_with_consultant("confort", contract_start(TODAY))
    companies.change_tier(admin, company, "serenite", LATER, now())
    db.session.commit()
    traveller.shift(MINUTE)
    for day in sessions:
        bookings.book(contact, "erplib", at(day), now())
    db.session.commit()
    traveller.shift(MINUTE)
    return admin, company, contact


def test_a_change_before_a_planned_one_says_until_when_and_counts_only_its_days(app):
    with time_machine.travel(NOW, tick=False) as traveller:
        _, company, _ = plasturgie(traveller)
        lines = companies.consequences(company, "standard", EARLY, now())
        until = LATER - timedelta(days=1)
        assert lines[-1] == (
            f"La formule Standard s'applique jusqu'au {said(until)}, la formule Sérénité prévue prenant effet le "
            f"{said(LATER)}."
        )
        assert not any("rendez-vous" in line for line in lines)  # the session of SESSION is Sérénité's, not counted


@pytest.mark.parametrize("count", [1, 2])
def test_the_sessions_on_its_days_are_counted_in_the_singular_and_the_plural(app, count):
    with time_machine.travel(NOW, tick=False) as traveller:
        _, company, _ = plasturgie(traveller, sessions=(SESSION, BETWEEN, BETWEEN + timedelta(days=1))[: count + 1])
        until = LATER - timedelta(days=1)
        with force_locale("fr"):
            fr = companies.consequences(company, "standard", EARLY, now())[-1]
        with force_locale("en"):
            en = companies.consequences(company, "standard", EARLY, now())[-1]
    if count == 1:
        assert fr == (
            f"Le rendez-vous déjà pris du {said(EARLY)} au {said(until)} reste tel qu'il a été réservé ; les nouveaux "
            f"suivent la formule Standard jusqu'au {said(until)}, la formule Sérénité prévue prenant effet le "
            f"{said(LATER)}."
        )
        assert en == (
            f"The appointment already booked from {said(EARLY, 'en')} to {said(until, 'en')} stays as it was booked; "
            f"new ones follow the Standard plan until {said(until, 'en')}, the planned Sérénité plan taking effect on "
            f"{said(LATER, 'en')}."
        )
    else:
        assert fr.startswith(f"2 rendez-vous déjà pris du {said(EARLY)} au {said(until)} restent tels qu'ils ont")
        assert en.startswith(f"2 appointments already booked from {said(EARLY, 'en')} to {said(until, 'en')} stay as")


def test_without_a_later_change_the_count_is_pluralised_in_english(app):
    with time_machine.travel(NOW, tick=False) as traveller:
        _, company, _ = plasturgie(traveller, sessions=(SESSION, SESSION + timedelta(days=1)))
        with force_locale("en"):
            en = companies.consequences(company, "confort", CUT, now())[-1]
            one = companies.consequences(company, "confort", SESSION + timedelta(days=1), now())[-1]
    assert (
        en
        == "2 appointments already booked after that date stay as they were booked; new ones follow the Confort plan."
    )
    assert (
        one
        == "The appointment already booked after that date stays as it was booked; new ones follow the Confort plan."
    )


def test_withdrawing_a_planned_change_whose_days_fall_to_the_same_tier_is_allowed(any_app):
    """Sérénité planned from LATER, a session of SESSION accepted under it, then Sérénité planned from EARLY too:
    withdrawing the LATER change leaves the session under Sérénité (EARLY's), so it is allowed. The session then
    holds EARLY's change as it held LATER's: neither withdrawing it nor cutting it before the session is allowed."""
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, _ = plasturgie(traveller)
        companies.change_tier(admin, company, "serenite", EARLY, now())
        db.session.commit()
        traveller.shift(MINUTE)
        later = db.session.scalar(select(ContractPeriod).where(ContractPeriod.starts_on == LATER))
        early = db.session.scalar(select(ContractPeriod).where(ContractPeriod.starts_on == EARLY))
        assert companies.planned_change(company, later.id, TODAY) is later  # the page's first step
        companies.cancel_change(admin, company, later.id, now())
        db.session.commit()
        assert tier_of(company.id, SESSION) == "serenite"
        session = db.session.scalar(select(Booking).where(Booking.company_id == company.id))
        assert hour_bank.held(session) == (45, 0)
        with pytest.raises(Conflict) as refused:
            companies.cancel_change(admin, company, early.id, now())
        assert refused.value.code == "change_counted" and said(SESSION) in refused.value.message
        db.session.rollback()
        with pytest.raises(Conflict) as refused:
            companies.change_tier(admin, company, "standard", CUT, now())
        assert refused.value.code == "change_counted"
        db.session.rollback()
        assert [
            p.starts_on for p in db.session.scalars(select(ContractPeriod).where(ContractPeriod.starts_on > TODAY))
        ] == [EARLY]


def test_withdrawing_a_change_whose_days_fall_to_another_tier_is_still_refused(app):
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, _ = plasturgie(traveller)
        companies.change_tier(admin, company, "standard", EARLY, now())
        db.session.commit()
        later = db.session.scalar(select(ContractPeriod).where(ContractPeriod.starts_on == LATER))
        with pytest.raises(Conflict) as refused:
            companies.cancel_change(admin, company, later.id, now())
        assert refused.value.code == "change_counted"


def test_the_admin_page_withdraws_it_after_its_confirmation(app):
    with time_machine.travel(NOW, tick=False) as traveller:
        admin, company, _ = plasturgie(traveller)
        companies.change_tier(admin, company, "serenite", EARLY, now())
        db.session.commit()
        later = db.session.scalar(select(ContractPeriod).where(ContractPeriod.starts_on == LATER)).id
        browser = app.test_client()
        assert browser.post("/login", data={"email": admin.email, "password": f.PASSWORD}).status_code == 302
        address = f"/admin/societes/{company.id}/formule/annuler"
        first = browser.post(address, data={"period_id": str(later)})
        assert first.status_code == 200 and "Le passage en formule Sérénité prévu le" in html.unescape(
            first.get_data(as_text=True)
        )
        done = browser.post(address, data={"period_id": str(later), "confirmed": "1"})
        assert done.status_code == 302
    assert db.session.get(ContractPeriod, later) is None
