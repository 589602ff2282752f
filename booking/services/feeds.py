"""Secret iCal feeds: one per consultant and per client company; random, hashed, rotatable, revocable.

The feed's version (ETag, Last-Modified) comes from one small query, so a poller that already
has the current feed gets its 304 without the feed being built.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import joinedload

from calendars.feed import feed
from calendars.invite import EventData
from .. import labels
from ..extensions import db
from ..models import Booking, Company, Consultant, FeedToken
from ..models.types import utcnow
from . import audit, interventions, locking

PREFIX = "cal_"
SHOWN = ("confirmed", "completed", "no_show")
CANCELLED = ("cancelled", "late_cancelled", "prerequisites_missing")
KEEP_CANCELLED = timedelta(days=30)
PAST = timedelta(days=90)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _owner_filter(owner):
    return FeedToken.consultant_id == owner.id if isinstance(owner, Consultant) else FeedToken.company_id == owner.id


def issue(actor, owner: Consultant | Company) -> str:
    """A new secret feed token for `owner` (the old one stops working); its only clear copy."""
    raw = PREFIX + secrets.token_urlsafe(24)  # 192 bits
    with locking.locked([]):
        db.session.execute(update(FeedToken).where(_owner_filter(owner), FeedToken.revoked_at.is_(None))
                           .values(revoked_at=utcnow()))
        token = FeedToken(token_hash=_digest(raw), **({"consultant_id": owner.id} if isinstance(owner, Consultant)
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
    return db.session.scalar(select(FeedToken).where(FeedToken.token_hash == _digest(raw),
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
    if latest is not None and latest.tzinfo is None:  # SQLite's max() bypasses the column type
        latest = datetime.fromisoformat(str(latest)).replace(tzinfo=now.tzinfo)
    elif isinstance(latest, str):
        latest = datetime.fromisoformat(latest)
    # the date is part of it: an old cancellation leaving the 30-day window changes the feed
    tag = hashlib.sha1(f"{token.id}:{count}:{latest}:{now.date()}".encode()).hexdigest()
    return f'"{tag}"', latest


def _event(booking: Booking, for_consultant: bool) -> EventData:
    kind = str(labels.KINDS.get(booking.kind, booking.kind))
    lines = [f"Prestation : {kind}"]
    if for_consultant:
        lines.insert(0, f"Client : {booking.company.name}")
    else:
        lines.append(f"Consultant : {booking.consultant.name}")
    if booking.ticket:
        lines.append(f"Ticket : {booking.ticket.reference} ({booking.ticket.priority})")
    if booking.environment:
        lines.append(f"Environnement : {booking.environment}")
    checklist = interventions.checklist(booking) if for_consultant else []
    if checklist:
        lines.append(f"Prérequis : {sum(1 for *_, done in checklist if done)}/{len(checklist)} confirmés")
    title = f"{kind} — {booking.company.name}" if for_consultant else f"{kind} — ERP-Lib"
    return EventData(uid=booking.ical_uid, sequence=booking.sequence, start=booking.start_at, end=booking.end_at,
                     summary=title, description="\n".join(lines), cancelled=booking.status in CANCELLED,
                     stamp=booking.updated_at)


def render(token: FeedToken, now: datetime | None = None) -> bytes:
    """The whole feed."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(Booking).where(_scope(token, now)).order_by(Booking.start_at)
        .options(joinedload(Booking.company), joinedload(Booking.ticket),
                 joinedload(Booking.consultant).joinedload(Consultant.user), joinedload(Booking.checks))
    ).unique()
    if token.consultant_id:
        name = f"ERP-Lib — {db.session.get(Consultant, token.consultant_id).name}"
    else:
        name = f"ERP-Lib — {db.session.get(Company, token.company_id).name}"
    return feed(name, (_event(b, bool(token.consultant_id)) for b in rows), "Planning ERP-Lib Planner")
