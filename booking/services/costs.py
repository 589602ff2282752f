"""What a booking costs, told before consent: included and billable minutes, the price, the
free-cancellation limit, and what a cancellation will give back or consume.

The preview follows `hour_bank.reserve` rule for rule, so that what the client reads is what the
ledger then records; a booking that has ledger lines is reported from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from calendars.worktime import PARIS

from .. import contract
from ..extensions import db
from ..models import Booking, Company, Consultant, User
from . import availability, bookings, hour_bank, periods

LEDGER_ACCESS = ("hour_bank", "billable")  # the access levels `hour_bank.reserve` writes a line for


@dataclass(frozen=True)
class Cost:
    """Minutes drawn from the hour bank (included) and billed (billable), with their price."""

    basis: str  # hour_bank, billable, included (by the contract, no ledger line), quote
    included_minutes: int
    billable_minutes: int
    price_eur: Decimal | None  # of the billable minutes; None when the contract lists no price
    balance_after: int | None  # the hour bank's balance once this booking counts (Sérénité only)
    free_cancel_until: datetime | None = None
    # the ledger's record of a booking that counts: `balance_after` is then the balance now (not a fact of the cost:
    # a preview and the record it became are equal)
    counted: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Cancellation:
    """What cancelling a booking now would do (or did)."""

    late: bool  # after the cut-off: the session is consumed
    included_minutes: int  # given back to the hour bank (or consumed, when late)
    billable_minutes: int  # no longer billed (or billed, when late)
    price_eur: Decimal | None


def tier_of(company: Company, start: datetime) -> str:
    """The tier that prices a session starting at `start`: the one in force on its day, as `hour_bank.reserve`
    reads it (a session after a planned change of tier is paid as the new tier says)."""
    return periods.tier_on(company, start.astimezone(PARIS).date())


price = hour_bank.price  # the tier's price of billable ERP-Lib minutes at today's rate (what a preview shows)


def _basis(access: str) -> str:
    return access if access in LEDGER_ACCESS or access == "quote" else "included"


def free_cancel_until(start: datetime) -> datetime:
    """The last instant at which cancelling is still free (`bookings.cutoff_passed` is false until then)."""
    return _business_minutes_before(start, contract.current().policy.cancel_cutoff_hours * 60)


@lru_cache(maxsize=4096)
def _business_minutes_before(start: datetime, minutes: int) -> datetime:
    # Every booking's answer states its limit, and starts repeat (one grid, many consultants): walking a day
    # and more of business time back costs a booking more than the statement that writes it.
    return availability.BUSINESS.minutes_before(start, minutes)


def preview(company: Company, kind: str, start: datetime, end: datetime, returned: int = 0) -> Cost:
    """What confirming `kind` from `start` to `end` would record now, as `hour_bank.reserve` does; `returned`:
    included minutes given back to that contract year first (a booking moved there counts again)."""
    tier = tier_of(company, start)
    access = contract.current().tier(tier).access(kind)
    if access not in LEDGER_ACCESS:
        return Cost(_basis(access), 0, 0, None, None, free_cancel_until(start))
    minutes = int((end - start).total_seconds() // 60)
    included, after = 0, None
    if access == "hour_bank":
        year = hour_bank.contract_year(company, start.astimezone(PARIS).date())
        left = hour_bank.balance(company, year, tier) + returned
        included = max(0, min(minutes, left))
        after = left - included
    billable = minutes - included
    return Cost(access, included, billable, price(tier, billable), after, free_cancel_until(start))


held = hour_bank.held  # the included and billable minutes a booking's ledger lines still hold


def for_booking(booking: Booking) -> Cost:
    """A held booking's preview; otherwise what its ledger lines record."""
    company = booking.company
    if booking.status == "held":
        return preview(company, booking.kind, booking.start_at, booking.end_at)
    tier = tier_of(company, booking.start_at)
    access = contract.current().tier(tier).access(booking.kind)
    included, billable, amount = hour_bank.counted(booking)
    if included and access != "hour_bank":
        # counted by the hour bank, under the tier of its booking; a change planned since puts its day under a tier
        # without one: it keeps what it was counted (as it was told), which its lines say
        access = "hour_bank"
    after = None
    if access == "hour_bank":
        after = hour_bank.balance(company, hour_bank.contract_year(company, booking.start_at.astimezone(PARIS).date()))
    return Cost(
        _basis(access),
        included,
        billable,
        consented(tier, billable, amount) if access in LEDGER_ACCESS else None,
        after,
        free_cancel_until(booking.start_at),
        counted=True,
    )


def consented(tier: str, billable: int, amount: Decimal | None) -> Decimal | None:
    """The price of a counted booking's billable minutes: what its ledger lines recorded at the rate the client
    consented to (a contract's new rates apply to bookings made after them), else, for lines written before
    amounts were recorded, at today's rate."""
    if billable == 0 or amount is None:  # nothing billed (0.00, None where the tier lists no rate), or old lines
        return price(tier, billable)
    return amount


@dataclass(frozen=True)
class Move:
    """What moving a booking to a slot would keep and change, for the client to consent to before it is made."""

    slot: availability.Slot
    consultant: Consultant  # who would take it now (the move re-checks under its locks)
    cost: Cost  # after the move: as the booking stands, or counted again under the new day's terms
    other_year: bool  # the slot falls in another contract year: its minutes are counted there instead
    other_tier: str | None = None  # the label of the tier in force on the new day, when it differs


def for_move(actor: User, booking: Booking, start_at: datetime, now: datetime) -> Move:
    """Where `bookings.reschedule` would put `booking` if asked now, and what that changes; refused as it would be.
    A move into another contract year or under another tier is counted again there (`bookings.repriced`): the
    cost shown is that count, with the minutes the booking gives back to its own year when it stays in it."""
    slot = bookings.move_preview(actor, booking, start_at, now)
    terms, counted = recount(booking, slot.start, slot.end)
    cost = counted or replace(for_booking(booking), free_cancel_until=free_cancel_until(slot.start))
    new_tier = tier_of(booking.company, slot.start)
    other = terms is not None and (terms == "other_tier" or new_tier != tier_of(booking.company, booking.start_at))
    tier = contract.current().tier(new_tier).label if other else None
    return Move(slot, db.session.get_one(Consultant, slot.consultant_id), cost, terms == "other_contract_year", tier)


def recount(booking: Booking, start: datetime, end: datetime) -> tuple[str | None, Cost | None]:
    """Whether a move to `start`–`end` counts the booking again (`bookings.repriced`'s code) and, if so, what it
    records there, as `bookings.reschedule` will: the preview of that day, with the included minutes the booking
    gives back to its own contract year when it stays in it. (None, None): it keeps what it holds."""
    terms = bookings.repriced(booking, start)
    if terms is None:
        return None, None
    returned = held(booking)[0] if terms == "other_tier" else 0
    return terms, preview(booking.company, booking.kind, start, end, returned)


def cancellation(actor: User, booking: Booking, now: datetime) -> Cancellation:
    """What cancelling `booking` now would do: give its minutes back, or consume them."""
    included, billable, amount = hour_bank.counted(booking)
    return Cancellation(
        bookings.late_cancellation(actor, booking, now),
        included,
        billable,
        consented(tier_of(booking.company, booking.start_at), billable, amount) if billable else None,
    )
