"""Secret feed tokens, consultants' external calendars and the busy time read from them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow


class FeedToken(db.Model):
    """A secret feed URL for one consultant or one client company; only its SHA-256 is kept."""

    __tablename__ = "feed_tokens"
    __table_args__ = (CheckConstraint("(consultant_id IS NULL) <> (company_id IS NULL)", name="ck_feed_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("consultants.id"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


IMPORT_STATUSES = ("pending", "importing", "done", "error")


class ExternalCalendar(db.Model):
    """A consultant's outside calendar (a URL re-read periodically, or an uploaded file).

    A URL is read by the scheduler, never in a web request: `pending` (queued) → `importing`
    (claimed at `started_at`) → `done` (with `busy_count`) or `error` (the reason in `error`)."""

    __tablename__ = "external_calendars"
    __table_args__ = (CheckConstraint(f"status IN {IMPORT_STATUSES}", name="ck_external_calendar_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"), index=True)
    label: Mapped[str] = mapped_column(String(120))
    url: Mapped[str | None] = mapped_column(String(2000))
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="done", server_default="done", index=True)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    busy_count: Mapped[int | None]
    # The last read's report: events read, components skipped and warnings, as codes and lines
    # (calendars.importer.Note.to_json), translated when shown.
    report: Mapped[dict | None] = mapped_column(JSON)
    # The last read that skipped nothing: busy time kept from it for skipped events expires after a while.
    complete_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    busy: Mapped[list[ExternalBusy]] = relationship(back_populates="calendar", cascade="all, delete-orphan")


class ExternalBusy(db.Model):
    __tablename__ = "external_busy"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="ck_external_busy_order"),
        Index("ix_external_busy_consultant_start", "consultant_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("external_calendars.id", ondelete="CASCADE"), index=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)

    calendar: Mapped[ExternalCalendar] = relationship(back_populates="busy")
