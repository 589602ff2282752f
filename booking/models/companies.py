"""Client companies and their contract."""
from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

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

    contacts: Mapped[list["User"]] = relationship(back_populates="company")  # noqa: F821
    privileged_consultant: Mapped["Consultant | None"] = relationship()  # noqa: F821

    def __repr__(self) -> str:
        return f"<Company {self.name} ({self.tier})>"
