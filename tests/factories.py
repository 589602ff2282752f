"""Build test data in one line each."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date, datetime, timedelta
from functools import cache

from sqlalchemy import event, select
from werkzeug.security import generate_password_hash

from booking.extensions import db
from booking.models import Booking, Company, Consultant, ContractPeriod, User

_n = itertools.count(1)
PASSWORD = "secret-pass"


@cache
def password_hash() -> str:
    """PASSWORD hashed once, by a cheap method: the app's own (scrypt) costs 0.17 s a hash here, and so a check;
    thousands of test users and logins paid it. Werkzeug verifies a hash by the method written in it, so the
    logins of these users are cheap too. The test of login timing gives its users the app's method."""
    return generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def company(tier: str = "serenite", **kw) -> Company:
    n = next(_n)
    obj = Company(
        name=kw.pop("name", f"Société {n}"),
        tier=tier,
        contract_start=kw.pop("contract_start", date(2026, 1, 1)),
        erp_version=kw.pop("erp_version", "12.1"),
        environments=kw.pop("environments", ["test", "production"]),
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def user(role: str = "client", company_obj: Company | None = None, **kw) -> User:
    n = next(_n)
    if role == "client" and company_obj is None:
        company_obj = company()
    obj = User(
        email=kw.pop("email", f"user{n}@test.example"),
        name=kw.pop("name", f"Utilisateur {n}"),
        role=role,
        company=company_obj,
        **kw,
    )
    obj.password_hash = password_hash()
    db.session.add(obj)
    db.session.flush()
    return obj


def consultant(skills=("comptabilite",), **kw) -> Consultant:
    obj = Consultant(user=user("consultant"), skills=list(skills), **kw)
    db.session.add(obj)
    db.session.flush()
    return obj


def booking(consultant_obj: Consultant, start: datetime, minutes: int = 45, **kw) -> Booking:
    company_obj = kw.pop("company", None) or company()
    obj = Booking(
        kind=kw.pop("kind", "erplib"),
        status=kw.pop("status", "confirmed"),
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        consultant=consultant_obj,
        company=company_obj,
        **kw,
    )
    db.session.add(obj)
    db.session.flush()
    return obj


def client_with_consultant(tier: str, contract_start: date = date(2026, 3, 1)) -> tuple[User, Company, User]:
    """An admin, a company of `tier` with its contact, and a consultant to book, committed: the start of
    every tier-change scenario."""
    admin = user("admin")
    company_obj = company(tier, contract_start=contract_start)
    contact = user("client", company_obj)
    consultant()
    db.session.commit()
    return admin, company_obj, contact


def reread() -> None:
    """Forget what the test's session holds, to read what other sessions (threads, servers) committed:
    a service's commit keeps its objects' state, so a plain rollback with no transaction open would not."""
    db.session.rollback()
    db.session.expire_all()


@contextmanager
def another_writer_after(prefix: str = "SELECT users.", nth: int = 1) -> Iterator[list[bool]]:
    """On SQLite: once the block's request has run its `nth` statement starting with `prefix` (its read has
    begun), another connection commits a write, as a plan worker or another tab would. A request that read and
    then writes without taking the write lock first fails at once (SQLITE_BUSY, a 503). Yields a flag, [False]
    once the other write happened."""
    assert db.engine.dialect.name == "sqlite", "a fault of SQLite's: PostgreSQL's writers wait for each other"
    armed, seen = [True], itertools.count(1)

    def write(conn, cursor, statement, *_args):
        if armed[0] and statement.startswith(prefix) and next(seen) == nth:
            armed[0] = False
            with closing(sqlite3.connect(db.engine.url.database)) as other, other:  # committed, then closed
                other.execute("UPDATE schedule_versions SET value = value + 1")

    event.listen(db.engine, "after_cursor_execute", write)
    try:
        yield armed
    finally:
        event.remove(db.engine, "after_cursor_execute", write)


def tier_of(company_id: int, day: date) -> str:
    """The tier of the period `day` falls in, read straight from the table (not through the services' snapshot):
    what a test checks the rules against."""
    return db.session.scalar(
        select(ContractPeriod.tier)
        .where(ContractPeriod.company_id == company_id, ContractPeriod.starts_on <= day)
        .order_by(ContractPeriod.starts_on.desc())
        .limit(1)
    )
