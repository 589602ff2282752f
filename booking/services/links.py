"""Links in booking mails (see, reschedule, cancel the booking), like Calendly's: signed so that nobody
can forge one for another booking, expiring (MAX_AGE, or the booking's start if sooner), and only a way
in: following one still needs a login, and the page it leads to applies its own access rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin

from ..models import Booking
from ..models.types import utcnow

PURPOSES = ("voir", "deplacer", "annuler")  # the URL's words, French like the portal's
MAX_AGE = timedelta(days=30)


class LinkRefused(Exception):
    """`expired` says whether the link was genuine but too old (else it was damaged or forged)."""

    def __init__(self, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return _signer(current_app.config["SECRET_KEY"], purpose)


class _LinkSerializer(URLSafeTimedSerializer):
    """The library's serializer, without its attempt to zlib-compress the payload: a link's few bytes of JSON
    seldom come out shorter, and setting up the compressor was most of a link's cost. Reading stays the
    library's own code, which takes compressed tokens (links already sent) and these alike."""

    def dump_payload(self, obj) -> bytes:
        return base64_encode(super(URLSafeSerializerMixin, self).dump_payload(obj))


@lru_cache(maxsize=16)
def _signer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    # a salt per purpose: a "see" link cannot be turned into a "cancel" one by editing the URL. Built once
    # per key and purpose: a booking's mail signs three links, and building the signer costs more than signing.
    return _LinkSerializer(secret, salt=f"booking-link-{purpose}")


def url(booking: Booking, purpose: str, now: datetime | None = None) -> str:
    """The absolute link (PUBLIC_URL) for one purpose; it expires at the sooner of MAX_AGE and the start."""
    now = now or utcnow()
    until = min(now + MAX_AGE, booking.start_at) if purpose != "voir" else now + MAX_AGE
    token = _serializer(purpose).dumps({"b": booking.id, "e": int(until.timestamp())})
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/lien/{purpose}/{token}"


def read(purpose: str, token: str, now: datetime | None = None) -> int:
    """The booking id a genuine, unexpired link names; LinkRefused otherwise."""
    if purpose not in PURPOSES:
        raise LinkRefused(expired=False)
    now = now or utcnow()
    try:
        data = _serializer(purpose).loads(token, max_age=int(MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise LinkRefused(expired=True) from None
    except BadSignature:
        raise LinkRefused(expired=False) from None
    if not isinstance(data, dict) or not isinstance(data.get("b"), int) or not isinstance(data.get("e"), int):
        raise LinkRefused(expired=False)
    if data["e"] <= now.timestamp():
        raise LinkRefused(expired=True)
    return data["b"]
