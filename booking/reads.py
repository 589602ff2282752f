"""One read-only statement outside the request's session, for the hottest read: a feed poll.

On PostgreSQL it runs on an engine of its own (a Flask-SQLAlchemy bind) in autocommit, without the pool's
ping: the statement is the poll's only round trip, where the session's way costs four (the ping, BEGIN, the
statement, ROLLBACK) for the database and as many for the worker. A single statement reads one consistent
snapshot by itself, so no transaction is lost. Without the ping, a pooled connection may be dead (the
server restarted): SQLAlchemy then invalidates the pool, and the statement is run once more on a new
connection, which is harmless since it only reads. On SQLite (development, half the tests) the app's
engine serves, in a transaction of its own.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Executable, Row
from sqlalchemy.exc import DBAPIError

from .extensions import db

BIND = "autocommit"
APPLICATION_NAME = "erplib-reads"


def init_app(app: Flask) -> None:
    """Before `db.init_app`: the bind, on PostgreSQL only (SQLite needs its own BEGIN, see booking/sqlite.py)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgresql"):
        app.config["SQLALCHEMY_BINDS"] = {
            **app.config.get("SQLALCHEMY_BINDS", {}),
            BIND: {
                "url": url,
                "isolation_level": "AUTOCOMMIT",
                "pool_pre_ping": False,
                "pool_reset_on_return": None,  # nothing to roll back
                "connect_args": {"application_name": APPLICATION_NAME},  # told apart in pg_stat_activity
            },
        }


def one_or_none(statement: Executable, params: dict[str, Any]) -> Row | None:
    engine = db.engines.get(BIND, db.engine)
    try:
        with engine.connect() as connection:
            return connection.execute(statement, params).one_or_none()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    with engine.connect() as connection:  # the pool was emptied of the dead connections
        return connection.execute(statement, params).one_or_none()
