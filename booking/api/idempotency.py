"""Idempotency-Key: a repeated POST with the same key returns the first answer instead of acting twice."""
from __future__ import annotations

import hashlib
from functools import wraps

from flask import g, jsonify, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import IdempotentRequest
from ..services import locking
from ..services.errors import ServiceError
from .problems import MEDIA_TYPE, problem

PENDING = 0


def _fingerprint() -> str:
    return hashlib.sha256(request.method.encode() + request.path.encode() + request.get_data()).hexdigest()


def _replay(saved: IdempotentRequest):
    if saved.fingerprint != _fingerprint():
        return problem(422, "Cette clé Idempotency-Key a déjà servi pour une autre requête : utilisez-en une nouvelle.")
    if saved.status == PENDING:
        return problem(409, "Une requête avec cette clé Idempotency-Key est encore en cours : réessayez dans un instant.")
    response = jsonify(saved.body)
    response.status_code = saved.status
    if saved.status >= 400:
        response.mimetype = MEDIA_TYPE
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view):
    """Claim the key (committed first, so a concurrent twin sees it), act, then store the answer."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return view(*args, **kwargs)
        if len(key) > 200:
            return problem(400, "L'en-tête Idempotency-Key dépasse 200 caractères.")
        user_id = g.api_user.id
        saved = db.session.scalar(select(IdempotentRequest).where(
            IdempotentRequest.user_id == user_id, IdempotentRequest.key == key))
        if saved is not None:
            return _replay(saved)
        claim = IdempotentRequest(user_id=user_id, key=key, fingerprint=_fingerprint(), status=PENDING, body={})
        try:
            with locking.locked([]):
                db.session.add(claim)
        except IntegrityError:
            return _replay(db.session.scalar(select(IdempotentRequest).where(
                IdempotentRequest.user_id == user_id, IdempotentRequest.key == key)))
        try:
            response = view(*args, **kwargs)
        except ServiceError as error:
            response = problem(error.status, error.message)
        except BaseException:
            db.session.rollback()
            with locking.locked([]):
                db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.id == claim.id))
            raise
        with locking.locked([]):
            claim = db.session.get(IdempotentRequest, claim.id)
            claim.status, claim.body = response.status_code, response.get_json()
        return response

    return wrapped
