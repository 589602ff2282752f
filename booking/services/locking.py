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


@contextmanager
def locked(keys: Iterable[LockKey]) -> Iterator[None]:
    """Run the block in a fresh transaction holding these locks; commit on success, roll back on error."""
    session = db.session()  # the request's Session itself (the scoped proxy lacks in_transaction)
    if session.in_transaction():
        session.commit()  # the locks must come before any read of the state they protect
    if db.engine.dialect.name == "sqlite":
        session.connection(execution_options={IMMEDIATE: True})
    else:
        for a, b in sorted(set(keys)):
            session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": a, "b": b})
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
