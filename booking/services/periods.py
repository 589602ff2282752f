"""Which tier a company's contract has on a given day: its contract periods (history and planned changes).

Clients book up to the booking horizon ahead, so a booking may fall after a planned tier change: what it
is entitled to (and what the hour bank pays) follows the period covering its day, not today's tier.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from calendars.worktime import PARIS

from ..extensions import db
from ..models import Company, ContractPeriod
from ..models.types import utcnow
from . import snapshot


def today() -> date:
    return utcnow().astimezone(PARIS).date()


def tier_on(company: Company, day: date) -> str:
    """The tier in force on `day`: the last period started by then (before the first, the company's tier).

    Read once per transaction (with the transaction's snapshot): a booking asks it for its entitlement, its
    cost and its ledger line, and the answer cannot change in between (periods are written under the
    company's lock, which the booking holds, and a write to them in this transaction forgets what was read)."""
    return snapshot.tier(company.id, day) or company.tier


def history(company: Company) -> list[ContractPeriod]:
    """Every period of the contract, oldest first (planned ones included)."""
    return list(
        db.session.scalars(
            select(ContractPeriod).where(ContractPeriod.company_id == company.id).order_by(ContractPeriod.starts_on)
        )
    )
