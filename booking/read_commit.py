"""A request that only read ends its transaction with COMMIT, so that the driver keeps its prepared statements.

psycopg prepares a statement the fifth time a connection runs it, and forgets every prepared statement at a
ROLLBACK (in case the rollback undid DDL they were planned on). Every request's session ended with a rollback,
so the statements of requests that only read were never prepared, and a connection that served one forgot the
bookings' too: PostgreSQL planned the API's token query (every API request's first) anew each time, 0.55 ms
of planning for 0.11 ms of execution.

On PostgreSQL a transaction that ran only SELECTs ends the same at COMMIT as at ROLLBACK: its snapshot, its row
and advisory locks and its transaction-local settings end with it. So a request that raised nothing, leaves
nothing to write in its session (new, changed or deleted objects, appended rows waiting) and sent nothing but
SELECTs is committed; every other request ends in a rollback as before. Anything but a SELECT counts as a
write, a SET or a savepoint included (a SET is kept at COMMIT). SQLite is left as it was: its driver prepares
nothing that a rollback loses.
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from .extensions import db
from .services import appends

log = logging.getLogger(__name__)

_WROTE = "erplib.wrote"  # Connection.info (its DBAPI connection's): something but a SELECT ran since BEGIN
_JOINED = "erplib.joined"  # Session.info: the connections of the session's transaction


def init_app(app: Flask) -> None:
    """After `db.init_app`: teardowns run last registered first, so this one runs before the session is
    removed (and its transaction rolled back)."""
    app.teardown_appcontext(_end)


def only_read(session: Session) -> bool:
    """Whether the session's transaction ran nothing but SELECTs on PostgreSQL and holds nothing to write."""
    joined = session.info.get(_JOINED)
    if not joined or session.new or session.dirty or session.deleted or appends.waiting(session):
        return False
    return all(c.dialect.name == "postgresql" and c.info.get(_WROTE) is False for c in joined)


def _end(error: BaseException | None) -> None:
    if error is not None:
        return
    session = db.session()
    if not only_read(session):
        return
    try:
        session.commit()
    except SQLAlchemyError:  # the connection was lost, say: the session's removal rolls back as before
        log.warning("a transaction that only read could not be committed", exc_info=True)


@event.listens_for(Engine, "begin")
def _began(connection: Connection) -> None:
    connection.info[_WROTE] = False


@event.listens_for(Engine, "before_cursor_execute")
def _statement(connection: Connection, _cursor, statement: str, _parameters, _context, _executemany) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        connection.info[_WROTE] = True


@event.listens_for(Session, "after_begin")
def _joined(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    session.info.setdefault(_JOINED, []).append(connection)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost: a flush's or a savepoint's own end keeps the connections
        session.info.pop(_JOINED, None)
