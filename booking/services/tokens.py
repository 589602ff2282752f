"""Personal API tokens: random, shown once, stored as a SHA-256 digest, revocable."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import ApiToken, User
from ..models.types import utcnow
from . import audit

PREFIX = "erp_"


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create(user: User, label: str = "") -> str:
    """Create a token for `user` and return its only clear copy."""
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=digest(raw), label=label)
    db.session.add(token)
    db.session.flush()
    audit.record(user, "api_token.create", token, label=label)
    return raw


# Built once: every API call runs it. The company comes in the same query: every call needs it.
_USER_BY_DIGEST = (select(User).join(ApiToken, ApiToken.user_id == User.id)
                   .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None), User.active.is_(True))
                   .options(joinedload(User.company)))


def user_for(raw: str) -> User | None:
    """The active user owning an unrevoked token, or None."""
    return db.session.scalar(_USER_BY_DIGEST, {"digest": digest(raw)})


def revoke(token: ApiToken, actor: User | None = None) -> None:
    token.revoked_at = utcnow()
    audit.record(actor, "api_token.revoke", token)
