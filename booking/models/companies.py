"""Client companies and their contract."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

TIERS = ("standard", "confort", "serenite")


class Company(db.Model):
    __tablename__ = "companies"
    __table_args__ = (CheckConstraint(f"tier IN {TIERS}", name="ck_companies_tier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    tier: Mapped[str] = mapped_column(String(20))
    contract_start: Mapped[date]
    environments: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["production"])
    erp_version: Mapped[str] = mapped_column(String(20))
    privileged_consultant_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultants.id", use_alter=True, name="fk_companies_privileged_consultant")
    )
    # A deactivated company keeps its history; its contacts cannot log in.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")

    contacts: Mapped[list[User]] = relationship(back_populates="company")  # noqa: F821
    privileged_consultant: Mapped[Consultant | None] = relationship()  # noqa: F821

    def __repr__(self) -> str:
        return f"<Company {self.name} ({self.tier})>"


class ContractPeriod(db.Model):
    """The tier in force from `starts_on` (Paris day) until the next period's start: a company's contract
    history, and changes planned for a later date. `Company.tier` is the tier of today's period."""

    __tablename__ = "contract_periods"
    __table_args__ = (
        CheckConstraint(f"tier IN {TIERS}", name="ck_contract_periods_tier"),
        UniqueConstraint("company_id", "starts_on", name="uq_contract_periods_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    starts_on: Mapped[date]
    tier: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
