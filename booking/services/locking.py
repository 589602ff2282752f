"""One transaction that takes its locks first, in a fixed order, then re-checks and writes.

PostgreSQL: transaction-scoped advisory locks, one per (consultant, local day) and per company
(hour bank), taken in sorted order so that two bookings never wait on each other in a cycle.
SQLite: BEGIN IMMEDIATE takes the database's single write lock before the first read, so the
re-check and the write see the same state (a deferred BEGIN would fail with SQLITE_BUSY later).
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from typing import Iterable, Iterator

from sqlalchemy import text

from ..extensions import db
from ..sqlite import IMMEDIATE

LockKey = tuple[int, int]


def consultant_day(consultant_id: int, day: date) -> LockKey:
    return (consultant_id, day.toordinal())


def company(company_id: int) -> LockKey:
    # Negative first half: never equal to a consultant's key.
    return (-company_id, 0)


# One statement: unnest yields the sorted keys in order, and each lock is taken in turn.
_LOCK_ALL = text("SELECT count(pg_advisory_xact_lock(a, b)) "
                 "FROM unnest(CAST(:a AS integer[]), CAST(:b AS integer[])) AS k(a, b)")


def _commit(session, expire: bool) -> None:
    previous, session.expire_on_commit = session.expire_on_commit, expire
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous


@contextmanager
def locked(keys: Iterable[LockKey], *, reread: bool = True) -> Iterator[None]:
    """Run the block in a transaction holding these locks; commit on success, roll back on error.

    Objects loaded before are read again under the locks when next used; with `reread=False` they are
    used as they were (the actor, the company: nothing the block decides on), and on PostgreSQL the
    transaction already open simply continues: at read committed, each statement after the locks sees
    every commit made before them. After the commit, objects keep their state: what the block read
    under the locks and wrote is what the database now holds, so a view answers without reading again.
    """
    session = db.session()  # the request's Session itself (the scoped proxy lacks in_transaction)
    sqlite = db.engine.dialect.name == "sqlite"
    if session.in_transaction() and (reread or sqlite):
        _commit(session, expire=reread)  # the locks must come before any read of the state they protect
    if sqlite:
        session.connection(execution_options={IMMEDIATE: True})
    elif keys := sorted(set(keys)):
        first, second = zip(*keys)
        session.execute(_LOCK_ALL, {"a": list(first), "b": list(second)})
    try:
        yield
        _commit(session, expire=False)
    except BaseException:
        session.rollback()
        raise
