"""Which tier a company's contract has on a given day: its contract periods (history and planned changes).

Clients book up to the booking horizon ahead, so a booking may fall after a planned tier change: what it
is entitled to (and what the hour bank pays) follows the period covering its day, not today's tier.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from calendars.worktime import PARIS

from ..extensions import db
from ..models import Company, ContractPeriod
from ..models.types import utcnow


def today() -> date:
    return utcnow().astimezone(PARIS).date()


_KNOWN = "periods.tier_on"  # session.info: {(company id, day): tier} read in this transaction


def tier_on(company: Company, day: date) -> str:
    """The tier in force on `day`: the last period started by then (before the first, the first's).

    Read once per transaction: a booking asks it for its entitlement, its cost and its ledger line, and
    the answer cannot change in between (periods are written under the company's lock, which the
    booking holds, and a write to them in this transaction forgets what was read)."""
    known = db.session.info.setdefault(_KNOWN, {})
    key = (company.id, day)
    if key not in known:
        known[key] = (
            db.session.scalar(
                select(ContractPeriod.tier)
                .where(ContractPeriod.company_id == company.id, ContractPeriod.starts_on <= day)
                .order_by(ContractPeriod.starts_on.desc())
                .limit(1)
            )
            or company.tier
        )
    return known[key]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session, transaction) -> None:
    if transaction.parent is None:  # the outermost: a flush's own inner transaction ends too
        session.info.pop(_KNOWN, None)


@event.listens_for(Session, "before_flush")
def _forget_when_periods_change(session, _context, _instances) -> None:
    if any(isinstance(o, ContractPeriod) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(_KNOWN, None)


def history(company: Company) -> list[ContractPeriod]:
    """Every period of the contract, oldest first (planned ones included)."""
    return list(
        db.session.scalars(
            select(ContractPeriod).where(ContractPeriod.company_id == company.id).order_by(ContractPeriod.starts_on)
        )
    )
