"""Personal API tokens: random, shown once, stored as a SHA-256 digest, named, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import joinedload

from calendars.worktime import PARIS

from ..extensions import db
from ..inputs import INT_MAX
from ..models import ApiToken, User
from ..models.types import utcnow
from . import audit, locking, snapshot
from .errors import Invalid, NotFound, ServiceError

PREFIX = "erp_"
TOUCH_EVERY = timedelta(minutes=1)  # last use is written at most this often per token
HEADER_HINT = _l("Envoyez l'en-tête « Authorization: Bearer <jeton> ».")


class TokenRefused(ServiceError):
    """No usable token: missing, unknown, revoked or expired (said which, to its holder only)."""

    status = 401
    code = "token_refused"


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create(user: User, label: str = "", expires_at: datetime | None = None, actor: User | None = None) -> str:
    """Create a token for `user` and return its only clear copy."""
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=digest(raw), label=label.strip(), expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record(actor or user, "api_token.create", token, label=token.label)
    return raw


def create_named(user: User, name: str, days: int | None, now: datetime) -> str:
    """A token made from a form: a name to find it again by, an optional lifetime in days. Written (and
    committed) under the write lock taken first: on SQLite a request that has read (its user) and then writes
    fails at once if another writer committed in between (a plan worker's progress, another tab)."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise Invalid(
            _l("Donnez au jeton un nom de 1 à 80 caractères, pour le reconnaître plus tard."), code="invalid_name"
        )
    if days is not None and not 1 <= days <= 3650:
        raise Invalid(_l("La durée de validité d'un jeton va de 1 à 3650 jours."), code="invalid_lifetime")
    with locking.locked([], reread=False):  # the user is only the owner: nothing here is decided on it
        return create(user, name, now + timedelta(days=days) if days else None)


def of(user: User) -> list[ApiToken]:
    """A user's tokens, newest first, revoked and expired ones included."""
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def owned(user: User, token_id) -> ApiToken:
    """`user`'s token `token_id`; another user's is not found."""
    token = db.session.get(ApiToken, token_id) if str(token_id).isdigit() and int(token_id) <= INT_MAX else None
    if token is None or token.user_id != user.id:
        raise NotFound(_l("Ce jeton n'existe pas ou ne vous appartient pas."), code="token_not_found")
    return token


# Built once: every API call runs it. The company comes in the same query: every call needs it; so does
# the transaction's snapshot (contract version, subscriptions, the company's periods: services.snapshot).
_USER_BY_DIGEST = snapshot.carried(
    select(User, ApiToken.id, ApiToken.revoked_at, ApiToken.expires_at, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest"), User.active.is_(True))
    .options(joinedload(User.company)),
    User.company_id,
)
_TOUCH = (
    update(ApiToken)
    .where(
        ApiToken.id == bindparam("token_id"),
        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < bindparam("since")),
    )
    .values(last_used_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def authenticate(raw: str, now: datetime) -> User:
    """The active user owning this unrevoked, unexpired token; else TokenRefused saying why."""
    today = now.astimezone(PARIS).date()
    rows = db.session.execute(_USER_BY_DIGEST, {"digest": digest(raw), "today": today}).all() if raw else None
    if not rows:
        raise TokenRefused(_l("Jeton d'API manquant ou invalide. %(hint)s", hint=HEADER_HINT), code="token_invalid")
    user, token_id, revoked_at, expires_at, last_used_at = rows[0][:5]
    if revoked_at is not None:
        raise TokenRefused(
            _l(
                "Ce jeton d'API a été révoqué le %(when)s UTC : créez-en un autre dans « Mon compte ». %(hint)s",
                when=f"{revoked_at:%Y-%m-%d %H:%M}",
                hint=HEADER_HINT,
            ),
            code="token_revoked",
        )
    if expires_at is not None and expires_at <= now:
        raise TokenRefused(
            _l(
                "Ce jeton d'API a expiré le %(when)s UTC : créez-en un autre dans « Mon compte ». %(hint)s",
                when=f"{expires_at:%Y-%m-%d %H:%M}",
                hint=HEADER_HINT,
            ),
            code="token_expired",
        )
    if last_used_at is None or last_used_at <= now - TOUCH_EVERY:
        _touch(token_id, now)  # commits: the snapshot read with the user is the ended transaction's
    else:
        snapshot.seed(rows)
    return user


def _touch(token_id: int, now: datetime) -> None:
    """Record the use in a transaction of its own, before the request's work: at most once a minute."""
    session = db.session()
    previous, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()  # ends the read: on SQLite a read cannot become a write once another has committed
        session.execute(_TOUCH, {"token_id": token_id, "since": now - TOUCH_EVERY, "now": now})
        session.commit()
    finally:
        session.expire_on_commit = previous


def revoke(token: ApiToken, actor: User | None = None) -> None:
    """The token stops working at once; revoking it again changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(actor, "api_token.revoke", token)


def revoke_once(token: ApiToken, actor: User | None) -> bool:
    """Revoke from a page, re-read under the lock (committed): False if it was revoked meanwhile (two tabs
    confirming at once), so that one revocation is recorded and said."""
    with locking.locked([]):
        if token.revoked_at is not None:
            return False
        revoke(token, actor)
    return True


def find(ident: str, email: str | None = None) -> ApiToken:
    """A token by id, or by name (of `email`'s tokens when given): exactly one, else a clear refusal."""
    query = select(ApiToken).join(User, User.id == ApiToken.user_id)
    if ident.isdigit() and int(ident) <= INT_MAX:
        query = query.where(or_(ApiToken.id == int(ident), ApiToken.label == ident))
    else:
        query = query.where(ApiToken.label == ident)
    if email:
        query = query.where(func.lower(User.email) == email.strip().lower())
    found = db.session.scalars(query.where(ApiToken.revoked_at.is_(None))).all()
    if not found:
        raise NotFound(
            _l("Aucun jeton actif « %(name)s » pour %(email)s.", name=ident, email=email)
            if email
            else _l("Aucun jeton actif « %(name)s ».", name=ident),
            code="token_not_found",
        )
    if len(found) > 1:
        listed = ", ".join(f"n° {t.id} ({t.user.email})" for t in found)
        raise Invalid(
            _l(
                "Plusieurs jetons actifs s'appellent « %(name)s » : %(listed)s. Indiquez le numéro.",
                name=ident,
                listed=listed,
            ),
            code="token_ambiguous",
        )
    return found[0]
