"""Mail waiting to be sent (or kept, when no SMTP server is configured), and API idempotency."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class OutboxMessage(db.Model):
    """Queued in the transaction of the change it reports; sent by `mail.deliver`, or failed (given up)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "id"), Index("ix_outbox_failed", "failed_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    event: Mapped[dict | None] = mapped_column(JSON)  # the invitation's event as it was (EventData.to_json)
    raw: Mapped[str | None] = mapped_column(Text)  # the whole MIME message, once composed
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str] = mapped_column(String(300), default="")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotentRequest(db.Model):
    """The first answer to a POST carrying an Idempotency-Key, replayed for repeats; written in the
    transaction of the work it reports. Pending (status 0) while a request holds the claim: past
    `claimed_at` + the lease (or with no `claimed_at`), a retry takes it over and `attempt` goes up."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))  # method, path and body digest
    status: Mapped[int]
    body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the request now running took it
    attempt: Mapped[int] = mapped_column(default=0, server_default="0")  # the claim's owner: a late one cannot answer
