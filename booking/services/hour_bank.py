"""The Sérénité hour bank: contract years and balances from the ledger."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ..extensions import db
from ..models import Company, LedgerEntry


def _anniversary(start: date, year: int) -> date:
    try:
        return start.replace(year=year)
    except ValueError:  # a contract signed on 29 February renews on 28 February
        return date(year, 2, 28)


def contract_year(company: Company, today: date) -> date:
    """First day of the contract year containing `today` (the contract's anniversary)."""
    start = company.contract_start
    year = today.year if _anniversary(start, today.year) <= today else today.year - 1
    return max(start, _anniversary(start, year))


def balance(company_id: int, year: date) -> int:
    """Included minutes left in a contract year."""
    return db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.minutes), 0))
        .where(LedgerEntry.company_id == company_id, LedgerEntry.contract_year == year)
    )
