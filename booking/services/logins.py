"""Password logins: the same work whether the account exists or not, failures counted per e-mail
address with a progressive delay, and sessions that end everywhere when asked."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import cast

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, case, delete, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import User
from ..models.people import LoginFailure
from . import audit, locking
from .errors import ServiceError

FORGET_AFTER = timedelta(days=1)  # failures older than this no longer count


class LoginRefused(ServiceError):
    """Wrong e-mail or password (never says which)."""

    status = 401
    code = "login_refused"


class LoginLocked(ServiceError):
    """Too many failures for this address: no password is checked before `until`."""

    status = 429
    code = "login_locked"

    def __init__(self, until: datetime):
        super().__init__(
            _l("Trop d'échecs de connexion pour ce compte : réessayez après %(time)s UTC.", time=f"{until:%H:%M}")
        )
        self.until = until


def shown_until(until: datetime) -> datetime:
    """When a person may try again, as shown to them and to admins: the whole minute, rounded up."""
    whole = until.replace(second=0, microsecond=0)
    return whole if whole == until else whole + timedelta(minutes=1)


def account_key(email: str) -> str:
    """The address as counted: normalised, then hashed (no e-mail in the failures table)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@cache
def _dummy_hash() -> str:
    """A hash made like the real ones, to verify against when there is no account: same cost, same time."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(email: str, password: str, now: datetime) -> User:
    """The active user with this e-mail and password; else LoginLocked or LoginRefused. Commits the
    failure count, which must be kept even though the login is refused."""
    key, email = account_key(email), email.strip().lower()
    failure = db.session.get(LoginFailure, key)
    if failure is not None and failure.locked_until is not None and failure.locked_until > now:
        raise LoginLocked(failure.locked_until)
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    # Unknown and inactive accounts cost one verification too: the answer's timing tells nothing.
    valid = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    _end_read()
    if user is not None and user.active and valid:
        if failure is not None:
            db.session.delete(failure)
            db.session.commit()
        return user
    until = _count_failure(key, now)
    db.session.commit()
    if until is not None:
        raise LoginLocked(until)
    raise LoginRefused(_l("E-mail ou mot de passe incorrect."))


def _end_read() -> None:
    """Close the read before writing: on SQLite a read transaction cannot become a write one once
    another login has committed meanwhile (the password check takes a while). Objects stay loaded."""
    session = db.session()
    previous, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous


def delay(failures: int) -> timedelta | None:
    """How long the address waits after its n-th failure in a row: 1, 2, 4 … minutes, capped."""
    over = failures - current_app.config["LOGIN_FAILURES_BEFORE_DELAY"]
    if over < 0:
        return None
    cap = timedelta(minutes=current_app.config["LOGIN_DELAY_MAX_MINUTES"])
    return min(timedelta(minutes=2 ** min(over, 20)), cap)


def _count_failure(key: str, now: datetime) -> datetime | None:
    """One more failure, counted and timed in one statement (concurrent failures each count)."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.last_failure_at < now - FORGET_AFTER))
    table = LoginFailure.__table__
    following, threshold = table.c.failures + 1, current_app.config["LOGIN_FAILURES_BEFORE_DELAY"]
    ends: list[tuple[int, datetime]] = []
    n = threshold
    while (step := delay(n)) is not None and (not ends or ends[-1][1] < now + step):
        ends.append((n, now + step))
        n += 1
    steps = [(following == n, literal(end, table.c.locked_until.type)) for n, end in ends]
    first = delay(1)
    insert = (postgresql if db.engine.dialect.name == "postgresql" else sqlite).insert(table)
    statement = (
        insert.values(account=key, failures=1, locked_until=now + first if first else None, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.account],
            set_={
                "failures": following,
                "last_failure_at": now,
                "locked_until": case((following < threshold, None), *steps, else_=steps[-1][1]),
            },
        )
        .returning(table.c.locked_until)
    )
    return db.session.scalar(statement)


def locks(now: datetime) -> dict[str, datetime]:
    """Addresses (hashed) locked at `now`, with the end of their delay."""
    rows = db.session.execute(
        select(LoginFailure.account, LoginFailure.locked_until).where(LoginFailure.locked_until > now)
    )
    return {account: until for account, until in rows if until is not None}  # the query keeps set ones


def unlock(actor: User | None, user: User) -> bool:
    """Forget the failures of `user`'s address; True if there were any."""
    removed = cast(
        CursorResult, db.session.execute(delete(LoginFailure).where(LoginFailure.account == account_key(user.email)))
    )
    audit.record(actor, "user.unlock", user)
    return bool(removed.rowcount)


def log_out(user: User) -> None:
    """The user's own logout: every session of theirs ends (see `end_sessions_now`)."""
    end_sessions_now(user, user)


def end_sessions_now(actor: User | None, user: User) -> None:
    """End `user`'s sessions in a transaction of its own, under the write lock taken first. On SQLite a request
    that has read (the user) and then writes fails at once if any other writer committed in between (a plan
    worker's progress, another tab): logging out answered "service momentarily unavailable". Inside a block
    that already holds its locks, call `end_sessions`."""
    with locking.locked([]):
        end_sessions(actor, user)


def unlock_now(actor: User | None, user: User) -> bool:
    """`unlock` in a transaction of its own, under the write lock taken first (as `end_sessions_now`)."""
    with locking.locked([]):
        return unlock(actor, user)


def end_sessions(actor: User | None, user: User) -> None:
    """Every session and remember-me cookie of `user` stops working (their id names the old generation)."""
    db.session.execute(update(User).where(User.id == user.id).values(session_generation=User.session_generation + 1))
    audit.record(actor, "user.sessions_end", user)
