"""Rows a change appends and nothing reads before the transaction's next statement: audit entries, hour-bank
lines and mails. Each waits in the session until the transaction runs another statement or commits, then they
are written together: on PostgreSQL in one statement (inserts chained with WITH), else one statement per
table. A booking appends four such rows after inserting itself, which were three round trips.

What a reader can see is kept: any statement run through the session (a read of the hour bank's balance, a
lazy load, another write) and every commit first write what waits, and a rollback drops it. An append opens
the session's transaction if none is, as the insert it replaces did. Rows are given whole (column defaults,
times included, computed when added), so what is written does not depend on when. PostgreSQL runs the inserts
of one statement in no set order, so rows written together get their ids in no set order: the audit log and
the ledger are read by time first, and the two mails of one change may leave in either order. Webhook
deliveries are not appended (see `webhooks.emit`).
"""

from __future__ import annotations

from sqlalchemy import Insert, Table, bindparam, event
from sqlalchemy.orm import ORMExecuteState, Session

from ..extensions import db

_KEY = "appends.pending"  # session.info: [(table, row), …] in the order they were appended
CHAINED = 32  # rows in one chained statement at most; a bulk change (a job's mails) goes one statement per table
_SHAPES: dict[tuple, Insert] = {}  # one statement per sequence of (table, columns): built once, compiled once


def add(table: Table, row: dict) -> None:
    """Append `row` to `table` in the caller's transaction (written before its next statement or commit)."""
    row = dict(row)
    for column in table.columns:
        default = column.default
        if column.key not in row and default is not None and not column.primary_key:
            if default.is_clause_element:
                raise TypeError(f"{table.name}.{column.key}: a SQL default cannot be computed before the insert")
            row[column.key] = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback or a locked() block's first commit treats the row as it did the insert
    session.info.setdefault(_KEY, []).append((table, row))


def waiting(session: Session) -> bool:
    """Whether rows wait to be written in the session's transaction."""
    return bool(session.info.get(_KEY))


def write(session: Session) -> None:
    """Write what waits, now."""
    pending = session.info.pop(_KEY, None)
    if not pending:
        return
    if not 1 < len(pending) <= CHAINED or session.get_bind().dialect.name != "postgresql":
        by_table: dict[Table, list[dict]] = {}
        for table, row in pending:
            by_table.setdefault(table, []).append(row)
        for table, rows in by_table.items():
            session.execute(table.insert(), rows)
        return
    shape = tuple((table, tuple(row)) for table, row in pending)
    statement = _SHAPES.get(shape)
    if statement is None:
        if len(_SHAPES) > 256:
            _SHAPES.clear()
        statement = _SHAPES[shape] = _chained(shape)
    session.execute(
        statement, {f"r{i}_{key}": value for i, (_, row) in enumerate(pending) for key, value in row.items()}
    )


def _chained(shape: tuple) -> Insert:
    """INSERT … WITH a0 AS (INSERT …), a1 AS (INSERT …): every row of `shape` in one statement."""
    inserts = [
        table.insert().values({key: bindparam(f"r{i}_{key}", type_=table.c[key].type) for key in keys})
        for i, (table, keys) in enumerate(shape)
    ]
    *first, last = inserts
    return last.add_cte(*(insert.cte(f"a{i}") for i, insert in enumerate(first)))


@event.listens_for(Session, "do_orm_execute")
def _before_any_statement(state: ORMExecuteState) -> None:
    if _KEY in state.session.info:
        write(state.session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if _KEY in session.info:
        write(session)


@event.listens_for(Session, "after_transaction_end")
def _dropped(session: Session, transaction) -> None:
    # The outermost transaction ended: a commit wrote what waited; a rollback or a close drops it (a flush's
    # own inner transaction ends too, and drops nothing). The service takes no savepoints.
    if transaction.parent is None:
        session.info.pop(_KEY, None)
