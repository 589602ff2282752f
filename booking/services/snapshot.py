"""What a transaction reads once, in one statement: the contract version in force, the active webhook
subscriptions and the tier of the first company it asks about, on a day.

A booking needs all three before it writes (its entitlement, its cost, whether its audit row announces a
webhook); read apart they were three round trips, each costing the request more CPU than its rows. Kept
for the transaction (after a commit they are read again) and forgotten as soon as the transaction writes
one of them: a contract version, a subscription or a contract period, flushed or not, or a savepoint ends.
Another company or day costs one more statement of its own. The subscriptions here only say whether any
wants an event: `webhooks.emit` reads them again when one does, since a booking takes its snapshot before
its locks.

An API request's authentication reads the snapshot in its own statement (`COLUMNS`, then `seed`): the
version, whether any subscription is active, and every contract period of the token's company, from which
the tier on any day follows. Its request then sends no statement for the snapshot at all: at a booking's
cost, that statement was about 3 % of its CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, bindparam, event, exists, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..extensions import db
from ..models import ContractPeriod, ContractVersion, WebhookSubscription

_KEY = "snapshot"  # session.info: the Snapshot of the transaction it was read in

_TIER = (
    select(ContractPeriod.tier)
    .where(ContractPeriod.company_id == bindparam("company_id"), ContractPeriod.starts_on <= bindparam("day"))
    .order_by(ContractPeriod.starts_on.desc())
    .limit(1)
)
_VERSION = select(ContractVersion.id).order_by(ContractVersion.id.desc()).limit(1).scalar_subquery()
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
    periods: dict[int, list[tuple[date, str]]] = field(default_factory=dict)  # a company's, oldest first


# What another statement selects to carry the snapshot: with `periods_of`'s outer join, one row per contract
# period of a company (one row of NULL periods when it has none, or for no company). Its rows go to `seed`.
COLUMNS = (
    _VERSION.label("snapshot_version"),
    exists().where(WebhookSubscription.active.is_(True)).label("snapshot_subscribed"),
    ContractPeriod.starts_on.label("snapshot_period_start"),
    ContractPeriod.tier.label("snapshot_period_tier"),
)


def periods_of(statement, company_id: ColumnElement | InstrumentedAttribute):
    """`statement` (selecting `COLUMNS`) outer-joined to the contract periods of `company_id`."""
    return statement.outerjoin(ContractPeriod, ContractPeriod.company_id == company_id)


def seed(company_id: int | None, rows) -> None:
    """This transaction's snapshot, from the rows of a statement that selected `COLUMNS` (just run in it)."""
    session = db.session()
    first = rows[0]
    snapshot = Snapshot(session.get_transaction(), first.snapshot_version, None if first.snapshot_subscribed else ())
    if company_id is not None:
        snapshot.periods[company_id] = sorted(
            (row.snapshot_period_start, row.snapshot_period_tier) for row in rows if row.snapshot_period_start
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
    if company_id in snapshot.periods:
        return next((tier for starts_on, tier in reversed(snapshot.periods[company_id]) if starts_on <= day), None)
    key = (company_id, day)
    if key not in snapshot.tiers:
        snapshot.tiers[key] = db.session.scalar(_TIER, {"company_id": company_id, "day": day})
    return snapshot.tiers[key]


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
