"""Reshuffle plans (priority consulting and absence repair) and the compensations they price."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

# queued: written by the web request; running: claimed by a scheduler's worker (docs/decisions.md, "Plans computed
# by the scheduler")
PLAN_STATUSES = ("queued", "running", "ready", "failed", "applied", "stale")


class ReshufflePlan(db.Model):
    __tablename__ = "reshuffle_plans"
    __table_args__ = (
        CheckConstraint(f"status IN {PLAN_STATUSES}", name="ck_reshuffle_status"),
        CheckConstraint("kind IN ('priority', 'repair')", name="ck_reshuffle_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("priority_requests.id"), index=True)
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("consultants.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    instance: Mapped[dict] = mapped_column(JSON, default=dict)
    plan: Mapped[dict] = mapped_column(JSON, default=dict)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)  # what the plan assumed, checked before applying
    progress: Mapped[dict] = mapped_column(JSON, default=dict)  # elapsed, value, bound while running
    error: Mapped[str] = mapped_column(Text, default="")
    # computations started, each claim adds one: the fencing token of the worker computing it, capped when they die
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the current computation's claim
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its worker's last sign of life
    worker: Mapped[str] = mapped_column(
        String(120), default="", server_default=""
    )  # host:pid of the process computing it
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[PriorityRequest | None] = relationship()  # noqa: F821


class Compensation(db.Model):
    """What the requester of a priority consulting pays for one moved booking of another client."""

    __tablename__ = "compensations"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("reshuffle_plans.id"), index=True)
    payer_company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    beneficiary_company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    amount_eur: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
