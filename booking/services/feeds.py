"""Secret iCal feeds: one per consultant and per client company; random, hashed, rotatable, revocable.

A feed is rendered once per schedule version and served from memory (each process keeps its own copy):
the version is a counter that the database bumps in the same transaction as any change to what a feed
shows (bookings, consultants, users, companies, tickets, prerequisites: migrations 0006 and 0019), read with
the token in one query, so a request never gets bytes older than the last commit, whichever worker or host
wrote it. The key also holds the contract in force, the local day (the feed's window moves at midnight) and
the service labels. The ETag is a digest of the bytes: it changes exactly when the body does. A booking
over several days appears as one event per working day.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import threading
from collections import OrderedDict
from datetime import date, datetime, time, timedelta
from itertools import groupby

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, func, or_, select, update

from calendars.feed import feed
from calendars.invite import EventData
from calendars.worktime import PARIS, WorkCalendar, parse_week

from .. import contract, labels, reads
from ..extensions import db
from ..models import (
    Booking,
    Company,
    Consultant,
    ContractVersion,
    FeedToken,
    PrerequisiteCheck,
    ScheduleVersion,
    Ticket,
    User,
)
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
        db.session.execute(
            update(FeedToken).where(_owner_filter(owner), FeedToken.revoked_at.is_(None)).values(revoked_at=utcnow())
        )
        token = FeedToken(
            token_hash=tokens.digest(raw),
            **({"consultant_id": owner.id} if isinstance(owner, Consultant) else {"company_id": owner.id}),
        )
        db.session.add(token)
        db.session.flush()
        audit.record(actor, "feed.issue", token)
    return raw


def revoke(actor, owner: Consultant | Company) -> None:
    with locking.locked([]):
        revoke_here(actor, owner)


def revoke_here(actor, owner: Consultant | Company) -> bool:
    """`revoke` in the caller's transaction; whether a feed was live."""
    done = db.session.execute(
        update(FeedToken).where(_owner_filter(owner), FeedToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    if done.rowcount:  # type: ignore[attr-defined]
        audit.record(actor, "feed.revoke", owner)
    return bool(done.rowcount)  # type: ignore[attr-defined]


def active(owner: Consultant | Company) -> FeedToken | None:
    return db.session.scalar(select(FeedToken).where(_owner_filter(owner), FeedToken.revoked_at.is_(None)))


def token_for(raw: str) -> FeedToken | None:
    return db.session.scalar(
        select(FeedToken).where(FeedToken.token_hash == tokens.digest(raw), FeedToken.revoked_at.is_(None))
    )


def _scope(token, day: date):
    """The bookings a feed shows on this local day: from 90 days back, cancelled ones for 30 days after the change."""
    midnight = datetime.combine(day, time(), PARIS)
    owner = (
        Booking.consultant_id == token.consultant_id if token.consultant_id else Booking.company_id == token.company_id
    )
    return and_(
        owner,
        Booking.start_at >= midnight - PAST,
        or_(
            Booking.status.in_(SHOWN),
            and_(Booking.status.in_(CANCELLED), Booking.updated_at >= midnight - KEEP_CANCELLED),
        ),
    )


@dataclasses.dataclass(frozen=True)
class Rendered:
    """A feed's bytes and their validators."""

    body: bytes
    etag: str
    last_modified: datetime | None


# The token, the schedule's version and the contract in force, in one statement (a feed poll's only query
# when the feed is in memory). Built once: constructing a statement costs more than running it.
_LOOKUP = select(
    FeedToken.token_hash,
    FeedToken.consultant_id,
    FeedToken.company_id,
    select(ScheduleVersion.value).where(ScheduleVersion.id == 1).scalar_subquery(),
    select(func.max(ContractVersion.id)).scalar_subquery(),
).where(FeedToken.token_hash == bindparam("digest"), FeedToken.revoked_at.is_(None))

CACHE_SIZE = 256  # feeds per process
CACHE_BYTES = 8 * 1024 * 1024  # a larger feed is rendered at each version but not kept
_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


def current(raw: str, now: datetime) -> Rendered | None:
    """The feed of this secret token as it stands (None: no such token, or revoked)."""
    # Core, outside the session (booking/reads.py): the ORM and a transaction would cost more than the query
    token = reads.one_or_none(_LOOKUP, {"digest": tokens.digest(raw)})
    if token is None:
        return None
    day = now.astimezone(PARIS).date()
    key = (token.token_hash, token[3], token[4], day, str(get_locale()))  # the locale: the labels' language
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
    if found is None:
        # read after the version: these bytes are at least as new as the version they are kept under
        found = _render(token, day)
        if len(found.body) <= CACHE_BYTES:
            with _cache_lock:
                _cache[key] = found
                while len(_cache) > CACHE_SIZE:
                    _cache.popitem(last=False)
    return found


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
    days = [
        list(spans) for _, spans in groupby(week.intervals(start, end), key=lambda i: i[0].astimezone(PARIS).date())
    ]
    return [(spans[0][0], spans[-1][1]) for spans in days] or [(start, end)]


def _rows(token, day: date):
    """Only the columns a feed shows (whole ORM objects cost more than the feed itself)."""
    return db.session.execute(
        select(
            Booking.id,
            Booking.ical_uid,
            Booking.sequence,
            Booking.start_at,
            Booking.end_at,
            Booking.status,
            Booking.kind,
            Booking.environment,
            Booking.updated_at,
            Company.name,
            User.name,
            Ticket.reference,
            Ticket.priority,
            Booking.consultant_id,
        )
        .join(Company, Company.id == Booking.company_id)
        .join(Consultant, Consultant.id == Booking.consultant_id)
        .join(User, User.id == Consultant.user_id)
        .outerjoin(Ticket, Ticket.id == Booking.ticket_id)
        .where(_scope(token, day))
        .order_by(Booking.start_at)
    ).all()


def _confirmed_prerequisites(booking_ids: list[int]) -> tuple[dict[int, int], datetime | None]:
    """How many prerequisites each booking has confirmed, and the latest confirmation."""
    rows = db.session.execute(
        select(PrerequisiteCheck.booking_id, func.count(), func.max(PrerequisiteCheck.confirmed_at))
        .where(PrerequisiteCheck.booking_id.in_(booking_ids))
        .group_by(PrerequisiteCheck.booking_id)
    ).all()
    return {booking_id: count for booking_id, count, _ in rows}, max((r[2] for r in rows), default=None)


def _events(
    row,
    for_consultant: bool,
    kinds: dict,
    confirmed: dict[int, int],
    checklists: dict[str, int],
    consultants: dict[int, Consultant],
) -> list[EventData]:
    """The booking's event, or one per working day it covers (the first keeps the booking's UID)."""
    first = _event(row, for_consultant, kinds, confirmed, checklists)
    if first.start.astimezone(PARIS).date() == first.end.astimezone(PARIS).date():
        return [first]
    if row.consultant_id not in consultants:
        consultants[row.consultant_id] = db.session.get_one(Consultant, row.consultant_id)
    days = day_spans(consultants[row.consultant_id], first.start, first.end)
    return [
        dataclasses.replace(
            first,
            uid=first.uid if n == 1 else f"jour{n}-{first.uid}",
            start=a,
            end=b,
            summary=_("%(summary)s (jour %(n)s/%(count)s)", summary=first.summary, n=n, count=len(days))
            if len(days) > 1
            else first.summary,
        )
        for n, (a, b) in enumerate(days, 1)
    ]


def _event(row, for_consultant: bool, kinds: dict, confirmed: dict[int, int], checklists: dict[str, int]) -> EventData:
    kind = kinds.get(row.kind, row.kind)
    company, consultant = row[9], row[10]
    lines = [_("Client : %(name)s", name=company)] if for_consultant else []
    lines.append(_("Prestation : %(kind)s", kind=kind))
    if not for_consultant:
        lines.append(_("Consultant : %(name)s", name=consultant))
    if row.reference:
        priority = str(labels.PRIORITIES.get(row.priority, row.priority)).lower()
        lines.append(_("Ticket : %(reference)s (%(priority)s)", reference=row.reference, priority=priority))
    if row.environment:
        environment = str(labels.ENVIRONMENTS.get(row.environment, row.environment)).lower()
        lines.append(_("Environnement : %(environment)s", environment=environment))
    if for_consultant and checklists.get(row.kind):
        lines.append(
            _(
                "Prérequis : %(confirmed)s/%(total)s confirmés",
                confirmed=confirmed.get(row.id, 0),
                total=checklists[row.kind],
            )
        )
    return EventData(
        uid=row.ical_uid,
        sequence=row.sequence,
        start=row.start_at,
        end=row.end_at,
        summary=f"{kind} — {company if for_consultant else 'ERP-Lib'}",
        description="\n".join(lines),
        cancelled=row.status in CANCELLED,
        stamp=row.updated_at,
    )


def _render(token, day: date) -> Rendered:
    """The whole feed, its digest, and its latest change (a booking's or a confirmed prerequisite's)."""
    rows = _rows(token, day)
    confirmed: dict[int, int] = {}
    checked: datetime | None = None
    if token.consultant_id:
        confirmed, checked = _confirmed_prerequisites([r.id for r in rows if r.kind == "minor_update"])
    kinds, checklists = _kinds(), _checklists()
    if token.consultant_id:
        name = f"ERP-Lib — {db.session.get_one(Consultant, token.consultant_id).name}"
    else:
        name = f"ERP-Lib — {db.session.get_one(Company, token.company_id).name}"
    consultants: dict[int, Consultant] = {}
    body = feed(
        name,
        (
            event
            for r in rows
            for event in _events(r, bool(token.consultant_id), kinds, confirmed, checklists, consultants)
        ),
        _("Planning ERP-Lib Planner"),
    )
    latest = max((t for t in (*(r.updated_at for r in rows), checked) if t is not None), default=None)
    return Rendered(body, f'"{hashlib.sha1(body).hexdigest()}"', latest)
