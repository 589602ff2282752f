"""A Sérénité company books, cancels, moves, completes and misses sessions in any order: the hour bank,
the audit log, the mails and the SEQUENCE follow the effective transitions only, and a refused one
changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import AuditEntry, Booking, LedgerEntry, OutboxMessage
from booking.services import bookings, hour_bank
from booking.services.errors import Conflict
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
LATER = NOW + timedelta(days=40)  # every slot below has started by then
YEAR = date(2026, 1, 1)
# Starts three business days or more ahead (past the cut-off), on the grid, in the working hours
STARTS = [
    datetime(2026, 12, d, h, m, tzinfo=PARIS)
    for d in (8, 9, 10, 11, 14, 15, 16)
    for h, m in ((9, 0), (10, 0), (14, 0), (15, 30))
]
MAILS = {"confirmed": 1, "cancelled": 1, "rescheduled": 1}  # transitions that send one batch
ALLOWED = {
    "cancel": ("confirmed",),
    "reschedule": ("confirmed",),
    "completed": ("confirmed",),
    "no_show": ("confirmed",),
}


class Lifecycle(RuleBasedStateMachine):
    booked = Bundle("booked")

    def __init__(self):
        super().__init__()
        self.company = f.company("serenite", contract_start=YEAR)
        self.contact = f.user("client", self.company)
        self.consultant = f.consultant(skills=("installation",))
        db.session.commit()
        self.status: dict[int, str] = {}
        self.audits: dict[int, int] = {}
        self.mails: dict[int, int] = {}
        self.sequence: dict[int, int] = {}

    def _state(self, booking_id: int) -> tuple:
        """Everything a refused transition must leave alone."""
        row = db.session.execute(
            select(Booking.status, Booking.start_at, Booking.sequence).where(Booking.id == booking_id)
        ).one()
        counts = [
            db.session.scalar(select(func.count()).select_from(model).where(column == booking_id))
            for model, column in (
                (AuditEntry, AuditEntry.object_id),
                (OutboxMessage, OutboxMessage.booking_id),
                (LedgerEntry, LedgerEntry.booking_id),
            )
        ]
        return (*row, *counts)

    def _effective(self, booking_id: int, status: str, mails: int, bump: bool) -> None:
        self.status[booking_id] = status
        self.audits[booking_id] += 1
        self.mails[booking_id] += mails
        self.sequence[booking_id] += bump

    @rule(target=booked, start=st.sampled_from(STARTS))
    def book(self, start):
        try:
            booking = bookings.book(self.contact, "erplib", start, NOW, consultant_id=self.consultant.id)
        except Conflict:
            return None  # the consultant is taken then: nothing was written for it
        self.status[booking.id], self.audits[booking.id] = "confirmed", 1
        self.mails[booking.id], self.sequence[booking.id] = 2, 0  # to the contact and to the consultant
        return booking.id

    def _attempt(self, booking_id, name: str, change) -> bool:
        if booking_id is None:
            return False
        allowed = self.status[booking_id] in ALLOWED[name]
        before = self._state(booking_id)
        try:
            change(db.session.get(Booking, booking_id))
        except Conflict as refused:
            assert not allowed or "créneau" in refused.message, refused.message  # only a taken slot may refuse
            if not allowed:
                assert str(refused.message).startswith(str(bookings.STATES[self.status[booking_id]]))
            f.reread()
            assert self._state(booking_id) == before
            return False
        assert allowed, f"{name} of a {self.status[booking_id]} booking went through"
        return True

    @rule(booking_id=booked)
    def cancel(self, booking_id):
        if self._attempt(booking_id, "cancel", lambda b: bookings.cancel(self.contact, b, NOW)):
            self._effective(booking_id, "cancelled", 2, True)

    @rule(booking_id=booked, start=st.sampled_from(STARTS))
    def reschedule(self, booking_id, start):
        had = booking_id and db.session.get(Booking, booking_id).consultant_id
        if self._attempt(booking_id, "reschedule", lambda b: bookings.reschedule(self.contact, b, start, NOW)):
            # the examples share a database: another example's consultant may take the booking, and the one
            # who had it then gets a CANCEL of their own
            moved_away = db.session.get(Booking, booking_id).consultant_id != had
            self._effective(booking_id, "confirmed", 3 if moved_away else 2, True)

    @rule(booking_id=booked, outcome=st.sampled_from(["completed", "no_show"]))
    def outcome(self, booking_id, outcome):
        if self._attempt(
            booking_id, outcome, lambda b: bookings.record_outcome(self.consultant.user, b, outcome, LATER)
        ):
            self._effective(booking_id, outcome, 0, False)

    @invariant()
    def the_ledger_and_the_log_follow_the_effective_transitions(self):
        f.reread()
        lines = db.session.execute(
            select(LedgerEntry.booking_id, LedgerEntry.kind, LedgerEntry.minutes, LedgerEntry.billable_minutes).where(
                LedgerEntry.company_id == self.company.id
            )
        ).all()
        used = -sum(minutes for _, kind, minutes, _ in lines if kind != "grant")
        assert used == 600 - hour_bank.balance(self.company, YEAR)
        for booking_id, status in self.status.items():
            held = sum(m for b, k, m, _ in lines if b == booking_id), sum(x for b, _, _, x in lines if b == booking_id)
            if status == "cancelled":
                assert held == (0, 0)  # never billed, nothing kept from the bank
            else:
                assert -held[0] + held[1] == 45
            booking = db.session.get(Booking, booking_id)
            assert booking.status == status and booking.sequence == self.sequence[booking_id]
            assert (
                db.session.scalar(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.object_type == "booking", AuditEntry.object_id == booking_id)
                )
                == self.audits[booking_id]
            )
            assert (
                db.session.scalar(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.booking_id == booking_id)
                )
                == self.mails[booking_id]
            )


def test_any_sequence_of_transitions_keeps_the_books(app):
    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
