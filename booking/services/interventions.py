"""Interventions: the minor update's prerequisites checklist, its reminder and its gate."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from calendars.worktime import PARIS

from .. import contract
from ..extensions import db
from ..models import Booking, PrerequisiteCheck, User
from . import audit, availability, bookings, claims, locking, notify
from .errors import Conflict, Invalid
from .prerequisites import all_confirmed, checklist  # noqa: F401  (checklist: the booking page's)


def tick(actor: User, booking: Booking, code: str, done: bool, now: datetime) -> Booking:
    """The client confirms (or withdraws) one prerequisite, until the gate has been checked."""
    codes = [c for c, _ in contract.current().service(booking.kind).prerequisites]
    if code not in codes:
        raise Invalid(
            _l(
                "Prérequis inconnu « %(code)s » : choisissez parmi %(known)s.",
                code=code,
                known=", ".join(codes) or _l("aucun"),
            ),
            code="unknown_prerequisite",
        )
    with locking.locked([locking.company(booking.company_id)]):
        # a move since the page was read does not matter to the checklist: the state alone does
        if bookings.current(booking).status != "confirmed":  # held: not yet; any other state: no longer
            raise bookings.refusal_of_state(
                booking,
                _l("ses prérequis se cochent une fois la réservation confirmée")
                if booking.status == "held"
                else _l("ses prérequis ne se modifient plus"),
            )
        if booking.gate_checked_at is not None:
            raise Conflict(_l("La liste des prérequis est close pour cette intervention."), code="checklist_closed")
        existing = next((c for c in booking.checks if c.code == code), None)
        if done and existing is None:
            booking.checks.append(PrerequisiteCheck(code=code, confirmed_at=now, confirmed_by_id=actor.id))
        elif not done and existing is not None:
            booking.checks.remove(existing)
        audit.record(actor, "booking.prerequisite", booking, code=code, done=done)
    return booking


def _hours(name: str) -> timedelta:
    return timedelta(hours=getattr(contract.current().service("minor_update"), name) or 0)


def _due(now: datetime, column: str, before: timedelta) -> list[int]:
    """Confirmed minor updates not yet claimed for `column` whose start is `before` business time away."""
    candidates = db.session.scalars(
        select(Booking).where(
            Booking.kind == "minor_update",
            Booking.status == "confirmed",
            getattr(Booking, column).is_(None),
            Booking.start_at > now,
            Booking.start_at < now + timedelta(days=14),
        )
    )
    return [b.id for b in candidates if availability.BUSINESS.between(now, b.start_at) <= before]


def send_prerequisite_reminders(now: datetime) -> int:
    """48 business hours before: remind the client of what is still unconfirmed (once)."""
    sent = 0
    for booking_id in _due(now, "prerequisites_reminded_at", _hours("prerequisites_reminder_hours")):
        booking = db.session.get_one(Booking, booking_id)
        if all_confirmed(booking):
            continue
        with locking.locked([]):
            if claims.claim(booking_id, "prerequisites_reminded_at", now):
                notify.prerequisites_reminder(booking_id)
                sent += 1
    return sent


def check_gates(now: datetime) -> int:
    """24 business hours before: unconfirmed prerequisites stop the intervention (once); returns how many."""
    stopped = 0
    for booking_id in _due(now, "gate_checked_at", _hours("prerequisites_gate_hours")):
        with locking.locked([locking.company(db.session.get_one(Booking, booking_id).company_id)]):
            booking = db.session.get_one(Booking, booking_id)
            gate = _hours("prerequisites_gate_hours")
            if booking.status != "confirmed" or not (  # cancelled, or moved away from its gate, since selected
                now < booking.start_at and availability.BUSINESS.between(now, booking.start_at) <= gate
            ):
                continue
            ready = all_confirmed(booking)
            if not claims.claim(
                booking_id,
                "gate_checked_at",
                now,
                **({} if ready else {"status": "prerequisites_missing", "sequence": booking.sequence + 1}),
            ):
                continue
            if not ready:
                audit.record(None, "booking.prerequisites_missing", booking)
                notify.prerequisites_missing(booking_id)
                stopped += 1
    return stopped


def next_slot(booking: Booking, now: datetime):
    """The first slot for the same intervention that leaves the client time to prepare it."""
    lead = _hours("prerequisites_reminder_hours")
    start = availability.BUSINESS.add_minutes(now, int(lead.total_seconds() // 60))
    end = start + timedelta(days=45)
    found = availability.slots(booking.kind, booking.company, start, end, now)
    # not on a day a planned tier without the service covers: booking it there would be refused
    outside = bookings.refused_days(
        booking.company, booking.kind, start.astimezone(PARIS).date(), end.astimezone(PARIS).date()
    )
    return next((slot for slot in found if slot.start.astimezone(PARIS).date() not in outside), None)


def rebook(actor: User, booking: Booking, start: datetime, now: datetime) -> Booking:
    """One click from the client: book the offered slot in place of an intervention that could not go ahead."""
    if booking.status != "prerequisites_missing":
        raise Conflict(
            _l("Seule une intervention reportée faute de prérequis se reprogramme ainsi."), code="state_changed"
        )
    return bookings.book(
        actor,
        booking.kind,
        start,
        now,
        company=booking.company,
        environment=booking.environment,
        notes=f"Remplace l'intervention n°{booking.id}",
    )


NOTED = ("held", "confirmed")  # the states in which an install's notes may still change


def set_notes(actor: User, booking: Booking, field: str, text: str) -> Booking:
    """Major installs: the client's environment analysis, or the planner's list of the version's changes."""
    allowed = {"client": "analysis_notes", "planner": "version_changes", "admin": "version_changes"}
    if booking.kind not in ("major_install", "major_install_test") or allowed.get(actor.role) != field:
        raise Conflict(
            _l("Ces notes ne concernent que les installations de version majeure."), code="not_major_install"
        )
    with locking.locked([locking.company(booking.company_id)]):
        # notes prepare an install: one that will not take place (cancelled, expired, postponed) or is over takes none
        bookings.recheck(booking, None, NOTED, _l("ses notes ne se modifient plus"))
        setattr(booking, field, text.strip()[:20000])
        audit.record(actor, f"booking.{field}", booking)
    return booking


def upcoming(now: datetime, days: int = 30) -> list[Booking]:
    """Interventions of the coming weeks, for the planner."""
    return list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.kind.in_(("minor_update", "major_install", "major_install_test")),
                Booking.status.in_(("confirmed", "prerequisites_missing")),
                Booking.start_at > now,
                Booking.start_at < now + timedelta(days=days),
            )
            .order_by(Booking.start_at)
        )
    )
