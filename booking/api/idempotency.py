"""Idempotency-Key: a repeated POST with the same key returns the first answer instead of acting twice.

The key is claimed first (committed, so a concurrent twin sees it); the answer is written in the very
transaction of the work it reports (locking.holding_commit / finishing), so after a crash either both
exist or neither. A claim whose request died is taken over by a retry once its lease has run out, and
`attempt` fences the late one: an answer is written only by the request that holds the claim.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import IdempotentRequest
from ..models.types import utcnow
from ..services import locking
from ..services.errors import ServiceError
from .problems import MEDIA_TYPE, problem

PENDING = 0
DEFAULT_LEASE = 10.0


@dataclass(frozen=True)
class _Claim:
    id: int
    attempt: int


class _TakenOver(Exception):
    """A retry took the claim while this request was still running: its work is undone."""


class _Unanswered(Exception):
    """A server-side failure answered without raising: not an answer to keep for the key."""

    def __init__(self, response):
        super().__init__(response.status_code)
        self.response = response


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """The request as it acts: method, path, query (cancel's `acknowledged`) and body, a JSON body in its canonical
    form (a retry may order its keys or space them otherwise: the same request all the same)."""
    return _digest(method, path, query, canonical(body))


def canonical(body: bytes) -> bytes:
    """A JSON body parsed and written again with sorted keys and fixed separators; any other body as it came."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not JSON (or empty): its bytes are all there is to compare
        return body
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _digest(method: str, path: str, query: bytes, body: bytes) -> str:
    return hashlib.sha256(b"\n".join((method.encode(), path.encode(), query, body))).hexdigest()


def _fingerprint() -> str:
    return fingerprint(request.method, request.path, request.query_string, request.get_data())


def _same_request(saved: IdempotentRequest) -> bool:
    """The saved key's request is this one: by the canonical body, or by its bytes (the fingerprint of a key
    claimed before bodies were made canonical)."""
    raw = _digest(request.method, request.path, request.query_string, request.get_data())
    return saved.fingerprint in (_fingerprint(), raw)


def _lease() -> timedelta:
    return timedelta(seconds=float(current_app.config.get("IDEMPOTENCY_LEASE_SECONDS", DEFAULT_LEASE)))


def _load(user_id: int, key: str) -> IdempotentRequest | None:
    return db.session.scalar(
        select(IdempotentRequest)
        .where(IdempotentRequest.user_id == user_id, IdempotentRequest.key == key)
        .execution_options(populate_existing=True)
    )


def _in_progress(seconds: float):
    response = problem(
        409,
        _("Une requête avec cette clé Idempotency-Key est encore en cours : réessayez dans un instant."),
        code="idempotency_in_progress",
    )
    response.headers["Retry-After"] = str(max(1, math.ceil(seconds)))
    return response


def _replay(saved: IdempotentRequest):
    response = jsonify(saved.body)
    response.status_code = saved.status
    if saved.status >= 400:
        response.mimetype = MEDIA_TYPE
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _fenced(claim_id: int, attempt: int):
    """An update of a pending claim that applies only while `attempt` still holds it."""
    return (
        update(IdempotentRequest)
        .where(
            IdempotentRequest.id == claim_id, IdempotentRequest.attempt == attempt, IdempotentRequest.status == PENDING
        )
        .execution_options(synchronize_session=False)
    )


def _claim(user_id: int, key: str, now: datetime):
    """Claim the key (new, or pending with its lease run out): a _Claim, or the answer to give instead."""
    saved = _load(user_id, key)
    if saved is None:
        claim = IdempotentRequest(
            user_id=user_id, key=key, fingerprint=_fingerprint(), status=PENDING, body={}, claimed_at=now, attempt=0
        )
        try:
            with locking.locked([]):
                db.session.add(claim)
            return _Claim(claim.id, claim.attempt)
        except IntegrityError:  # a twin claimed it first
            saved = _load(user_id, key)
    if not _same_request(saved):
        return problem(
            422,
            _("Cette clé Idempotency-Key a déjà servi pour une autre requête : utilisez-en une nouvelle."),
            code="idempotency_key_reused",
        )
    if saved.status != PENDING:
        return _replay(saved)
    if saved.claimed_at is not None and saved.claimed_at + _lease() > now:
        return _in_progress((saved.claimed_at + _lease() - now).total_seconds())
    claim = _Claim(saved.id, saved.attempt + 1)
    with locking.locked([]):  # the claim's request died (or gave up): take it over, if no one else did first
        taken = db.session.execute(_fenced(saved.id, saved.attempt).values(attempt=claim.attempt, claimed_at=now))
    return claim if taken.rowcount else _settled(user_id, key)


def _settled(user_id: int, key: str):
    """The key as another request left it: its answer, or still in progress."""
    saved = _load(user_id, key)
    return _replay(saved) if saved.status != PENDING else _in_progress(_lease().total_seconds())


def _store(claim: _Claim, response) -> None:
    """Write the answer, in the transaction of the work (finishing), if this request still holds the claim."""
    stored = db.session.execute(
        _fenced(claim.id, claim.attempt).values(status=response.status_code, body=response.get_json())
    )
    if not stored.rowcount:
        raise _TakenOver


def _release(claim: _Claim) -> None:
    """The request failed and nothing was kept: a retry may take the key over at once."""
    try:
        with locking.locked([]):
            db.session.execute(_fenced(claim.id, claim.attempt).values(claimed_at=None))
    except Exception:  # the database is away (the error being raised says so): the lease frees it later
        db.session.rollback()


def _answered_with_the_work(view, *args, **kwargs):
    """The view's answer is built before its work commits, inside the same transaction: the booking's cost,
    read back for the answer, costs no second transaction. An answer of 500 or more rolls the work back, as
    under a key."""
    try:
        with locking.holding_commit():
            response = view(*args, **kwargs)
            if response.status_code >= 500:
                raise _Unanswered(response)
    except _Unanswered as unanswered:
        return unanswered.response
    locking.commit_held()
    return response


def idempotent(view):
    """Claim the key, act, and write the answer with the work in one commit; repeats get that answer."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return _answered_with_the_work(view, *args, **kwargs)
        if len(key) > 200:
            return problem(
                400,
                _("L'en-tête Idempotency-Key dépasse 200 caractères."),
                code="idempotency_key_too_long",
            )
        user_id = g.api_user.id
        claim = _claim(user_id, key, utcnow())
        if not isinstance(claim, _Claim):
            return claim
        try:
            with locking.holding_commit():
                try:
                    response = view(*args, **kwargs)
                except ServiceError as error:
                    response = problem(error.status, error.message, code=error.code)
                if response.status_code >= 500:
                    raise _Unanswered(response)  # rolls back whatever it did
            with locking.finishing():
                _store(claim, response)
        except _TakenOver:
            return _settled(user_id, key)
        except _Unanswered as unanswered:
            _release(claim)
            return unanswered.response
        except BaseException:
            _release(claim)
            raise
        return response

    return wrapped
