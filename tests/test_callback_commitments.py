"""Callbacks follow their ticket's commitment: windows from now + a short preparation, both deadlines shown on
the pages and in the API, a plain word when no window fits, and planners see the callbacks at risk."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import AuditEntry, Booking, OutboxMessage, Ticket
from booking.services import availability, bookings, callbacks, tokens
from booking.services.access import ticket_for
from booking.services.errors import Conflict
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 7, 8, tzinfo=UTC)  # Monday 09:00 in Paris
OPENED = NOW  # a Bloquante ticket opened now: Sérénité promises acknowledge within 1 h, take charge within 2 h
TICKET_ARGS = "ticket=TCK-1&priorite=bloquante&ouvert=2026-12-07T09:00"


def serenite_contact():
    contact = f.user("client", f.company("serenite"))
    f.consultant()
    db.session.commit()
    return contact


def test_the_commitment_gives_both_deadlines(any_app):
    contact = serenite_contact()
    promise = callbacks.commitment(contact.company, "bloquante", OPENED)
    assert promise.acknowledge == datetime(2026, 12, 7, 10, tzinfo=PARIS)
    assert promise.take_charge == datetime(2026, 12, 7, 11, tzinfo=PARIS)
    assert callbacks.commitment(f.company("standard"), "basse", OPENED).take_charge is None


def test_a_callback_window_opens_before_the_take_charge_deadline_unlike_the_booking_notice(any_app):
    contact = serenite_contact()
    deadline = callbacks.commitment(contact.company, "bloquante", OPENED).take_charge
    day_end = NOW + timedelta(hours=10)
    offered = availability.listing("callback", contact.company, NOW, day_end, NOW, deadline=deadline)
    assert offered[0].start == datetime(2026, 12, 7, 9, 30, tzinfo=PARIS) and offered[0].within_commitment
    assert availability.listing("erplib", contact.company, NOW, day_end, NOW)[0].start >= availability.earliest(NOW)
    assert availability.earliest(NOW) >= deadline  # the general notice alone could never have met it
    booked = bookings.book(
        contact, "callback", offered[0].start, NOW, ticket=ticket_for(contact.company, "TCK-1", "bloquante", OPENED)
    )
    assert not booked.beyond_commitment and callbacks.at_risk(NOW) == []


def test_a_callback_booked_beyond_its_deadline_is_at_risk_for_planners(any_app):
    contact = serenite_contact()
    late = bookings.book(
        contact,
        "callback",
        datetime(2026, 12, 7, 14, tzinfo=PARIS),
        NOW,
        ticket=ticket_for(contact.company, "TCK-2", "bloquante", OPENED),
    )
    assert late.beyond_commitment
    assert callbacks.at_risk(NOW) == [(late, datetime(2026, 12, 7, 11, tzinfo=PARIS))]


def test_the_pages_show_both_deadlines_and_the_tiers_commitments(app, client, auth):
    contact = serenite_contact()
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        form = client.get("/portail/reserver/callback").get_data(as_text=True)
        week = client.get(f"/portail/reserver/callback?{TICKET_ARGS}").get_data(as_text=True)
    assert 'data-testid="commitments"' in form and "Prise en charge" in form
    assert "Accusé de réception : avant le" in week and "Engagement de prise en charge : avant le" in week
    assert 'data-testid="no-window"' not in week


@pytest.mark.parametrize(
    "locale, delays, words",
    [
        ("fr", ["1 h", "2 h", "2 h", "4 h", "1 j", "4 j", "1 j", "20 j"], "heures (h) ou jours (j)"),
        ("en", ["1 hour", "2 hours", "2 hours", "4 hours", "1 day", "4 days", "1 day", "20 days"], "business days"),
    ],
)
def test_the_tiers_commitments_read_in_the_readers_language(app, client, auth, locale, delays, words):
    contact = serenite_contact()
    contact.locale = locale
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        page = client.get("/portail/reserver/callback").get_data(as_text=True)
    table = page[page.index('data-testid="commitments"') : page.index("</table>")]
    assert re.findall(r"<td>(\d+ \w+)</td>", table) == delays
    assert words in page.replace("&#39;", "'") and (locale == "fr" or "(j)" not in page)


def busy_morning_contact():
    """A Sérénité contact whose only consultant is booked all morning: no window starts before the 11:00 deadline
    of a Bloquante ticket opened at 09:00 (Monday 7 December 2026)."""
    contact = f.user("client", f.company("serenite"))
    f.booking(f.consultant(), datetime(2026, 12, 7, 9, tzinfo=PARIS), minutes=180)
    db.session.commit()
    return contact


def asked(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def planner_mails() -> list[str]:
    return list(
        db.session.scalars(select(OutboxMessage.subject).where(OutboxMessage.subject.like("Rappel à organiser%")))
    )


def test_when_no_window_fits_the_client_asks_to_be_called_and_the_planners_see_it(app, client, auth):
    contact, planner = busy_morning_contact(), f.user("planner")
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        week = client.get(f"/portail/reserver/callback?{TICKET_ARGS}").get_data(as_text=True)
        assert 'data-testid="no-window"' in week and 'data-testid="request-call"' in week
        assert "un consultant vous appellera au plus tard à cette échéance" in week
        done = client.post(f"/portail/reserver/callback/etre-rappele?{TICKET_ARGS}", follow_redirects=True)
        page = done.get_data(as_text=True)
        assert "un consultant vous appellera au plus tard le lun. 7 déc. 11:00" in page
        assert 'data-testid="call-requested"' in page and 'data-testid="request-call"' not in page
        client.post(f"/portail/reserver/callback/etre-rappele?{TICKET_ARGS}")  # a second click: nothing more
        assert asked("ticket.call_requested") == 1
        assert len(planner_mails()) == 1 and "TCK-1" in planner_mails()[0]
        auth.logout()
        auth.login(planner.email)
        home = client.get("/planification/").get_data(as_text=True)
        assert 'data-testid="calls-to-make"' in home and "TCK-1" in home
        ticket = db.session.scalar(select(Ticket).where(Ticket.reference == "TCK-1"))
        marked = client.post(f"/planification/rappels/{ticket.id}/fait", follow_redirects=True).get_data(as_text=True)
        assert "Rappel noté comme fait." in marked and 'data-testid="calls-to-make"' not in marked
    assert asked("ticket.called") == 1


def test_a_call_is_asked_only_when_no_window_fits_and_only_once(any_app):
    contact = busy_morning_contact()
    f.user("planner")
    db.session.commit()
    ticket, new, _ = callbacks.request_call(contact, "TCK-6", "bloquante", OPENED, NOW)
    assert new and ticket.call_requested_at == NOW
    assert callbacks.request_call(contact, "TCK-6", "bloquante", OPENED, NOW)[1] is False
    assert asked("ticket.call_requested") == 1 and len(planner_mails()) == 1
    assert callbacks.calls_to_make(NOW) == [(ticket, datetime(2026, 12, 7, 11, tzinfo=PARIS))]
    f.consultant()  # free all morning: a window now fits before the deadline of another ticket
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        callbacks.request_call(contact, "TCK-5", "bloquante", OPENED, NOW)
    assert refused.value.code == "callback_window_free"
    assert db.session.scalar(select(func.count(Ticket.id)).where(Ticket.reference == "TCK-5")) == 0
    # a callback booked for the ticket since: the call is no longer to make
    again = ticket_for(contact.company, "TCK-6", "bloquante", OPENED)
    bookings.book(contact, "callback", datetime(2026, 12, 7, 14, tzinfo=PARIS), NOW, ticket=again)
    assert callbacks.calls_to_make(NOW) == []


def test_a_priority_without_a_deadline_books_a_window_instead(any_app):
    contact = f.user("client", f.company("standard"))
    f.consultant()
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        callbacks.request_call(contact, "TCK-7", "basse", OPENED, NOW)
    assert refused.value.code == "no_commitment"


def test_the_planners_home_lists_the_callback_at_risk(app, client, auth):
    contact = serenite_contact()
    planner = f.user("planner")
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        bookings.book(
            contact,
            "callback",
            datetime(2026, 12, 7, 14, tzinfo=PARIS),
            NOW,
            ticket=ticket_for(contact.company, "TCK-3", "bloquante", OPENED),
        )
        auth.login(planner.email)
        home = client.get("/planification/").get_data(as_text=True)
    assert 'data-testid="callbacks-at-risk"' in home and "TCK-3" in home


def test_the_api_returns_both_deadlines_with_the_callback(any_app):
    contact = serenite_contact()
    key = tokens.create(contact)
    db.session.commit()
    client = any_app.test_client()
    with time_machine.travel(NOW, tick=False):
        made = client.post(
            "/api/v1/bookings",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "service": "callback",
                "start": "2026-12-07T09:30:00+01:00",
                "ticket": {"reference": "TCK-4", "priority": "bloquante", "opened_at": "2026-12-07T09:00:00+01:00"},
            },
        )
    assert made.status_code == 201, made.json
    assert made.json["ticket"]["acknowledge_by"] == "2026-12-07T10:00:00+01:00"
    assert made.json["ticket"]["take_charge_by"] == "2026-12-07T11:00:00+01:00"
    assert made.json["beyond_commitment"] is False


def test_the_api_asks_to_be_called_as_the_page_does(any_app):
    """The same request and refusal as the page's button: 201 recorded, 200 when asked before, 409 with its code
    when a window fits."""
    contact = busy_morning_contact()
    f.user("planner")
    key = tokens.create(contact)
    db.session.commit()
    client, headers = any_app.test_client(), {"Authorization": f"Bearer {key}"}
    ticket = {"reference": "TCK-8", "priority": "bloquante", "opened_at": "2026-12-07T09:00:00+01:00"}
    with time_machine.travel(NOW, tick=False):
        made = client.post("/api/v1/callbacks/call-request", headers=headers, json=ticket)
        again = client.post("/api/v1/callbacks/call-request", headers=headers, json=ticket)
        f.consultant()  # free all morning: a window fits before the deadline of another ticket
        db.session.commit()
        free = client.post("/api/v1/callbacks/call-request", headers=headers, json={**ticket, "reference": "TCK-9"})
    assert made.status_code == 201, made.json
    assert made.json["reference"] == "TCK-8" and made.json["take_charge_by"] == "2026-12-07T11:00:00+01:00"
    assert made.json["call_requested_at"] == "2026-12-07T09:00:00+01:00" and made.json["called_at"] is None
    assert again.status_code == 200 and again.json == made.json
    assert asked("ticket.call_requested") == 1 and len(planner_mails()) == 1
    assert free.status_code == 409 and free.json["code"] == "callback_window_free"
    assert "Un créneau de rappel est libre avant l'échéance" in free.json["detail"]
    standard = tokens.create(f.user("client", f.company("standard")))  # its "basse" promises no deadline
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        none = client.post(
            "/api/v1/callbacks/call-request",
            headers={"Authorization": f"Bearer {standard}"},
            json={**ticket, "reference": "TCK-10", "priority": "basse"},
        )
    assert none.status_code == 409 and none.json["code"] == "no_commitment"  # a window is booked instead
    assert none.headers["Content-Type"] == "application/problem+json"


def _hold_page(client, args: str, start: str):
    return client.post(f"/portail/reserver/callback?{args}", data={"start": start})


def test_a_ticket_named_again_with_another_priority_is_refused_as_recorded(any_app):
    contact = serenite_contact()
    first = bookings.book(
        contact,
        "callback",
        datetime(2026, 12, 8, 14, tzinfo=PARIS),
        NOW,
        ticket=ticket_for(contact.company, "T-3", "mineure", OPENED),
    )
    for priority, opened in (("bloquante", OPENED), ("mineure", OPENED - timedelta(days=1))):
        with pytest.raises(Conflict) as refused:
            ticket_for(contact.company, "T-3", priority, opened)
        assert refused.value.code == "ticket_differs"
        assert "Le ticket T-3 est enregistré en priorité Mineure, ouvert le 7 décembre 2026 à 09:00" in str(
            refused.value
        )
    # the page's form says minutes only: the same minute is the same ticket
    assert ticket_for(contact.company, "T-3", "mineure", OPENED + timedelta(seconds=42)) is first.ticket
    assert first.ticket.priority == "mineure" and first.ticket.opened_at == OPENED


def test_a_ticket_written_meanwhile_with_another_priority_is_refused_under_the_lock(any_app):
    contact = serenite_contact()
    looked_up = ticket_for(contact.company, "T-4", "bloquante", OPENED)  # none yet: a new one, unsaved
    other = f.user("client", contact.company)
    db.session.commit()
    bookings.book(
        other,
        "callback",
        datetime(2026, 12, 8, 14, tzinfo=PARIS),
        NOW,
        ticket=ticket_for(contact.company, "T-4", "mineure", OPENED),
    )
    with pytest.raises(Conflict) as refused:
        bookings.book(contact, "callback", datetime(2026, 12, 8, 15, tzinfo=PARIS), NOW, ticket=looked_up)
    assert refused.value.code == "ticket_differs"
    assert db.session.scalar(select(func.count(Ticket.id)).where(Ticket.reference == "T-4")) == 1


def test_the_api_refuses_a_ticket_sent_with_another_priority_in_the_readers_language(any_app):
    contact = serenite_contact()
    key = tokens.create(contact)
    db.session.commit()
    client = any_app.test_client()

    def callback(start: str, priority: str):
        ticket = {"reference": "T-3", "priority": priority, "opened_at": "2026-12-07T09:00:00+01:00"}
        return client.post(
            "/api/v1/bookings",
            headers={"Authorization": f"Bearer {key}", "Accept-Language": "en"},
            json={"service": "callback", "start": start, "ticket": ticket},
        )

    with time_machine.travel(NOW, tick=False):
        assert callback("2026-12-08T14:00:00+01:00", "mineure").status_code == 201
        refused = callback("2026-12-07T10:00:00+01:00", "bloquante")
    assert refused.status_code == 409 and refused.json["code"] == "ticket_differs"
    assert "Ticket T-3 is recorded with priority Minor, opened on 7 December 2026 at 09:00" in refused.json["detail"]
    ticket = db.session.scalar(select(Ticket).where(Ticket.reference == "T-3"))
    assert ticket.priority == "mineure"
    assert db.session.scalar(select(func.count()).select_from(Booking).where(Booking.ticket_id == ticket.id)) == 1


def test_the_booking_page_refuses_a_ticket_sent_with_another_priority(app, client, auth):
    contact = serenite_contact()
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)
        args = "ticket=T-3&priorite=mineure&ouvert=2026-12-07T09:00"
        assert _hold_page(client, args, "2026-12-08T14:00:00+01:00").status_code == 302
        page = _hold_page(client, TICKET_ARGS.replace("TCK-1", "T-3"), "2026-12-07T10:00:00+01:00")
    text = page.get_data(as_text=True).replace("&#39;", "'")
    assert page.status_code == 422
    assert "Le ticket T-3 est enregistré en priorité Mineure, ouvert le 7 décembre 2026 à 09:00" in text
    assert db.session.scalar(select(Ticket.priority).where(Ticket.reference == "T-3")) == "mineure"
    assert db.session.scalar(select(func.count()).select_from(Booking).where(Booking.ticket_id.is_not(None))) == 1
