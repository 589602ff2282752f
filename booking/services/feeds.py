"""Secret iCal feeds: one per consultant and per client company; random, hashed, rotatable, revocable.

The ETag is a digest of everything the feed shows, taken from a few small queries (the bookings'
versions, the prerequisites confirmed, the names of the companies or consultants, the contract's
checklists and labels, the day), so a poller that has the current feed gets its 304 without the
feed being built, and a prerequisite ticked or a company renamed changes it. A booking over
several days appears as one event per working day.
"""
from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import Select, and_, func, or_, select, update

from calendars.feed import feed
from calendars.invite import EventData
from calendars.worktime import PARIS, WorkCalendar, parse_week
from .. import contract, labels
from ..extensions import db
from ..models import Booking, Company, Consultant, FeedToken, PrerequisiteCheck, Ticket, User
from ..models.types import utcnow
from . import audit, locking, tokens

PREFIX = "cal_"
SHOWN = ("confirmed", "completed", "no_show")
CANCELLED = ("cancelled", "late_cancelled", "prerequisites_missing")
KEEP_CANCELLED = timedelta(days=30)
PAST = timedelta(days=90)


def _owner_filter(owner):
    return FeedToken.consultant_id == owner.id if isinstance(owner, Consultant) else FeedToken.company_id == owner.id


def issue(actor, owner: Consultant | Company) -> str:
    """A new secret feed token for `owner` (the old one stops working); its only clear copy."""
    raw = PREFIX + secrets.token_urlsafe(24)  # 192 bits
    with locking.locked([]):
        db.session.execute(update(FeedToken).where(_owner_filter(owner), FeedToken.revoked_at.is_(None))
                           .values(revoked_at=utcnow()))
        token = FeedToken(token_hash=tokens.digest(raw), **({"consultant_id": owner.id} if isinstance(owner, Consultant)
                                                       else {"company_id": owner.id}))
        db.session.add(token)
        db.session.flush()
        audit.record(actor, "feed.issue", token)
    return raw


def revoke(actor, owner: Consultant | Company) -> None:
    with locking.locked([]):
        db.session.execute(update(FeedToken).where(_owner_filter(owner), FeedToken.revoked_at.is_(None))
                           .values(revoked_at=utcnow()))
        audit.record(actor, "feed.revoke", owner)


def active(owner: Consultant | Company) -> FeedToken | None:
    return db.session.scalar(select(FeedToken).where(_owner_filter(owner), FeedToken.revoked_at.is_(None)))


def token_for(raw: str) -> FeedToken | None:
    return db.session.scalar(select(FeedToken).where(FeedToken.token_hash == tokens.digest(raw),
                                                     FeedToken.revoked_at.is_(None)))


def _scope(token: FeedToken, now: datetime):
    owner = Booking.consultant_id == token.consultant_id if token.consultant_id else Booking.company_id == token.company_id
    return and_(owner, Booking.start_at >= now - PAST, or_(
        Booking.status.in_(SHOWN),
        and_(Booking.status.in_(CANCELLED), Booking.updated_at >= now - KEEP_CANCELLED)))


def version(token: FeedToken, now: datetime) -> tuple[str, datetime | None]:
    """(ETag, Last-Modified) of the feed as it would be built now."""
    count, latest = db.session.execute(
        select(func.count(), func.max(Booking.updated_at)).where(_scope(token, now))).one()
    parts: list = [token.id, count, latest, now.date()]  # the date: a cancellation leaving the window
    checked = None
    tickets = (Ticket.id, Ticket.reference, Ticket.priority)
    if token.consultant_id:
        checks = db.session.execute(
            select(func.count(PrerequisiteCheck.id), func.max(PrerequisiteCheck.confirmed_at),
                   func.coalesce(func.sum(PrerequisiteCheck.id), 0)).join(Booking).where(_scope(token, now))).one()
        checked = checks[1]
        owner = db.session.get_one(Consultant, token.consultant_id)
        # the companies' names and the tickets, in one query; the owner's week splits multi-day bookings
        shown: Select = select(Company.id, Company.name, *tickets).join(Booking, Booking.company_id == Company.id)
        parts += [*checks, _checklists(), owner.name, repr(owner.working_pattern), owner.holiday_region]
    else:
        shown = (select(Consultant.id, User.name, Consultant.holiday_region, *tickets)
                 .join(User, Consultant.user_id == User.id).join(Booking, Booking.consultant_id == Consultant.id))
        parts += [db.session.get_one(Company, token.company_id).name]
        patterns: dict[int, dict] = dict(db.session.execute(select(Consultant.id, Consultant.working_pattern).where(
            Consultant.id.in_(select(Booking.consultant_id).where(_scope(token, now)).distinct()))).all())
        parts += [sorted((k, repr(v)) for k, v in patterns.items())]
    rows = db.session.execute(shown.outerjoin(Ticket, Ticket.id == Booking.ticket_id).where(_scope(token, now))
                              .distinct()).all()
    parts += [sorted(rows, key=repr), sorted(_kinds().items())]
    tag = hashlib.sha1(repr(parts).encode()).hexdigest()
    return f'"{tag}"', max((t for t in (latest, checked) if t is not None), default=None)


def _kinds() -> dict[str, str]:
    return {code: str(label) for code, label in labels.KINDS.items()}


def _checklists() -> dict[str, int]:
    return {kind: len(service.prerequisites) for kind, service in contract.current().services.items()}


def day_spans(consultant: Consultant, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The working days a booking covers, each from its first to its last working hour (its lunch
    break inside): a 5-day job is five days of 09:00–18:00, not one span through nights and a
    weekend. A booking within one day is itself."""
    if start.astimezone(PARIS).date() == end.astimezone(PARIS).date():
        return [(start, end)]
    week = WorkCalendar(week=parse_week(consultant.working_pattern), holiday_region=consultant.holiday_region)
    days = [list(spans) for _, spans in groupby(week.intervals(start, end), key=lambda i: i[0].astimezone(PARIS).date())]
    return [(spans[0][0], spans[-1][1]) for spans in days] or [(start, end)]


def _rows(token: FeedToken, now: datetime):
    """Only the columns a feed shows (whole ORM objects cost more than the feed itself)."""
    return db.session.execute(
        select(Booking.id, Booking.ical_uid, Booking.sequence, Booking.start_at, Booking.end_at, Booking.status,
               Booking.kind, Booking.environment, Booking.updated_at, Company.name, User.name,
               Ticket.reference, Ticket.priority, Booking.consultant_id)
        .join(Company, Company.id == Booking.company_id)
        .join(Consultant, Consultant.id == Booking.consultant_id).join(User, User.id == Consultant.user_id)
        .outerjoin(Ticket, Ticket.id == Booking.ticket_id)
        .where(_scope(token, now)).order_by(Booking.start_at)
    ).all()


def _confirmed_prerequisites(booking_ids: list[int]) -> dict[int, int]:
    return dict(db.session.execute(
        select(PrerequisiteCheck.booking_id, func.count()).where(PrerequisiteCheck.booking_id.in_(booking_ids))
        .group_by(PrerequisiteCheck.booking_id)).all())


def _events(row, for_consultant: bool, kinds: dict, confirmed: dict[int, int], checklists: dict[str, int],
            consultants: dict[int, Consultant]) -> list[EventData]:
    """The booking's event, or one per working day it covers (the first keeps the booking's UID)."""
    first = _event(row, for_consultant, kinds, confirmed, checklists)
    if first.start.astimezone(PARIS).date() == first.end.astimezone(PARIS).date():
        return [first]
    if row.consultant_id not in consultants:
        consultants[row.consultant_id] = db.session.get_one(Consultant, row.consultant_id)
    days = day_spans(consultants[row.consultant_id], first.start, first.end)
    return [dataclasses.replace(first, uid=first.uid if n == 1 else f"jour{n}-{first.uid}", start=a, end=b,
                                summary=f"{first.summary} (jour {n}/{len(days)})" if len(days) > 1 else first.summary)
            for n, (a, b) in enumerate(days, 1)]


def _event(row, for_consultant: bool, kinds: dict, confirmed: dict[int, int], checklists: dict[str, int]) -> EventData:
    kind = kinds.get(row.kind, row.kind)
    company, consultant = row[9], row[10]
    lines = [f"Client : {company}"] if for_consultant else []
    lines.append(f"Prestation : {kind}")
    if not for_consultant:
        lines.append(f"Consultant : {consultant}")
    if row.reference:
        lines.append(f"Ticket : {row.reference} ({row.priority})")
    if row.environment:
        lines.append(f"Environnement : {row.environment}")
    if for_consultant and checklists.get(row.kind):
        lines.append(f"Prérequis : {confirmed.get(row.id, 0)}/{checklists[row.kind]} confirmés")
    return EventData(uid=row.ical_uid, sequence=row.sequence, start=row.start_at, end=row.end_at,
                     summary=f"{kind} — {company if for_consultant else 'ERP-Lib'}", description="\n".join(lines),
                     cancelled=row.status in CANCELLED, stamp=row.updated_at)


def render(token: FeedToken, now: datetime | None = None) -> bytes:
    """The whole feed."""
    now = now or utcnow()
    rows = _rows(token, now)
    confirmed = _confirmed_prerequisites([r.id for r in rows if r.kind == "minor_update"]) if token.consultant_id else {}
    kinds, checklists = _kinds(), _checklists()
    if token.consultant_id:
        name = f"ERP-Lib — {db.session.get_one(Consultant, token.consultant_id).name}"
    else:
        name = f"ERP-Lib — {db.session.get_one(Company, token.company_id).name}"
    consultants: dict[int, Consultant] = {}
    return feed(name, (event for r in rows
                       for event in _events(r, bool(token.consultant_id), kinds, confirmed, checklists, consultants)),
                "Planning ERP-Lib Planner")
