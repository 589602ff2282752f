"""A request that only read ends its transaction with COMMIT, so that the driver keeps its prepared statements.

psycopg prepares a statement the fifth time a connection runs it, and forgets every prepared statement at a
ROLLBACK (in case the rollback undid DDL they were planned on). Every request's session ended with a rollback,
so the statements of requests that only read were never prepared, and a connection that served one forgot the
bookings' too: PostgreSQL planned the API's token query (every API request's first) anew each time, 0.55 ms
of planning for 0.11 ms of execution.

A transaction that ran only plain SELECTs ends the same at COMMIT as at ROLLBACK: its snapshot, its row and
advisory locks and its transaction-local settings end with it. So a request that raised nothing, leaves nothing
to write in its session (new, changed or deleted objects, appended rows waiting) and sent nothing but SELECTs
built with SQLAlchemy's `select()` is committed; every other request ends in a rollback as before. Anything
else counts as a write: text statements (the locks' `SELECT … set_config`, written as text, are harmless but
not told apart), a SET, a savepoint, and a select calling a function whose effect a COMMIT keeps (a session-wide
`set_config`, `pg_notify`, large objects, `dblink`). SQLite is left as it was: its driver prepares nothing that
a rollback loses. Prepared statements are also why a migration that changes a column's type must not run
under live workers (PostgreSQL: "cached plan must not change result type"): `booking/serve.py` migrates before
it starts them.
"""

from __future__ import annotations

import logging
import re

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, SessionTransaction

from .extensions import db
from .services import appends

log = logging.getLogger(__name__)

_WROTE = "erplib.wrote"  # Connection.info (its DBAPI connection's): something but a SELECT ran since BEGIN
_JOINED = "erplib.joined"  # Session.info: the connections of the session's transaction
# Functions a SELECT may call whose effect outlives the transaction at COMMIT and not at ROLLBACK
_LASTING = re.compile(r"\b(?:set_config|pg_notify|lo_\w+|dblink\w*)\s*\(", re.IGNORECASE)


def init_app(app: Flask) -> None:
    """After `db.init_app`: teardowns run last registered first, so this one runs before the session is
    removed (and its transaction rolled back)."""
    app.teardown_appcontext(_end)


def only_read(session: Session) -> bool:
    """Whether the session's transaction ran nothing but SELECTs on PostgreSQL and holds nothing to write."""
    joined = session.info.get(_JOINED)
    if not joined or session.new or session.dirty or session.deleted or appends.waiting(session):
        return False
    return all(
        not c.closed and not c.invalidated and c.dialect.name == "postgresql" and c.info.get(_WROTE) is False
        for c in joined
    )


def _end(error: BaseException | None) -> None:
    if error is not None or not db.session.registry.has():  # failed, or never used the database
        return
    session = db.session()
    # Only a saving: whatever goes wrong here, the session's removal (the next teardown) rolls back as before.
    try:
        if only_read(session):
            previous, session.expire_on_commit = session.expire_on_commit, False  # nothing reads them again
            try:
                session.commit()
            finally:
                session.expire_on_commit = previous
    except Exception:
        log.warning("a transaction that only read could not be committed", exc_info=True)


@event.listens_for(Engine, "begin")
def _began(connection: Connection) -> None:
    connection.info[_WROTE] = False


@event.listens_for(Engine, "before_cursor_execute")
def _statement(connection: Connection, _cursor, statement: str, _parameters, context, _executemany) -> None:
    if connection.info.get(_WROTE) is not False:
        return
    compiled = context.compiled if context is not None else None
    if compiled is None or not compiled.statement.is_select or _LASTING.search(statement):
        connection.info[_WROTE] = True


@event.listens_for(Session, "after_begin")
def _joined(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    session.info.setdefault(_JOINED, []).append(connection)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost: a flush's or a savepoint's own end keeps the connections
        session.info.pop(_JOINED, None)
