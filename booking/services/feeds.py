"""Secret iCal feeds: one per consultant and per client company; random, hashed, rotatable, revocable.

The feed's version (ETag, Last-Modified) comes from one small query, so a poller that already
has the current feed gets its 304 without the feed being built.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from calendars.feed import feed
from calendars.invite import EventData
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
    # the date is part of it: an old cancellation leaving the 30-day window changes the feed
    tag = hashlib.sha1(f"{token.id}:{count}:{latest}:{now.date()}".encode()).hexdigest()
    return f'"{tag}"', latest


def _rows(token: FeedToken, now: datetime):
    """Only the columns a feed shows (whole ORM objects cost more than the feed itself)."""
    return db.session.execute(
        select(Booking.id, Booking.ical_uid, Booking.sequence, Booking.start_at, Booking.end_at, Booking.status,
               Booking.kind, Booking.environment, Booking.updated_at, Company.name, User.name,
               Ticket.reference, Ticket.priority)
        .join(Company, Company.id == Booking.company_id)
        .join(Consultant, Consultant.id == Booking.consultant_id).join(User, User.id == Consultant.user_id)
        .outerjoin(Ticket, Ticket.id == Booking.ticket_id)
        .where(_scope(token, now)).order_by(Booking.start_at)
    ).all()


def _confirmed_prerequisites(booking_ids: list[int]) -> dict[int, int]:
    return dict(db.session.execute(
        select(PrerequisiteCheck.booking_id, func.count()).where(PrerequisiteCheck.booking_id.in_(booking_ids))
        .group_by(PrerequisiteCheck.booking_id)).all())


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
    kinds = {code: str(label) for code, label in labels.KINDS.items()}
    checklists = {kind: len(service.prerequisites) for kind, service in contract.current().services.items()}
    if token.consultant_id:
        name = f"ERP-Lib — {db.session.get(Consultant, token.consultant_id).name}"
    else:
        name = f"ERP-Lib — {db.session.get(Company, token.company_id).name}"
    return feed(name, (_event(r, bool(token.consultant_id), kinds, confirmed, checklists) for r in rows), "Planning ERP-Lib Planner")
