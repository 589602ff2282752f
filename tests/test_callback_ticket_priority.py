"""The callback week of a ticket the company already has lists the windows of the ticket as recorded (its
priority and opening, whatever was typed), says so, and its forms send the recorded values: the click is not
refused with `ticket_differs` for a choice the page offered. A new reference is listed as typed."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select

from booking.date_format import format_datetime
from booking.extensions import db
from booking.models import Booking, Ticket
from booking.services import bookings, callbacks
from booking.services.access import ticket_for
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 7, 8, tzinfo=UTC)  # Monday 7 December 2026, 09:00 in Paris (a working day)
OPENED = NOW
TYPED = "ticket=T-3&priorite=bloquante&ouvert=2026-12-07T09:00"  # T-3 is recorded as Mineure


def contact_with_ticket(locale: str = "fr", opened: datetime = OPENED):
    """A Sérénité contact whose company has ticket T-3, Mineure, opened at `opened` (booked on Tuesday)."""
    contact = f.user("client", f.company("serenite"), locale=locale)
    f.consultant()
    db.session.commit()
    bookings.book(
        contact,
        "callback",
        datetime(2026, 12, 8, 14, tzinfo=PARIS),
        NOW,
        ticket=ticket_for(contact.company, "T-3", "mineure", opened),
    )
    db.session.commit()
    return contact


def week(client, args: str) -> str:
    response = client.get(f"/portail/reserver/callback?{args}")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def form_action(page: str) -> str | None:
    found = re.search(r'<form method="post" class="week" action="([^"]+)"', page)
    return found.group(1) if found else None


def first_slot(page: str) -> str:
    return re.findall(r'name="start" value="([^"]+)"', page)[0]


def test_a_known_ticket_typed_with_another_priority_lists_its_recorded_windows_and_says_so(app, client, auth):
    contact = contact_with_ticket()
    recorded_deadline = callbacks.commitment(contact.company, "mineure", OPENED).take_charge
    typed_deadline = callbacks.commitment(contact.company, "bloquante", OPENED).take_charge
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        page = week(client, TYPED)
        with app.test_request_context():
            recorded_when = format_datetime(recorded_deadline, "EEE d MMM HH:mm")
            typed_when = format_datetime(typed_deadline, "EEE d MMM HH:mm")
        notice = page[page.index('data-testid="ticket-recorded"') :].split("</p>", 1)[0]
        assert (
            "Le ticket T-3 est déjà enregistré en priorité Mineure, ouvert le 7 décembre 2026 à 09:00 : les créneaux "
            "ci-dessous sont ceux de cette priorité" in notice
        )
        assert "Ticket T-3 (Mineure)." in page
        assert f"Engagement de prise en charge : avant le {recorded_when}." in page and typed_when not in page
        action = form_action(page)
        assert action is not None and "priorite=mineure" in action and "ouvert=2026-12-07T09:00" in action
        links = re.findall(r'<a href="([^"]+)" rel="(?:prev|next)"', page)
        assert len(links) == 2 and all("priorite=mineure" in link for link in links)  # the next week's too
        held = client.post(action, data={"start": first_slot(page)})
        assert held.status_code == 302 and "/confirmer" in held.headers["Location"]  # not refused: ticket_differs
    ticket = db.session.scalar(select(Ticket).where(Ticket.reference == "T-3"))
    assert ticket.priority == "mineure" and ticket.opened_at == OPENED
    assert db.session.scalar(select(func.count()).select_from(Booking).where(Booking.ticket_id == ticket.id)) == 2


def test_the_notice_reads_in_english(app, client, auth):
    contact = contact_with_ticket(locale="en")
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        page = week(client, TYPED)
    assert (
        "Ticket T-3 is already recorded with priority Minor, opened on 7 December 2026 at 09:00: the windows below "
        "are those of this priority, and the callback will be booked with these values. If its priority has "
        "changed, contact your planner." in page
    )
    assert "déjà enregistré" not in page


def test_another_opening_is_the_recorded_one_too(app, client, auth):
    contact = contact_with_ticket()
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        page = week(client, "ticket=T-3&priorite=mineure&ouvert=2026-12-04T16:15")
    assert 'data-testid="ticket-recorded"' in page and "ouvert le 7 décembre 2026 à 09:00" in page
    assert "ouvert=2026-12-07T09:00" in (form_action(page) or "")


def test_a_known_ticket_typed_as_recorded_and_a_new_reference_are_listed_as_typed(app, client, auth):
    # recorded by the API at 09:00:42: the form's 09:00 is the same minute, the same ticket
    contact = contact_with_ticket(opened=OPENED + timedelta(seconds=42))
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        same = week(client, "ticket=T-3&priorite=mineure&ouvert=2026-12-07T09:00")
        new = week(client, "ticket=T-9&priorite=bloquante&ouvert=2026-12-07T09:00")
    for page in (same, new):
        assert 'data-testid="ticket-recorded"' not in page and form_action(page) is None
    assert "Ticket T-9 (Bloquante)." in new and "Ticket T-3 (Mineure)." in same


def test_a_stale_click_with_the_typed_values_is_refused_and_the_week_then_lists_the_recorded_ones(app, client, auth):
    """A page shown before the ticket was recorded (or a hand-made request) still sends the typed values: the
    click is refused as before, and the week it shows again is the recorded ticket's, with forms that send it."""
    contact = contact_with_ticket()
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        refused = client.post(f"/portail/reserver/callback?{TYPED}", data={"start": "2026-12-07T10:00:00+01:00"})
        page = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422
    assert "Le ticket T-3 est enregistré en priorité Mineure" in page  # ticket_differs, as said on every path
    assert 'data-testid="ticket-recorded"' in page and "priorite=mineure" in (form_action(page) or "")
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1


def test_as_known_answers_the_recorded_values_and_the_ticket_only_when_they_differ(any_app):
    contact = contact_with_ticket()
    company = contact.company
    typed = {"reference": " T-3 ", "priority": "bloquante", "opened_at": OPENED}
    listed, recorded = callbacks.as_known(company, typed)
    assert recorded is not None and recorded.reference == "T-3"
    assert (listed["priority"], listed["opened_at"]) == ("mineure", OPENED)
    same = {"reference": "T-3", "priority": "mineure", "opened_at": OPENED + timedelta(seconds=30)}
    assert callbacks.as_known(company, same) == (same, None)
    other_company = f.company("serenite")
    db.session.commit()
    assert callbacks.as_known(other_company, typed) == (typed, None)  # another company's T-3 is not looked at
