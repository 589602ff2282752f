"""Webhook subscriptions and their deliveries (a transactional outbox, like mail)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class WebhookSubscription(db.Model):
    """An admin's callback URL for some event types, with the secret its deliveries are signed with.

    The secret is stored as it is: an HMAC needs the key itself (see docs/decisions.md, "Webhooks").
    After a rotation the previous secret still signs (a second `v1=`) until `previous_until`."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    events: Mapped[list] = mapped_column(JSON, default=list)  # event types, e.g. ["booking.created"]
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class WebhookDelivery(db.Model):
    """One event for one subscription: its body is fixed when the change commits and sent as it is at
    every attempt (same `id`), until the receiver answers 2xx or the attempts run out (failed)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "delivered_at", "failed_at", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery_event"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))  # evt_…, the body's `id`: one event, one id for all
    event_type: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)  # the exact JSON sent (signed as bytes, never re-serialised)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_code: Mapped[int | None]
    error: Mapped[str] = mapped_column(String(300), default="", server_default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
