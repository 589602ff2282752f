"""Tickets and bookings (sessions, callbacks, interventions, priority consulting)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    and_,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

KINDS = ("erplib", "callback", "minor_update", "major_install", "major_install_test", "priority_consulting")
STATUSES = (
    "held",
    "confirmed",
    "completed",
    "no_show",
    "cancelled",
    "late_cancelled",
    "expired",
    "prerequisites_missing",
)
# Statuses that occupy the consultant's time; the no-overlap constraints cover exactly these.
ACTIVE_STATUSES = ("held", "confirmed", "completed", "no_show")
PRIORITIES = ("bloquante", "majeure", "mineure", "basse")
# No booking lasts longer: a service lasts at most 10 business days (the contract's check) and priority
# consulting 5, weekends and holidays included well within. Overlap queries look back no further than this
# before their window, so that an index range on start_at stays the window's size, not the whole history.
LONGEST = timedelta(days=21)
_ACTIVE_SQL = f"status IN {ACTIVE_STATUSES}"
_ONE_INSTALL = "kind = 'major_install' AND status IN ('held', 'confirmed', 'completed')"


def new_uid() -> str:
    return f"{uuid.uuid4()}@erplib-planner"


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(f"priority IN {PRIORITIES}", name="ck_tickets_priority"),
        # A reference is the client's own: another company may use the same one (and must not learn of it).
        UniqueConstraint("company_id", "reference", name="uq_tickets_company_reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40))
    priority: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200), default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # No callback window fitting before the take-charge deadline, the client asked to be called: planners see the
    # ticket until a callback is booked for it or one of them records the call (services.callbacks).
    call_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    company: Mapped[Company] = relationship()  # noqa: F821


class Booking(db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS}", name="ck_bookings_kind"),
        CheckConstraint(f"status IN {STATUSES}", name="ck_bookings_status"),
        CheckConstraint("end_at > start_at", name="ck_bookings_order"),
        CheckConstraint("sequence >= 0", name="ck_bookings_sequence"),
        Index("ix_bookings_consultant_start", "consultant_id", "start_at"),
        Index("ix_bookings_start", "start_at"),  # team-wide windows (see `overlapping`)
        # One installation per major version per contract (held, confirmed or done).
        Index(
            "ux_bookings_one_install_per_version",
            "company_id",
            "target_version",
            unique=True,
            sqlite_where=text(_ONE_INSTALL),
            postgresql_where=text(_ONE_INSTALL),
        ),
        # Last line of defence against double booking on PostgreSQL (needs btree_gist);
        # SQLite gets equivalent triggers in the migration.
        ExcludeConstraint(
            ("consultant_id", "="),
            (func.tstzrange(text("start_at"), text("end_at"), "[)"), "&&"),
            name="ex_bookings_no_overlap",
            using="gist",
            where=text(_ACTIVE_SQL),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30), default="confirmed", index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"))
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    environment: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")
    ical_uid: Mapped[str] = mapped_column(String(100), unique=True, default=new_uid)
    sequence: Mapped[int] = mapped_column(default=0)
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the client (or staff for them) last accepted its terms on its day: written in the transaction that
    # confirms it (`bookings.book`, `confirm`) or moves it (`reschedule`), never by a priority plan's moves (nobody
    # of that company consented). The planned changes of formula read it (`companies._counted_under`). On the
    # clock that dates the plans (`ContractPeriod.created_at`), so the two compare. NULL: never accepted (a hold).
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pinned: Mapped[bool] = mapped_column(default=False)
    # A callback window the client chose after the tier's take-charge deadline.
    beyond_commitment: Mapped[bool] = mapped_column(default=False)
    follow_up_of_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    target_version: Mapped[str | None] = mapped_column(String(20))  # major installs
    analysis_notes: Mapped[str] = mapped_column(Text, default="", server_default="")  # client: environment analysis
    version_changes: Mapped[str] = mapped_column(Text, default="", server_default="")  # planner: changes of the version
    # Background jobs claim a booking by setting these from NULL (act only if one row changed).
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    prerequisites_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gate_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    risk_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    consultant: Mapped[Consultant] = relationship()  # noqa: F821
    company: Mapped[Company] = relationship()  # noqa: F821
    contact: Mapped[User | None] = relationship()  # noqa: F821
    ticket: Mapped[Ticket | None] = relationship()
    follow_up_of: Mapped[Booking | None] = relationship(remote_side=[id])
    checks: Mapped[list[PrerequisiteCheck]] = relationship(back_populates="booking", cascade="all, delete-orphan")


class PrerequisiteCheck(db.Model):
    """One prerequisite of an intervention, confirmed by the client."""

    __tablename__ = "prerequisite_checks"
    __table_args__ = (UniqueConstraint("booking_id", "code", name="uq_prerequisite_booking_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    booking: Mapped[Booking] = relationship(back_populates="checks")


REFUSAL_REASON_MAX = 500  # a few sentences: what a client can act on, not a letter


class PriorityRequest(db.Model):
    """A client's request for urgent priority consulting, accepted by a planner."""

    __tablename__ = "priority_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN ('requested', 'accepted', 'planned', 'applied', 'refused')", name="ck_priority_status"
        ),
        CheckConstraint("unit IN ('hours', 'days')", name="ck_priority_unit"),
        CheckConstraint("amount BETWEEN 1 AND 5", name="ck_priority_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    skill: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int]
    unit: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="requested")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    quote_eur: Mapped[float | None]  # the compensation the requester pays, from the plan
    client_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    quote_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # after it, the plan is recomputed
    agreement_note: Mapped[str | None] = mapped_column(Text)  # a planner's record of an agreement by phone
    # The consulting's own price (0 when the tier includes it), fixed when the plan is applied: the billing
    # reads it then, whatever the contract's rates become; 0 again if a planner cancels every day of it.
    consulting_eur: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A planner's refusal: why, in their words, shown to the client and mailed to them (requests refused before
    # migration 0026 have none).
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refusal_reason: Mapped[str | None] = mapped_column(String(REFUSAL_REASON_MAX))

    company: Mapped[Company] = relationship()  # noqa: F821
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])  # noqa: F821


def overlapping(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Bookings that overlap [start, end): those starting before its end and ending after its start; also
    starting at most LONGEST before it, which says nothing more but lets an index on start_at skip the past."""
    return and_(Booking.start_at < end, Booking.end_at > start, Booking.start_at > start - LONGEST)


def with_status(statuses: tuple[str, ...] = ACTIVE_STATUSES) -> ColumnElement[bool]:
    """Bookings in one of `statuses`, said as "in none of the others" (the same rows): for "one of these" SQLite
    reads a window's bookings through the index on status, and nearly every booking, past ones included, has an
    active status; this way it uses the consultant's or the window's index on start_at."""
    # one comparison each rather than NOT IN: an IN list is an expanding parameter, rendered into the
    # statement again at every execution
    return and_(*(Booking.status != status for status in STATUSES if status not in statuses))
