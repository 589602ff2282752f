"""What the background jobs need: the scheduler's lease and one-off alerts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class SchedulerLease(db.Model):
    """Only the holder of an unexpired lease runs the jobs: one scheduler, however many started."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Alert(db.Model):
    """An alert sent once per subject and period (e.g. low hour-bank balance per contract year)."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("kind", "company_id", "period", name="uq_alert_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    period: Mapped[date]
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
