"""Invitations keep every consultant's calendar exact (issue 14, item 8): each mail goes through a real SMTP
server, and each consultant's calendar on a real CalDAV server (Radicale) processes the iTIP it receives.
After book, move, reassign, cancel and plan, each calendar holds exactly the bookings of its owner."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from booking.extensions import db
from booking.models import Booking, Consultant
from booking.services import bookings, mail, priority
from booking.services.bookings import ACTIVE_STATUSES
from booking.services.errors import ServiceError
from calendars.invite import ics_file
from calendars.worktime import PARIS

from . import factories as f
from .itip_caldav import Calendars, radicale
from .plans import computed
from .test_mail import calendar_part, smtp  # noqa: F401 (the fixture)

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def caldav(tmp_path):
    process, base = radicale(tmp_path)
    yield Calendars(base)
    process.terminate()
    process.wait(10)


def replay(inbox, calendars: Calendars, mailboxes: set[str]) -> None:
    """Each mail received so far, in order, handed to its recipient's calendar (consultants' only)."""
    for recipients, message in inbox.messages:
        if recipients[0] in mailboxes and any(p.get_content_type() == "text/calendar" for p in message.walk()):
            calendars.receive(recipients[0], calendar_part(message)[1])
    inbox.messages.clear()


def assert_exact(calendars: Calendars) -> None:
    """Each consultant's calendar holds the UIDs of their own active bookings, no more, no fewer."""
    db.session.expire_all()
    for consultant in db.session.scalars(select(Consultant)):
        own = set(
            db.session.scalars(
                select(Booking.ical_uid).where(
                    Booking.consultant_id == consultant.id, Booking.status.in_(ACTIVE_STATUSES)
                )
            )
        )
        assert calendars.uids(consultant.user.email) == own, consultant.user.name


def test_book_move_reassign_cancel_leave_no_ghost(app, smtp, caldav):  # noqa: F811
    company = f.company("serenite", contract_start=date(2026, 1, 1))
    contact = f.user("client", company)
    first, second = f.consultant(), f.consultant()
    db.session.commit()
    mailboxes = {first.user.email, second.user.email}
    moved = bookings.book(contact, "erplib", datetime(2026, 12, 8, 10, tzinfo=PARIS), NOW, consultant_id=first.id)
    kept = bookings.book(contact, "erplib", datetime(2026, 12, 9, 15, tzinfo=PARIS), NOW, consultant_id=first.id)
    mail.deliver(NOW)
    replay(smtp, caldav, mailboxes)
    assert_exact(caldav)
    assert caldav.uids(first.user.email) == {moved.ical_uid, kept.ical_uid}

    bookings.reschedule(contact, moved, datetime(2026, 12, 8, 14, tzinfo=PARIS), NOW)
    mail.deliver(NOW)
    replay(smtp, caldav, mailboxes)
    assert_exact(caldav)

    # whoever has it now is taken on the 10th at 10:00: moving it there gives it to the other one
    before = moved.consultant_id
    blocker = bookings.book(contact, "erplib", datetime(2026, 12, 10, 10, tzinfo=PARIS), NOW, consultant_id=before)
    mail.deliver(NOW)
    replay(smtp, caldav, mailboxes)
    bookings.reschedule(contact, moved, datetime(2026, 12, 10, 10, tzinfo=PARIS), NOW)
    assert moved.consultant_id != before
    previous = db.session.get(Consultant, before).user
    mail.deliver(NOW)
    to_previous = [m for rcpt, m in smtp.messages if rcpt == [previous.email]]
    assert len(to_previous) == 1 and "autre consultant" in to_previous[0]["Subject"]
    method, ics = calendar_part(to_previous[0])
    assert method == "CANCEL" and f"UID:{moved.ical_uid}" in ics and f"SEQUENCE:{moved.sequence}" in ics
    assert previous.email in ics and moved.consultant.user.email not in ics
    new = sorted((rcpt[0], calendar_part(m)[0]) for rcpt, m in smtp.messages if rcpt != [previous.email])
    assert new == sorted([(moved.consultant.user.email, "REQUEST"), (contact.email, "REQUEST")])
    replay(smtp, caldav, mailboxes)
    assert_exact(caldav)
    assert moved.ical_uid not in caldav.uids(previous.email)
    assert moved.ical_uid in caldav.uids(moved.consultant.user.email)

    for booking in (moved, kept, blocker):
        bookings.cancel(contact, booking, NOW)
    mail.deliver(NOW)
    replay(smtp, caldav, mailboxes)
    assert_exact(caldav)
    assert caldav.uids(first.user.email) == caldav.uids(second.user.email) == set()


def test_an_absence_repair_plan_moves_calendars_with_the_bookings(app, smtp, caldav):  # noqa: F811
    """Bookings made long ago (their invitations already in the calendars); an absence's repair plan moves
    them, some to another consultant: the absent one's calendar keeps none of those."""
    now = datetime(2026, 11, 30, 8, tzinfo=UTC)  # Monday 09:00 in Paris
    app.config["RESHUFFLE_SECONDS"] = 2
    other = f.company("confort", name="Patient SARL")
    patient = f.user("client", other)
    expert, spare = f.consultant(skills=("migration",)), f.consultant(skills=("comptabilite",))
    planner = f.user("planner")
    for day in range(1, 19):
        start = datetime(2026, 12, day, 9, tzinfo=PARIS)
        if start.weekday() < 5:
            f.booking(expert, start, company=other, contact=patient, booked_at=now - timedelta(days=30))
    db.session.commit()
    mailboxes = {expert.user.email, spare.user.email}
    for booking in db.session.scalars(select(Booking)):  # as the invitations of long ago left them
        caldav.receive(
            expert.user.email, ics_file(_event(booking)).replace(b"VERSION:2.0", b"VERSION:2.0\r\nMETHOD:REQUEST", 1)
        )
    assert_exact(caldav)
    with time_machine.travel(now, tick=True):
        # away for the rest of the month: most of the expert's bookings can only go to the other consultant
        start, end = datetime(2026, 12, 3, 0, tzinfo=PARIS), datetime(2027, 1, 1, 0, tzinfo=PARIS)
        plan = computed(priority.mark_absent(planner, expert, start, end, "Malade", now).id)
        assert plan.status == "ready"
        assert any(m["from"]["consultant"] != m["to"]["consultant"] for m in plan.plan["moves"])
        priority.apply(planner, plan, now)
        db.session.commit()
        mail.deliver(now)
    replay(smtp, caldav, mailboxes)
    assert_exact(caldav)
    assert caldav.uids(spare.user.email)  # the reassigned ones arrived, and left the expert's calendar


def _event(booking):
    from booking.services.notify import event_data

    return event_data(booking)


SLOTS = [datetime(2026, 12, day, hour, tzinfo=PARIS) for day in (8, 9, 10) for hour in (9, 10, 14, 15)]
STEPS = st.lists(
    st.tuples(st.sampled_from(["book", "move", "cancel"]), st.integers(0, 3), st.sampled_from(range(len(SLOTS)))),
    min_size=1,
    max_size=8,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_any_sequence_leaves_each_calendar_exact(app, smtp, caldav, steps):  # noqa: F811
    """Random book / move (to either consultant, as availability decides) / cancel, then everything
    cancelled: after each mail delivery, each calendar holds its owner's bookings of this run, no ghost."""
    consultants = list(db.session.scalars(select(Consultant)))
    if len(consultants) < 2:
        consultants = [f.consultant(), f.consultant()]
    contact = f.user("client", f.company("serenite", contract_start=date(2026, 1, 1)))
    db.session.commit()
    mailboxes = {c.user.email for c in consultants}
    mine: list[Booking] = []

    def check():
        mail.deliver(NOW)
        replay(smtp, caldav, mailboxes)
        db.session.expire_all()
        uids = {b.ical_uid for b in mine}
        for consultant in consultants:
            own = {b.ical_uid for b in mine if b.consultant_id == consultant.id and b.status in ACTIVE_STATUSES}
            assert caldav.uids(consultant.user.email) & uids == own

    for action, which, slot in steps:
        try:
            if action == "book":
                mine.append(bookings.book(contact, "erplib", SLOTS[slot], NOW, consultant_id=consultants[which % 2].id))
            elif mine and action == "move":
                bookings.reschedule(contact, mine[which % len(mine)], SLOTS[slot], NOW)
            elif mine:
                bookings.cancel(contact, mine[which % len(mine)], NOW)
            db.session.commit()
        except ServiceError:
            db.session.rollback()
        check()
    for booking in mine:
        if booking.status == "confirmed":
            bookings.cancel(contact, booking, NOW)
            db.session.commit()
    check()
