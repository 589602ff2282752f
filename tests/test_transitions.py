"""Every state change of a booking re-reads its state under the booking's lock: a transition that is no
longer allowed is refused (409, naming the current state), and an effective one writes one audit row,
one mail batch and one SEQUENCE bump. On SQLite and PostgreSQL, with threads each in its own session
(tests/test_transitions_pg.py sends them through gunicorn)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from flask_babel import force_locale
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import AuditEntry, Booking, LedgerEntry, OutboxMessage
from booking.services import bookings, interventions
from booking.services.errors import Conflict
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
LATER = NOW + timedelta(days=30)  # every booking of these tests has started by then
YEAR = date(2026, 1, 1)


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


@pytest.fixture
def client(any_app):
    """A client of the app on both databases; conftest's `auth` logs in through it."""
    return any_app.test_client()


@pytest.fixture
def serenite(any_app):
    company = f.company("serenite", contract_start=YEAR)
    contact = f.user("client", company)
    consultant = f.consultant(skills=("installation",))
    db.session.commit()
    return company, contact, consultant


def audits(booking_id: int, action: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.object_id == booking_id, AuditEntry.object_type == "booking", AuditEntry.action == action)
    )


def mails(booking_id: int, subject: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.booking_id == booking_id, OutboxMessage.subject.startswith(subject))
    )


def net(booking_id: int) -> tuple[int, int]:
    """(included, billable) minutes the booking still holds."""
    return tuple(
        db.session.execute(
            select(
                func.coalesce(-func.sum(LedgerEntry.minutes), 0),
                func.coalesce(func.sum(LedgerEntry.billable_minutes), 0),
            ).where(LedgerEntry.booking_id == booking_id)
        ).one()
    )


def elsewhere(app, change) -> None:
    """Run `change` in another session (another request, as it were) and commit it there."""
    with app.app_context():
        change()


def in_parallel(app, calls) -> list[str]:
    """Run each call in its own thread and session, released together; "ok", "409: <sentence>" or the error."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index, call):
        with app.app_context():
            barrier.wait()
            try:
                call()
                results[index] = "ok"
            except Conflict as refused:
                results[index] = f"409: {refused.message}"
            except Exception as error:  # noqa: BLE001 - reported by the caller's assertion
                results[index] = repr(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_twenty_parallel_cancels_cancel_once(any_app, serenite):
    company, contact, _ = serenite
    booking_id = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW).id
    contact_id = contact.id

    def cancel():
        from booking.models import User

        bookings.cancel(db.session.get(User, contact_id), db.session.get(Booking, booking_id), NOW)

    results = in_parallel(any_app, [cancel] * 20)
    assert sorted(results) == ["409: Ce rendez-vous est déjà annulé."] * 19 + ["ok"]
    f.reread()
    booking = db.session.get(Booking, booking_id)
    assert booking.status == "cancelled" and booking.sequence == 1
    assert audits(booking_id, "booking.cancel") == 1
    assert mails(booking_id, "Rendez-vous annulé") == 2  # the contact and the consultant, once
    assert net(booking_id) == (0, 0)


def test_a_cancel_and_a_reschedule_at_the_same_moment_one_wins(any_app, serenite):
    company, contact, _ = serenite
    booking_id = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW).id
    contact_id = contact.id

    def user():
        from booking.models import User

        return db.session.get(User, contact_id)

    results = in_parallel(
        any_app,
        [
            lambda: bookings.cancel(user(), db.session.get(Booking, booking_id), NOW),
            lambda: bookings.reschedule(user(), db.session.get(Booking, booking_id), paris("2026-12-09 14:00"), NOW),
        ],
    )
    f.reread()
    booking = db.session.get(Booking, booking_id)
    assert sorted(r[:3] for r in results) == ["409", "ok"], results
    if results[0] == "ok":  # cancelled first: the move is refused, naming the state
        assert results[1] == "409: Ce rendez-vous est déjà annulé : le déplacement n'est plus possible."
        assert booking.status == "cancelled" and booking.start_at == paris("2026-12-08 10:00")
        assert audits(booking_id, "booking.reschedule") == mails(booking_id, "Rendez-vous déplacé") == 0
    else:  # moved first: the cancel, sent for the old date, is refused until the client has seen the new one
        assert results[0].startswith("409: Ce rendez-vous vient d'être déplacé au 09/12/2026 à 14:00")
        assert booking.status == "confirmed" and booking.start_at == paris("2026-12-09 14:00")
        assert audits(booking_id, "booking.cancel") == mails(booking_id, "Rendez-vous annulé") == 0
    assert booking.sequence == 1
    assert net(booking_id) == ((0, 0) if booking.status == "cancelled" else (45, 0))


def test_a_stale_booking_is_read_again_under_the_lock(any_app, serenite):
    """The page loaded the booking as confirmed; another request cancelled it meanwhile."""
    company, contact, consultant = serenite
    booking = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)
    booking_id, contact_id = booking.id, contact.id

    def cancel_there():
        from booking.models import User

        bookings.cancel(db.session.get(User, contact_id), db.session.get(Booking, booking_id), NOW)

    elsewhere(any_app, cancel_there)
    assert booking.status == "confirmed"  # what this session still believes
    with pytest.raises(Conflict, match="^Ce rendez-vous est déjà annulé : le déplacement n'est plus possible.$"):
        bookings.reschedule(contact, booking, paris("2026-12-09 14:00"), NOW)
    with pytest.raises(Conflict, match="^Ce rendez-vous est déjà annulé.$"):
        bookings.cancel(contact, booking, NOW)
    with pytest.raises(
        Conflict, match="^Ce rendez-vous est déjà annulé : aucune issue ne peut plus être enregistrée.$"
    ):
        bookings.record_outcome(consultant.user, booking, "completed", LATER)
    f.reread()
    booking = db.session.get(Booking, booking_id)
    assert booking.status == "cancelled" and booking.sequence == 1 and net(booking_id) == (0, 0)
    assert audits(booking_id, "booking.cancel") == 1 and audits(booking_id, "booking.reschedule") == 0
    assert mails(booking_id, "Rendez-vous déplacé") == 0


def test_a_stale_hold_cancelled_elsewhere_is_not_confirmed(any_app, serenite):
    company, contact, _ = serenite
    held = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW, hold=True)
    held_id, contact_id = held.id, contact.id

    def cancel_there():
        from booking.models import User

        bookings.cancel(db.session.get(User, contact_id), db.session.get(Booking, held_id), NOW)

    elsewhere(any_app, cancel_there)
    with pytest.raises(Conflict, match="^Ce rendez-vous est déjà annulé : la confirmation n'est plus possible.$"):
        bookings.confirm(contact, held, NOW)
    f.reread()
    assert db.session.get(Booking, held_id).status == "cancelled" and net(held_id) == (0, 0)


def test_a_completed_session_can_be_neither_cancelled_nor_marked_twice(any_app, serenite):
    company, contact, consultant = serenite
    booking = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)
    bookings.record_outcome(consultant.user, booking, "completed", LATER)
    with pytest.raises(Conflict, match="^Ce rendez-vous est déjà réalisé : l'annulation n'est plus possible.$"):
        bookings.cancel(contact, booking, LATER)
    with pytest.raises(
        Conflict, match="^Ce rendez-vous est déjà réalisé : aucune issue ne peut plus être enregistrée.$"
    ):
        bookings.record_outcome(consultant.user, booking, "no_show", LATER)
    assert audits(booking.id, "booking.completed") == 1 and audits(booking.id, "booking.no_show") == 0


def test_a_client_cancels_until_the_start_and_not_after_a_planner_still_can(any_app, serenite):
    """From its first minute a session is the consultant's to record (held or missed): a client's cancellation
    is refused with its reason and changes nothing (no ledger line, no mail for an event under way)."""
    company, contact, consultant = serenite
    planner = f.user("planner")
    start = paris("2026-12-08 10:00")
    first = bookings.book(contact, "erplib", start, NOW)
    second = bookings.book(contact, "erplib", paris("2026-12-08 11:00"), NOW)
    db.session.commit()
    held = net(first.id)
    for instant in (start, start + timedelta(minutes=20), LATER):
        with pytest.raises(Conflict, match="^Ce rendez-vous a déjà commencé : il ne peut plus être annulé. ") as no:
            bookings.cancel(contact, first, instant)
        assert no.value.code == "already_started"
    f.reread()
    assert first.status == "confirmed" and net(first.id) == held and audits(first.id, "booking.cancel") == 0
    assert mails(first.id, "Rendez-vous annulé") == 0
    bookings.record_outcome(consultant.user, first, "no_show", start + timedelta(minutes=20))
    # a minute before its start, a late cancellation (consumed), as before
    assert bookings.cancel(contact, second, paris("2026-12-08 10:59")).status == "late_cancelled"
    third = bookings.book(contact, "erplib", paris("2026-12-09 10:00"), NOW)
    assert bookings.cancel(planner, third, LATER).status == "cancelled"  # planners correct what happened


def test_a_state_refusal_agrees_with_the_state_it_names_in_each_language(any_app, serenite):
    """« Cette réservation provisoire a expiré : il ne peut plus être annulé. » did not agree (the change is said
    impersonally now); a held intervention's prerequisites are not ticked yet, rather than "no longer changed"."""
    company, contact, _ = serenite
    lapsed = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW, hold=True)
    with pytest.raises(Conflict):
        bookings.confirm(contact, lapsed, NOW + timedelta(hours=1))  # found expired: the slot is freed
    with pytest.raises(Conflict) as cancelled:
        bookings.cancel(contact, lapsed, NOW + timedelta(hours=1))
    held = bookings.book(contact, "minor_update", paris("2026-12-10 14:00"), NOW, hold=True)
    with pytest.raises(Conflict) as ticked:
        interventions.tick(contact, held, interventions.checklist(held)[0][0], True, NOW)
    assert cancelled.value.code == ticked.value.code == "state_changed"
    assert cancelled.value.message == "Cette réservation provisoire a expiré : l'annulation n'est plus possible."
    assert ticked.value.message == (
        "Ce rendez-vous attend encore la confirmation du client : ses prérequis se cochent une fois la réservation "
        "confirmée."
    )
    with any_app.test_request_context(), force_locale("en"):
        assert cancelled.value.message == "This held booking has expired: it can no longer be cancelled."
        assert ticked.value.message == (
            "This booking still awaits the client's confirmation: its prerequisites can be ticked once it is confirmed."
        )
    f.reread()
    assert audits(held.id, "booking.prerequisite") == 0 and audits(lapsed.id, "booking.cancel") == 0


def test_a_prerequisite_of_a_cancelled_intervention_is_refused(any_app):
    company = f.company("confort", contract_start=YEAR)
    contact = f.user("client", company)
    f.consultant(skills=("installation",))
    db.session.commit()
    booking = bookings.book(contact, "minor_update", paris("2026-12-10 14:00"), NOW)
    booking_id, contact_id = booking.id, contact.id
    code = interventions.checklist(booking)[0][0]

    def cancel_there():
        from booking.models import User

        bookings.cancel(db.session.get(User, contact_id), db.session.get(Booking, booking_id), NOW)

    elsewhere(any_app, cancel_there)
    with pytest.raises(Conflict, match="^Ce rendez-vous est déjà annulé : ses prérequis ne se modifient plus.$"):
        interventions.tick(contact, booking, code, True, NOW)
    f.reread()
    assert audits(booking_id, "booking.prerequisite") == 0


@pytest.fixture
def priority_booking(any_app):
    """A 2-day priority consulting placed by an applied plan that moved another client's booking (compensated)."""
    from booking.models import Compensation, ReshufflePlan

    company = f.company("serenite", contract_start=YEAR)
    contact, planner = f.user("client", company), f.user("planner")
    expert = f.consultant(skills=("migration",))
    other = f.booking(expert, paris("2026-12-17 09:00"))
    booking = f.booking(
        expert, paris("2026-12-08 09:00"), minutes=33 * 60, kind="priority_consulting", company=company, contact=contact
    )
    plan = ReshufflePlan(kind="priority", status="applied", plan={"moves": [{"id": f"b{other.id}"}]})
    db.session.add(plan)
    db.session.flush()
    db.session.add(
        Compensation(
            plan_id=plan.id,
            payer_company_id=company.id,
            beneficiary_company_id=other.company_id,
            booking_id=other.id,
            amount_eur=180,
        )
    )
    from booking.services import audit

    audit.record(planner, "booking.priority", booking, plan=plan.id)
    db.session.commit()
    return booking, contact, planner, other


def test_a_client_may_neither_move_nor_cancel_a_priority_consulting(priority_booking):
    from booking.services.errors import NotEntitled

    booking, contact, _, _ = priority_booking
    with pytest.raises(NotEntitled, match="Appelez votre planificateur"):
        bookings.cancel(contact, booking, NOW)
    with pytest.raises(NotEntitled, match="Appelez votre planificateur"):
        bookings.reschedule(contact, booking, paris("2026-12-09 09:00"), NOW)
    f.reread()
    assert db.session.get(Booking, booking.id).status == "confirmed"


def test_a_planner_sees_what_cancelling_a_priority_consulting_implies_then_cancels(priority_booking):
    booking, _, planner, other = priority_booking
    with pytest.raises(
        Conflict,
        match=r"les rendez-vous déplacés pour lui \(1\) ne reviennent pas à "
        r"leur place, et les compensations déjà facturées \(180,00\s€\) restent dues",
    ):
        bookings.cancel(planner, booking, NOW)
    assert audits(booking.id, "booking.cancel") == 0
    bookings.cancel(planner, booking, NOW, acknowledged=True)
    f.reread()
    assert db.session.get(Booking, booking.id).status == "cancelled"
    assert db.session.get(Booking, other.id).start_at == paris("2026-12-17 09:00")  # not moved back


def test_a_planner_moves_a_priority_consulting_keeping_its_length(priority_booking):
    """Was a 500: the catalogue gives priority consulting no duration."""
    booking, _, planner, _ = priority_booking
    with pytest.raises(Conflict, match="ne défait pas le plan"):
        bookings.reschedule(planner, booking, paris("2026-12-14 09:00"), NOW)
    moved = bookings.reschedule(planner, booking, paris("2026-12-14 09:00"), NOW, acknowledged=True)
    assert (moved.start_at, moved.end_at, moved.sequence) == (paris("2026-12-14 09:00"), paris("2026-12-15 18:00"), 1)
    with pytest.raises(Conflict, match="pas libre pour ce consultant"):
        bookings.reschedule(planner, moved, paris("2026-12-16 14:00"), NOW, acknowledged=True)  # crosses the 17th


def test_the_client_is_refused_through_the_api(priority_booking, client):
    from booking.services import tokens

    booking, contact, _, _ = priority_booking
    token = tokens.create(contact)
    db.session.commit()
    answer = client.post(f"/api/v1/bookings/{booking.id}/cancel", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403 and answer.mimetype == "application/problem+json"
    assert "Appelez votre planificateur" in answer.json["detail"]
    answer = client.patch(
        f"/api/v1/bookings/{booking.id}",
        headers={"Authorization": f"Bearer {token}"},
        json={"start": paris("2026-12-09 09:00").isoformat()},
    )
    assert answer.status_code == 403


def test_a_planner_confirms_a_priority_change_through_the_api(priority_booking, client):
    from booking.services import tokens

    booking, _, planner, _ = priority_booking
    token = tokens.create(planner)
    db.session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    first = client.patch(
        f"/api/v1/bookings/{booking.id}", headers=auth, json={"start": paris("2026-12-14 09:00").isoformat()}
    )
    assert first.status_code == 409 and "acknowledged=true" in first.json["detail"]
    with time_machine.travel(NOW, tick=False):
        moved = client.patch(
            f"/api/v1/bookings/{booking.id}",
            headers=auth,
            json={"start": paris("2026-12-14 09:00").isoformat(), "acknowledged": True},
        )
        assert moved.status_code == 200, moved.json
        assert client.post(f"/api/v1/bookings/{booking.id}/cancel", headers=auth).status_code == 409
        cancelled = client.post(f"/api/v1/bookings/{booking.id}/cancel?acknowledged=true", headers=auth)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"


def test_the_client_pages_neither_offer_nor_open_a_priority_change(priority_booking, client, auth):
    """Was a 500: the move page built a week of slots for a service without a duration."""
    booking, contact, _, _ = priority_booking
    with time_machine.travel(NOW, tick=False):
        auth.login(contact.email)  # at the test's time: a session cookie signed later would not be valid yet
        detail = client.get(f"/portail/rendez-vous/{booking.id}").get_data(as_text=True)
        assert "Appelez votre planificateur" in detail
        assert (
            f"/rendez-vous/{booking.id}/deplacer" not in detail and f"/rendez-vous/{booking.id}/annuler" not in detail
        )
        assert f"/rendez-vous/{booking.id}/deplacer" not in client.get("/portail/rendez-vous").get_data(as_text=True)
        for path in ("deplacer", "annuler"):
            page = client.get(f"/portail/rendez-vous/{booking.id}/{path}")
            assert page.status_code == 403 and "Appelez votre planificateur" in page.get_data(as_text=True)
        moved = client.post(f"/portail/rendez-vous/{booking.id}/deplacer", data={"start": "2026-12-14T09:00:00+01:00"})
        assert moved.status_code == 403
    f.reread()
    assert db.session.get(Booking, booking.id).status == "confirmed"


def test_a_key_reused_with_the_acknowledgement_is_another_request(priority_booking, client):
    from booking.services import tokens

    booking, _, planner, _ = priority_booking
    auth = {"Authorization": f"Bearer {tokens.create(planner)}", "Idempotency-Key": "cancel-1"}
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        assert client.post(f"/api/v1/bookings/{booking.id}/cancel", headers=auth).status_code == 409
        again = client.post(f"/api/v1/bookings/{booking.id}/cancel?acknowledged=true", headers=auth)
    assert again.status_code == 422 and "autre requête" in again.json["detail"]  # not the stored 409, replayed
