"""What a transaction reads once, in one statement: the contract version in force, the active webhook
subscriptions and the tier of the first company it asks about, on a day.

A booking needs all three before it writes (its entitlement, its cost, whether its audit row announces a
webhook); read apart they were three round trips, each costing the request more CPU than its rows. Kept
for the transaction (after a commit they are read again) and forgotten as soon as the transaction writes
one of them: a contract version, a subscription or a contract period, flushed or not, or a savepoint ends.
Another company or day costs one more statement of its own. The subscriptions here only say whether any
wants an event: `webhooks.emit` reads them again when one does, since a booking takes its snapshot before
its locks.

An API request's authentication reads the snapshot in its own statement (`carried`, then `seed`): the
version, whether any subscription is active, and the contract periods of the token's company that a day
from today on can fall in (a row each: the last one started and those planned), from which the tier on such a
day follows; an earlier day costs its statement as before. Its request then sends no statement for the
snapshot at all: at a booking's cost, that statement was about 3 % of its CPU. It also carries the schedule's
version, which the availability listing's cache is keyed by: kept only while the transaction writes nothing
(any flush of a change, any statement other than a read, forgets it), since writes bump it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, Date, Integer, Select, and_, bindparam, event, exists, func, select, type_coerce
from sqlalchemy.orm import InstrumentedAttribute, ORMExecuteState, Session, aliased

from ..extensions import db
from ..models import ContractPeriod, ContractVersion, ScheduleVersion, WebhookSubscription

_KEY = "snapshot"  # session.info: the Snapshot of the transaction it was read in

_TIER = (
    select(ContractPeriod.tier)
    .where(ContractPeriod.company_id == bindparam("company_id"), ContractPeriod.starts_on <= bindparam("day"))
    .order_by(ContractPeriod.starts_on.desc())
    .limit(1)
)
_VERSION = select(ContractVersion.id).order_by(ContractVersion.id.desc()).limit(1).scalar_subquery()
_SCHEDULE = select(ScheduleVersion.value).where(ScheduleVersion.id == 1)
_HEAD = select(
    _VERSION.label("version"),
    _TIER.scalar_subquery().label("tier"),
).subquery("head")
# One row per active subscription, each carrying the version and the tier (one row of NULLs when none is).
_READ = select(_HEAD.c.version, _HEAD.c.tier, WebhookSubscription.id, WebhookSubscription.events).select_from(
    _HEAD.outerjoin(WebhookSubscription, WebhookSubscription.active.is_(True))
)


@dataclass
class Snapshot:
    transaction: object
    contract_version: int | None  # None: no version applied from the admin page, the file is in force
    # (id, event types) of each active one; None: some are active, not read (`webhooks.emit` reads them)
    subscriptions: tuple[tuple[int, tuple[str, ...]], ...] | None
    tiers: dict[tuple[int, date], str | None] = field(default_factory=dict)  # None: no period by that day
    # a company's periods that days from the date given on can fall in, oldest first (None: all of them)
    periods: dict[int, tuple[date | None, list[tuple[date, str]]]] = field(default_factory=dict)
    schedule: int | None = None  # the schedule's version, when carried and nothing was written since


def carried(statement: Select, company_id: ColumnElement | InstrumentedAttribute) -> Select:
    """`statement` also selecting the snapshot, for `seed`: the version, whether any subscription is active, and
    one row per contract period of `company_id` that a day from `today` on can fall in (the last one started by
    then, and those planned after; all of them when none had started); one row of NULL periods when there are
    none (or no company). Days before the first period carried are not known from them (`seed`)."""
    earlier = aliased(ContractPeriod)  # not the joined periods: correlated to the statement's company only
    started = (
        select(func.max(earlier.starts_on))
        .where(earlier.company_id == company_id, earlier.starts_on <= bindparam("today"))
        .correlate_except(earlier)
        .scalar_subquery()
    )
    return statement.add_columns(
        _VERSION.label("snapshot_version"),
        _SCHEDULE.scalar_subquery().label("snapshot_schedule"),
        exists().where(WebhookSubscription.active.is_(True)).label("snapshot_subscribed"),
        type_coerce(company_id, Integer).label("snapshot_company"),
        started.label("snapshot_periods_from"),
        ContractPeriod.starts_on.label("snapshot_period_start"),
        ContractPeriod.tier.label("snapshot_period_tier"),
    ).outerjoin(
        ContractPeriod,
        and_(
            ContractPeriod.company_id == company_id,
            ContractPeriod.starts_on >= func.coalesce(started, bindparam("first_day", date.min, type_=Date)),
        ),
    )


def seed(rows) -> None:
    """This transaction's snapshot, from the rows of a statement `carried` it (just run in this transaction)."""
    session = db.session()
    first = rows[0]
    snapshot = Snapshot(session.get_transaction(), first.snapshot_version, None if first.snapshot_subscribed else ())
    snapshot.schedule = first.snapshot_schedule
    if first.snapshot_company is not None:
        snapshot.periods[first.snapshot_company] = (
            first.snapshot_periods_from,
            sorted((row.snapshot_period_start, row.snapshot_period_tier) for row in rows if row.snapshot_period_start),
        )
    session.info[_KEY] = snapshot


def read(company_id: int | None = None, day: date | None = None) -> Snapshot:
    """This transaction's snapshot; read now (with this company's tier on `day`, if given) if it has none."""
    session = db.session()
    known = session.info.get(_KEY)
    transaction = session.get_transaction()
    if known is not None and transaction is not None and known.transaction is transaction and not _pending(session):
        return known
    rows = session.execute(_READ, {"company_id": company_id, "day": day}).all()
    snapshot = Snapshot(
        session.get_transaction(),
        rows[0].version,
        tuple((row.id, tuple(row.events or ())) for row in rows if row.id is not None),
    )
    if company_id is not None and day is not None:
        snapshot.tiers[(company_id, day)] = rows[0].tier
    session.info[_KEY] = snapshot
    return snapshot


def tier(company_id: int, day: date) -> str | None:
    """The tier of the company's last contract period started by `day` (None: none had started)."""
    snapshot = read(company_id, day)
    known_from, periods = snapshot.periods.get(company_id, (date.max, []))
    if known_from is None or day >= known_from:
        return next((tier for starts_on, tier in reversed(periods) if starts_on <= day), None)
    key = (company_id, day)
    if key not in snapshot.tiers:
        snapshot.tiers[key] = db.session.scalar(_TIER, {"company_id": company_id, "day": day})
    return snapshot.tiers[key]


def schedule_version() -> int | None:
    """The schedule's version: as this transaction's authentication read it if it has written nothing since,
    else read now."""
    session = db.session()
    known = session.info.get(_KEY)
    if (
        known is not None
        and known.schedule is not None
        and known.transaction is session.get_transaction()
        and not (session.new or session.dirty or session.deleted)
    ):
        return known.schedule
    return session.scalar(_SCHEDULE)


_READ_HERE = (ContractVersion, WebhookSubscription, ContractPeriod)


def _pending(session: Session) -> bool:
    # Written in this transaction but not flushed yet: the next read flushes them and sees them.
    return any(isinstance(o, _READ_HERE) for o in (*session.new, *session.dirty, *session.deleted))


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session, transaction) -> None:
    # the outermost, or a savepoint (what it wrote may be gone); not a flush's own inner transaction
    if transaction.parent is None or transaction.nested:
        session.info.pop(_KEY, None)


@event.listens_for(Session, "before_flush")
def _forget_when_written(session, _context, _instances) -> None:
    if _pending(session):  # about to be flushed: a read after the flush would not see them pending
        session.info.pop(_KEY, None)
    elif (session.new or session.dirty or session.deleted) and _KEY in session.info:
        session.info[_KEY].schedule = None  # whatever is written may bump it (SQLite's triggers: at once)


@event.listens_for(Session, "do_orm_execute")
def _forget_the_schedule(state: ORMExecuteState) -> None:
    known = state.session.info.get(_KEY)
    if known is not None and known.schedule is not None and not state.is_select:
        known.schedule = None  # an UPDATE, INSERT, DELETE or text statement may write what bumps it
