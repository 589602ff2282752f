"""The Sérénité hour bank and billable minutes, as an append-only ledger."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

ENTRY_KINDS = ("grant", "reserve", "refund", "consume", "adjust", "expire")


class LedgerEntry(db.Model):
    """Signed movements: included minutes (grant +600, reserve -45, refund +45) and billable minutes
    (reserve +30, refund -30); the sums per company and contract year are the balances."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(f"kind IN {ENTRY_KINDS}", name="ck_ledger_kind"),
        Index("ix_ledger_company_year", "company_id", "contract_year"),
        # One grant per company and contract year, even if two processes roll over at once.
        Index(
            "ux_ledger_one_grant",
            "company_id",
            "contract_year",
            unique=True,
            sqlite_where=text("kind = 'grant'"),
            postgresql_where=text("kind = 'grant'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    contract_year: Mapped[date]  # first day of the contract year the entry counts against
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    minutes: Mapped[int]
    billable_minutes: Mapped[int] = mapped_column(default=0)
    # the price of `billable_minutes` at the rate the client consented to (reserve +, refund -): a booking's price
    # is its lines' sum, as its minutes are, whatever the contract's rates became since (None: written before 0027)
    amount_eur: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    company: Mapped[Company] = relationship()  # noqa: F821
    booking: Mapped[Booking | None] = relationship()  # noqa: F821
