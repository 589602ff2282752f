"""The booking lifecycle and the hour bank, through the services shared by pages and API."""

import threading
from datetime import UTC, date, datetime, timedelta
from email import message_from_string

import pytest
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import AuditEntry, Booking, LedgerEntry, OutboxMessage
from booking.services import accounts, bookings, hour_bank, mail
from booking.services.access import ticket_for
from booking.services.errors import Conflict, Invalid, NotEntitled
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
YEAR = date(2026, 1, 1)


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


@pytest.fixture
def serenite(app):
    company = f.company("serenite", contract_start=YEAR)
    contact = f.user("client", company)
    consultant = f.consultant(skills=("installation",))
    db.session.commit()
    return company, contact, consultant


def calendar_part(raw: str) -> tuple[str, str]:
    """The text/calendar part of a mail: its method parameter and its text."""
    part = next(p for p in message_from_string(raw).walk() if p.get_content_type() == "text/calendar")
    return part.get_param("method"), part.get_payload(decode=True).decode()


def balance(company):
    return hour_bank.balance(company, YEAR)


def test_booking_reserves_45_minutes_and_a_timely_cancel_refunds(serenite):
    company, contact, _ = serenite
    booking = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)  # 31 business hours away
    assert booking.status == "confirmed" and balance(company) == 600 - 45
    bookings.cancel(contact, booking, NOW)
    assert booking.status == "cancelled" and balance(company) == 600
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == booking.id)).all()
    assert actions == ["booking.confirm", "booking.cancel"]


def test_late_cancel_consumes_the_session(serenite):
    company, contact, _ = serenite
    booking = bookings.book(contact, "erplib", paris("2026-12-03 14:00"), NOW)  # 8.5 business hours away
    bookings.cancel(contact, booking, NOW)
    assert booking.status == "late_cancelled" and balance(company) == 600 - 45


def test_the_fourteenth_session_splits_into_included_and_billable(serenite):
    company, contact, _ = serenite
    start = paris("2026-12-07 09:00")
    for n in range(15):
        day = start + timedelta(days=7 * (n // 6), hours=(n % 6) // 3 * 5, minutes=(n % 3) * 60)
        bookings.book(contact, "erplib", day, NOW)
    lines = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "reserve").order_by(LedgerEntry.id)).all()
    assert [(e.minutes, e.billable_minutes) for e in lines[12:]] == [(-45, 0), (-15, 30), (0, 45)]
    assert balance(company) == 0
    assert sum(e.billable_minutes for e in lines) == 75


def test_billable_tiers_record_billable_minutes(app):
    company = f.company("standard")
    contact = f.user("client", company)
    f.consultant()
    db.session.commit()
    bookings.book(contact, "erplib", paris("2026-12-07 10:00"), NOW)
    entry = db.session.scalar(select(LedgerEntry))
    assert (entry.minutes, entry.billable_minutes) == (0, 45)


@pytest.mark.parametrize(
    "tier, kind, reason",
    [
        ("standard", "minor_update", "n'inclut pas"),
        ("standard", "major_install_test", "n'inclut pas"),
        ("confort", "major_install", "n'inclut pas"),
        ("confort", "priority_consulting", "se demande"),
        ("standard", "priority_consulting", "n'inclut pas"),
    ],
)
def test_services_outside_the_contract_are_refused_with_the_reason(app, tier, kind, reason):
    company = f.company(tier)
    contact = f.user("client", company)
    f.consultant(skills=("installation",))
    db.session.commit()
    with pytest.raises(NotEntitled, match=reason):
        bookings.book(contact, kind, paris("2026-12-07 09:00"), NOW)
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_a_taken_slot_is_a_conflict_and_changes_nothing(serenite):
    company, contact, _ = serenite
    bookings.book(contact, "erplib", paris("2026-12-07 10:00"), NOW)
    with pytest.raises(Conflict, match="plus disponible"):
        bookings.book(contact, "erplib", paris("2026-12-07 10:30"), NOW)
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1 and balance(company) == 555


def test_reschedule_moves_and_raises_the_sequence_until_the_cutoff(serenite):
    company, contact, _ = serenite
    booking = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)
    bookings.reschedule(contact, booking, paris("2026-12-08 15:00"), NOW)
    assert booking.start_at == paris("2026-12-08 15:00") and booking.sequence == 1 and balance(company) == 555
    with pytest.raises(Conflict, match="ne peut plus être déplacé"):
        bookings.reschedule(contact, booking, paris("2026-12-09 15:00"), paris("2026-12-08 09:00"))


def test_a_hold_blocks_the_slot_until_it_expires(serenite):
    company, contact, _ = serenite
    held = bookings.book(contact, "erplib", paris("2026-12-07 10:00"), NOW, hold=True)
    assert held.status == "held" and balance(company) == 600
    with pytest.raises(Conflict):
        bookings.book(f.user("client", company), "erplib", paris("2026-12-07 10:00"), NOW + timedelta(minutes=5))
    later = NOW + timedelta(minutes=11)
    with pytest.raises(Conflict, match="expiré"):
        bookings.confirm(contact, held, later)
    other = bookings.book(contact, "erplib", paris("2026-12-07 10:00"), later)
    assert other.status == "confirmed" and held.status == "expired"


def test_a_hold_past_its_expiry_not_yet_swept_gives_way_to_a_booking(any_app):
    """The database's constraint still counts such a hold: the booking marks it expired and succeeds."""
    company = f.company("serenite", contract_start=YEAR)
    contact, other = f.user("client", company), f.user("client", company)
    f.consultant()
    db.session.commit()
    held = bookings.book(contact, "erplib", paris("2026-12-07 10:00"), NOW, hold=True)
    later = NOW + timedelta(minutes=11)
    booking = bookings.book(other, "erplib", paris("2026-12-07 10:00"), later)
    assert booking.status == "confirmed" and held.status == "expired"
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == held.id)).all()
    assert actions == ["booking.hold", "booking.hold_expired"]
    with pytest.raises(Conflict):  # a live booking is never swept away
        bookings.book(contact, "erplib", paris("2026-12-07 10:00"), later)


def test_confirming_a_hold_reserves_and_mails_an_invitation(serenite):
    company, contact, _ = serenite
    held = bookings.book(contact, "erplib", paris("2026-12-07 10:00"), NOW, hold=True)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    bookings.confirm(contact, held, NOW + timedelta(minutes=2))
    assert held.status == "confirmed" and balance(company) == 555
    mail.deliver(NOW)  # the scheduler's job composes what the transaction queued
    mails = db.session.scalars(select(OutboxMessage)).all()
    assert {m.recipient for m in mails} == {contact.email, held.consultant.user.email}
    for sent in mails:
        method, ics = calendar_part(sent.raw)
        assert method == "REQUEST" and "METHOD:REQUEST" in ics and held.ical_uid in ics


def test_cancel_mails_a_cancel_with_a_higher_sequence(serenite):
    _, contact, _ = serenite
    booking = bookings.book(contact, "erplib", paris("2026-12-07 10:00"), NOW)
    bookings.cancel(contact, booking, NOW)
    mail.deliver(NOW)
    cancel = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    method, ics = calendar_part(cancel.raw)
    assert method == "CANCEL" and "METHOD:CANCEL" in ics and "SEQUENCE:1" in ics and "STATUS:CANCELLED" in ics


def test_outcomes_and_follow_up_confirmed_in_one_click(serenite):
    company, contact, consultant = serenite
    session = bookings.book(contact, "erplib", paris("2026-12-07 10:00"), NOW)
    with pytest.raises(Conflict, match="pas encore commencé"):
        bookings.record_outcome(consultant.user, session, "completed", NOW)
    after = paris("2026-12-07 10:50")
    bookings.record_outcome(consultant.user, session, "completed", after)
    proposal = bookings.propose_follow_up(consultant.user, session, paris("2026-12-09 14:00"), after)
    assert (
        proposal.status == "held" and proposal.consultant_id == consultant.id and proposal.follow_up_of_id == session.id
    )
    assert proposal.hold_expires_at == after + timedelta(hours=48)
    bookings.confirm(contact, proposal, after + timedelta(hours=20))
    assert proposal.status == "confirmed" and balance(company) == 600 - 90


def test_a_follow_up_that_begins_within_its_48_hours_is_kept_until_its_start_then_lapses(serenite):
    """Proposed on Monday for Tuesday 09:00: confirmable until then, not after (the slot is under way); the client
    may release it whenever (nothing took place, nothing to record)."""
    company, contact, consultant = serenite
    session = bookings.book(contact, "erplib", paris("2026-12-07 10:00"), NOW)
    after = paris("2026-12-07 10:50")
    bookings.record_outcome(consultant.user, session, "completed", after)
    start = paris("2026-12-08 09:00")
    late, early, older = (
        bookings.propose_follow_up(consultant.user, session, start + timedelta(hours=h), after) for h in (0, 2, 5)
    )
    assert late.hold_expires_at == start  # not after + 48 h
    with pytest.raises(Conflict) as refused:
        bookings.confirm(contact, late, start + timedelta(minutes=5))
    assert refused.value.code == "hold_expired" and late.status == "expired" and balance(company) == 555
    for held in (early, older):  # held before holds were bounded by their start
        held.hold_expires_at = after + timedelta(hours=48)
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        bookings.confirm(contact, older, start + timedelta(hours=5))
    assert refused.value.code == "hold_expired" and older.status == "expired"
    assert bookings.cancel(contact, early, start + timedelta(hours=3)).status == "cancelled"
    assert balance(company) == 555


def test_a_follow_up_is_proposed_once_the_session_has_started_and_begins_after_its_end(serenite):
    """Before its start nothing has overrun: refused (not_started), as a slot placed before the session ends is
    (no_follow_up); nothing is held."""
    company, contact, consultant = serenite
    session = bookings.book(contact, "erplib", paris("2026-12-07 10:00"), NOW)  # 10:00–10:45
    with pytest.raises(Conflict) as early:
        bookings.propose_follow_up(consultant.user, session, paris("2026-12-04 14:00"), NOW)
    assert early.value.code == "not_started" and "n'a pas encore commencé" in early.value.message
    under_way = paris("2026-12-07 10:15")
    with pytest.raises(Conflict) as before:
        bookings.propose_follow_up(consultant.user, session, paris("2026-12-07 10:30"), under_way)
    assert before.value.code == "no_follow_up" and "après la fin de la session" in before.value.message
    assert db.session.scalar(select(func.count()).where(Booking.follow_up_of_id == session.id)) == 0
    proposal = bookings.propose_follow_up(consultant.user, session, paris("2026-12-08 10:00"), under_way)
    assert proposal.status == "held" and balance(company) == 555


def test_a_follow_up_of_a_session_cancelled_meanwhile_is_refused_under_its_locks(serenite):
    """The page read the session confirmed; another request cancelled it before the proposal took its locks: the
    session is read again under them and the proposal refused (it was held for a cancelled session)."""
    from sqlalchemy import update

    company, contact, consultant = serenite
    session = bookings.book(contact, "erplib", paris("2026-12-07 10:00"), NOW)
    db.session.commit()
    assert session.status == "confirmed"  # what the proposal's page read
    db.session.execute(  # then another request's cancellation, which the object read does not see
        update(Booking).where(Booking.id == session.id).values(status="cancelled"),
        execution_options={"synchronize_session": False},
    )
    assert session.__dict__["status"] == "confirmed"
    with pytest.raises(Conflict) as refused:
        bookings.propose_follow_up(consultant.user, session, paris("2026-12-08 10:00"), paris("2026-12-07 10:15"))
    assert refused.value.code == "no_follow_up"
    assert db.session.scalar(select(func.count()).where(Booking.follow_up_of_id == session.id)) == 0


def test_no_show_consumes(serenite):
    company, contact, consultant = serenite
    session = bookings.book(contact, "erplib", paris("2026-12-07 10:00"), NOW)
    bookings.record_outcome(consultant.user, session, "no_show", paris("2026-12-07 10:30"))
    assert session.status == "no_show" and balance(company) == 555


def test_one_major_install_per_version(serenite):
    company, contact, _ = serenite
    first = bookings.book(contact, "major_install", paris("2026-12-08 09:00"), NOW, environment="test")
    assert first.end_at == paris("2026-12-08 18:00") and first.target_version == company.erp_version
    with pytest.raises(Conflict, match="une par version"):
        bookings.book(contact, "major_install", paris("2026-12-10 09:00"), NOW, environment="production")


def test_interventions_check_the_environment(serenite):
    company, contact, _ = serenite
    with pytest.raises(Invalid, match="Environnement"):
        bookings.book(contact, "major_install_test", paris("2026-12-08 09:00"), NOW, environment="production")
    minor = bookings.book(contact, "minor_update", paris("2026-12-08 14:00"), NOW)
    assert minor.environment == "production" and minor.end_at == paris("2026-12-08 16:00")


def test_callback_windows_after_the_take_charge_deadline_are_the_clients_choice(app):
    company = f.company("confort")
    contact = f.user("client", company)
    f.consultant()
    db.session.commit()
    opened = paris("2026-12-02 09:00")  # majeure, Confort: take charge within 1 business day
    deadline = bookings.take_charge_deadline(company, "majeure", opened)
    assert deadline == paris("2026-12-03 09:00")
    early = bookings.book(
        contact, "callback", paris("2026-12-02 14:30"), NOW, ticket=ticket_for(company, "TCK-1", "majeure", opened)
    )
    late = bookings.book(
        contact, "callback", paris("2026-12-04 10:00"), NOW, ticket=ticket_for(company, "TCK-1", "majeure", opened)
    )
    assert (early.beyond_commitment, late.beyond_commitment) == (False, True)
    assert early.ticket_id == late.ticket_id
    with pytest.raises(Invalid, match="ticket"):
        bookings.book(contact, "callback", paris("2026-12-04 11:00"), NOW)


def test_contacts_are_capped_by_the_tier(app):
    company = f.company("confort")
    admin = f.user("admin")
    for n in range(3):
        accounts.add_contact(admin, company, f"c{n}@confort.example", f"Contact {n}", "long-password")
    with pytest.raises(Conflict, match="3 contact"):
        accounts.add_contact(admin, company, "c4@confort.example", "Quatrième", "long-password")
    assert len(company.contacts) == 3


def test_concurrent_bookings_on_sqlite_yield_exactly_one(app, serenite):
    company, contact, _ = serenite
    results = []

    def attempt():
        with app.app_context():
            user = db.session.merge(contact)
            try:
                bookings.book(user, "erplib", paris("2026-12-07 10:00"), NOW)
                results.append("ok")
            except Conflict:
                results.append("conflict")
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                results.append(repr(exc))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict"] * 7 + ["ok"]
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "reserve")) == 1
