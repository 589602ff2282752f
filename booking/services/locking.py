"""One transaction that takes its locks first, in a fixed order, then re-checks and writes.

PostgreSQL: transaction-scoped advisory locks, one per (consultant, local day) and per company
(hour bank), taken in sorted order so that two bookings never wait on each other in a cycle.
SQLite: BEGIN IMMEDIATE takes the database's single write lock before the first read, so the
re-check and the write see the same state (a deferred BEGIN would fail with SQLITE_BUSY later).
No lock is waited for longer than LOCK_TIMEOUT_SECONDS (PostgreSQL's lock_timeout, SQLite's busy
timeout): past it, `LockTimeout`, which the pages and the API answer with 503 and Retry-After.

The transaction contract (docs/rules.md, "Changing the schedule"):
- `with locked(keys):` owns its transaction. It begins it (ending any read before, so that the locks come
  first), takes the locks, runs the block, commits when the block ends normally (under `holding_commit`:
  flushes and leaves the commit to `finishing` / `commit_held`) and rolls back everything the block wrote
  when it raises. PostgreSQL releases the locks with that commit or rollback.
- The block may not end the transaction: no commit, no rollback, no locked() or `finishing` inside it (whose
  commit would end the outer block's transaction and its locks midway). Each is a `LockContractError`, a
  programming error: a commit is refused before anything is written, and the whole block rolls back.
- It may not leave work for later either: locked() refuses to start with unsaved changes (`PendingChanges`),
  which would otherwise be committed under locks that never protected them.
- A block that must both record something and refuse (mark a hold expired, a plan stale) does not commit and
  raise: it writes, ends normally with an outcome (`return "stale"` from the function holding the block, a
  flag), and its caller raises the refusal once the block has committed. A refusal raised inside the block
  is one that writes nothing: the rollback is the point.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date

from flask import current_app, has_app_context
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..extensions import db
from ..sqlite import IMMEDIATE
from .errors import ServiceError

LockKey = tuple[int, int]
DEFAULT_TIMEOUT = 5.0
_HOLD = "locking.hold_commit"  # session.info: inside `holding_commit`, locked() leaves its commit to `finishing`
_OPEN = "locking.open"  # session.info: the transaction locked() left open for `finishing`
_BLOCK = "locking.block"  # session.info: while a block runs, the transaction it runs in (and may not end)


class LockTimeout(Exception):
    """A lock was not granted in time: another change holds it; the caller is asked to retry shortly."""

    def __init__(self, seconds: float):
        super().__init__(f"lock not granted within {seconds:g} s")
        self.retry_after = max(1, math.ceil(seconds))


class PendingChanges(RuntimeError):
    """locked() was entered with unsaved objects: they would have been committed without its locks."""


class LockContractError(RuntimeError):
    """A locked() block broke the transaction contract (see the module's docstring): it committed, ended its
    transaction, or opened another locked() block inside it. A bug in the block, never a user's error."""


def consultant_day(consultant_id: int, day: date) -> LockKey:
    return (consultant_id, day.toordinal())


CONTRACT: LockKey = (0, 0)  # the contract's versions: no consultant (ids > 0) nor company (< 0) has it


def company(company_id: int) -> LockKey:
    # Negative first half: never equal to a consultant's key.
    return (-company_id, 0)


def account(user_id: int) -> LockKey:
    # Negative first half, second half 1: never a consultant's key nor a company's.
    return (-user_id, 1)


def of_user(user) -> list[LockKey]:
    """What a change to a user's account locks: a client's company (its contacts change under it), else the
    account itself."""
    return [company(user.company_id)] if user.company_id else [account(user.id)]


def timeout() -> float:
    """How long a lock may be waited for, in seconds (LOCK_TIMEOUT_SECONDS)."""
    return float(current_app.config.get("LOCK_TIMEOUT_SECONDS", DEFAULT_TIMEOUT))


# One statement: the timeout is set first (the locks are taken on the joined rows, which need its row),
# then unnest yields the sorted keys in order and each lock is taken in turn; no keys, no lock.
_LOCK_ALL = text(
    "SELECT count(pg_advisory_xact_lock(k.a, k.b)) "
    "FROM (SELECT set_config('lock_timeout', :timeout, true)) AS s "
    "LEFT JOIN unnest(CAST(:a AS integer[]), CAST(:b AS integer[])) AS k(a, b) ON true"
)


@event.listens_for(Engine, "connect")
def _sqlite_busy_timeout(dbapi_connection, _record):
    # After booking.sqlite's own settings (registered first, with a long wait for its pragmas): a
    # write lock is then waited for as long as a PostgreSQL lock.
    if isinstance(dbapi_connection, sqlite3.Connection) and has_app_context():
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(timeout() * 1000)}")


@event.listens_for(Session, "before_commit", insert=True)  # first: before appends.py writes what waits
def _no_commit_in_a_block(session: Session) -> None:
    # Before the commit writes anything: raised inside the block, the error rolls all of it back (`_ending`).
    if _BLOCK in session.info:
        raise LockContractError(
            "commit inside a locked() block: the block commits when it ends; to record something and refuse, "
            "return an outcome and raise after the block"
        )


def _refuse_nesting(session) -> None:
    # An inner block would commit the outer one's work and release its locks halfway through it.
    if _BLOCK in session.info:
        raise LockContractError("locked() or finishing() inside a locked() block: one block, one transaction")


@contextmanager
def _owned(session) -> Iterator[None]:
    """Run the block in the transaction just begun; a commit inside is refused, an ending found afterwards."""
    transaction = session.get_transaction()
    session.info[_BLOCK] = transaction
    try:
        yield
    finally:
        session.info.pop(_BLOCK, None)
    if session.get_transaction() is not transaction:  # rolled back (or closed) inside: the locks went with it
        raise LockContractError("a locked() block ended its own transaction: it may neither commit nor roll back")


def refused(error: OperationalError) -> bool:
    """Whether the database gave up waiting for a lock (not: the database is down)."""
    orig = error.orig
    if getattr(orig, "sqlstate", None) == "55P03":  # lock_not_available
        return True
    return (getattr(orig, "sqlite_errorcode", None) or 0) & 0xFF == sqlite3.SQLITE_BUSY


def _commit(session, expire: bool) -> None:
    session.info.pop(_OPEN, None)
    previous, session.expire_on_commit = session.expire_on_commit, expire
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous


@contextmanager
def _ending(session) -> Iterator[None]:
    """Roll back on any error; a lock not granted in time becomes LockTimeout."""
    try:
        yield
    except OperationalError as error:
        session.info.pop(_OPEN, None)
        session.rollback()
        if refused(error):
            raise LockTimeout(timeout()) from error
        raise
    except BaseException:
        session.info.pop(_OPEN, None)
        session.rollback()
        raise


@contextmanager
def locked(keys: Iterable[LockKey], *, reread: bool = True) -> Iterator[None]:
    """Run the block in a transaction holding these locks; commit on success, roll back on error.

    Objects loaded before are read again under the locks when next used; with `reread=False` they are
    used as they were (the actor, the company: nothing the block decides on), and on PostgreSQL the
    transaction already open simply continues: at read committed, each statement after the locks sees
    every commit made before them. After the commit, objects keep their state: what the block read
    under the locks and wrote is what the database now holds, so a view answers without reading again.
    Unsaved objects in the session are refused (PendingChanges) rather than committed unseen; the block
    itself may not commit (LockContractError): see the contract in the module's docstring.
    """
    session = db.session()  # the request's Session itself (the scoped proxy lacks in_transaction)
    _refuse_nesting(session)
    if session.new or session.dirty or session.deleted:
        pending = [*session.new, *session.dirty, *session.deleted]
        raise PendingChanges(f"locked() entered with unsaved changes, write them in its block: {pending}")
    sqlite = db.engine.dialect.name == "sqlite"
    with _ending(session):
        held = session.info.get(_OPEN) is not None
        if session.in_transaction() and (reread or sqlite or held):
            # the locks must come before any read of the state they protect; and a transaction held open
            # for `finishing` ends here too: its locks and these are never taken out of sorted order
            _commit(session, expire=reread)
        elif reread:
            # no transaction open: objects kept from an earlier one (commits do not expire them) are read again too
            session.expire_all()
        if sqlite:
            session.connection(execution_options={IMMEDIATE: True})
        else:
            ordered = sorted(set(keys))
            session.execute(
                _LOCK_ALL,
                {"timeout": f"{int(timeout() * 1000)}ms", "a": [a for a, _ in ordered], "b": [b for _, b in ordered]},
            )
        with _owned(session):
            yield
        if session.info.get(_HOLD):
            session.flush()
            session.info[_OPEN] = session.get_transaction()
        else:
            _commit(session, expire=False)


@contextmanager
def holding_commit() -> Iterator[None]:
    """In this block, locked() writes but does not commit: its last transaction stays open, locks held,
    for `finishing` to add a row that must commit with the work (or not at all). An error rolls it back; a
    refusal raised after a block (its outcome) commits it first, as it would have been without the hold."""
    session = db.session()
    session.info[_HOLD] = True
    try:
        yield
    except BaseException as error:
        if isinstance(error, ServiceError) and error.status < 500:  # an answer, not a failure: the work stands
            commit_held()
        elif session.info.pop(_OPEN, None) is not None:
            session.rollback()
        raise
    finally:
        session.info.pop(_HOLD, None)


def commit_held() -> None:
    """Commit the transaction `holding_commit` left open, if any: an answer built inside it read what the
    work wrote without a second transaction (a second connection checkout, its ping, its rollback)."""
    session = db.session()
    transaction = session.info.pop(_OPEN, None)
    if transaction is not None and transaction is session.get_transaction():
        with _ending(session):
            _commit(session, expire=False)


@contextmanager
def finishing() -> Iterator[None]:
    """Continue the transaction that `holding_commit` left open, else start one as locked([]) does;
    commit at the end (rolled back on error)."""
    session = db.session()
    _refuse_nesting(session)
    transaction = session.info.get(_OPEN)
    if transaction is None or transaction is not session.get_transaction():
        session.info.pop(_OPEN, None)
        with locked([]):
            yield
        return
    with _ending(session):
        with _owned(session):
            yield
        _commit(session, expire=False)
