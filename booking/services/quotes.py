"""The priority-consulting quote as the requester judges it: proposed dates and consultant, the consulting
itself (included or priced from the contract), one line per moved booking, the total and its validity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from solver.instance import read_plan

from .. import contract
from ..models import Booking, PriorityRequest, ReshufflePlan
from . import plan_view
from .plan_view import Placement

VALID_FOR = timedelta(hours=24)  # beyond a day, the schedule the plan was made on has likely moved
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Compensation:
    """One booking the plan moves, with what the requester pays for it (0 when nothing)."""

    booking: Booking
    company: str
    moved_from: datetime
    moved_to: datetime
    amount: Decimal
    own: bool = False  # the requester's own booking
    from_consultant: str = ""
    to_consultant: str = ""

    @property
    def reassigned(self) -> bool:
        return self.from_consultant != self.to_consultant


@dataclass(frozen=True)
class Quote:
    plan_id: int
    placements: list[Placement]
    included: bool  # the tier includes priority consulting (Sérénité)
    rate: Decimal | None  # per day or per hour, from the contract's price list
    consulting: Decimal  # amount × rate, 0 when included
    moves: list[Compensation]  # every booking the plan moves: the requester sees all before consenting
    valid_until: datetime | None

    @property
    def compensations(self) -> list[Compensation]:
        """The moves the requester pays for."""
        return [m for m in self.moves if m.amount]

    @property
    def compensation_total(self) -> Decimal:
        return sum((c.amount for c in self.compensations), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.consulting + self.compensation_total

    def expired(self, now: datetime) -> bool:
        return self.valid_until is not None and now >= self.valid_until


def consulting_price(request: PriorityRequest) -> tuple[bool, Decimal | None, Decimal]:
    """(included, rate, price) of the consulting itself under the requester's tier."""
    tier = contract.current().tier(request.company.tier)
    if tier.access("priority_consulting") == "yes":
        return True, None, Decimal("0.00")
    rate = tier.price("priority_consulting_day" if request.unit == "days" else "priority_consulting_hour")
    if rate is None:  # the contract data must price what it sells on quote; say so rather than quote 0 €
        raise LookupError(f"no priority consulting rate for tier {tier.label}")
    return False, rate, (rate * request.amount).quantize(CENT)


def valid_until(plan: ReshufflePlan) -> datetime:
    """A quote holds for a day after its plan was started, and never past the plan going stale."""
    return plan.created_at + VALID_FOR


def build(request: PriorityRequest, plan: ReshufflePlan | None) -> Quote | None:
    """The quote of the request's ready (or applied) plan; None while there is none to judge."""
    if plan is None or not plan.plan or plan.status not in ("ready", "applied"):
        return None
    result, names = read_plan(plan.plan), plan_view.consultant_names()
    # every move, paid for or not: the requester's own bookings may move too, and they should know first
    lines = [
        Compensation(
            m.booking,
            m.booking.company.name,
            m.moved_from,
            m.moved_to,
            Decimal(str(m.compensation_eur)).quantize(CENT),
            m.booking.company_id == request.company_id,
            m.from_consultant,
            m.to_consultant,
        )
        for m in plan_view.moves(result, names)
    ]
    included, rate, consulting = consulting_price(request)
    return Quote(
        plan.id,
        plan_view.placements(result, names),
        included,
        rate,
        consulting,
        lines,
        request.quote_valid_until or valid_until(plan),
    )
