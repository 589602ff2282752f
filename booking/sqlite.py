"""SQLite connection settings: real transactions, foreign keys, WAL, a busy timeout.

Python's sqlite3 opens a transaction lazily (not on SELECT), so a read-then-write could race;
as SQLAlchemy's "Serializable isolation / Savepoints / Transactional DDL" notes advise, we take
over BEGIN ourselves. Sessions that write bookings ask for BEGIN IMMEDIATE (see `immediate`).
"""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

IMMEDIATE = "sqlite_begin_immediate"


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection, _record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=15000")  # first: the next pragmas may wait for a lock
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@event.listens_for(Engine, "begin")
def _on_begin(conn):
    if conn.dialect.name == "sqlite":
        immediate = conn.get_execution_options().get(IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
