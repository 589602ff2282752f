"""Webhook subscriptions, managed by admins: create, edit, disable, delete, rotate the secret.

A secret is random (`whsec_` + 32 random bytes), shown once (at creation and at each rotation) and
kept as it is, because an HMAC is computed with the key itself (docs/decisions.md, "Webhooks").
A rotation may keep the previous secret valid for OVERLAP: deliveries then carry both signatures,
so that receivers can switch without losing an event.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from calendars import fetch

from ..extensions import db
from ..models import User, WebhookSubscription
from . import audit, calendar_sync, locking
from .errors import Invalid, NotFound
from .webhooks import EVENTS

OVERLAP = timedelta(hours=24)
MAX_URL = 2000


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def hint(secret: str) -> str:
    """What the pages show of a secret after it was given: enough to recognise it, not to use it."""
    return secret[:10] + "…"


def allow_loopback() -> bool:
    """Loopback receivers only where a test (or a local demo) allows it explicitly."""
    return bool(current_app.config.get("WEBHOOK_ALLOW_LOOPBACK", False))


def check_url(url: str) -> str:
    """An https URL of a public host (http only to loopback, where a test allows loopback)."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL:
        raise Invalid(
            _("Donnez l'adresse https:// du destinataire (au plus %(n)d caractères).", n=MAX_URL), code="webhook_url"
        )
    try:
        fetch.check_url(url, allow_loopback())
    except fetch.FetchError as refusal:  # in the reader's language
        raise Invalid(calendar_sync.refusal(refusal), code="webhook_url") from None
    if not url.lower().startswith("https://") and not (allow_loopback() and _loopback(url)):
        raise Invalid(
            _(
                "L'adresse doit commencer par https:// : les événements décrivent vos clients et ne "
                "doivent pas circuler en clair."
            ),
            code="webhook_url",
        )
    return url


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("127.0.0.1", "::1", "localhost")


def check_events(events: list[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        raise Invalid(
            _("Choisissez au moins un type d'événement parmi : %(known)s.", known=", ".join(EVENTS)),
            code="webhook_events",
        )
    return [e for e in EVENTS if e in events]  # the catalogue's order, without repeats


def listing() -> list[WebhookSubscription]:
    return list(db.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def get(subscription_id: int) -> WebhookSubscription:
    subscription = db.session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound(_("Aucun abonnement webhook n°%(id)s.", id=subscription_id), code="webhook_not_found")
    return subscription


def create(actor: User, url: str, events: list[str], description: str = "") -> tuple[WebhookSubscription, str]:
    """A new active subscription; returns it with its secret (the only time it is given whole)."""
    url, events = check_url(url), check_events(events)
    secret = new_secret()
    with locking.locked([]):
        subscription = WebhookSubscription(
            url=url,
            events=events,
            description=description.strip()[:200],
            secret=secret,
            active=True,
            created_by_id=actor.id,
        )
        db.session.add(subscription)
        db.session.flush()
        audit.record(actor, "webhook.create", subscription, url=url, events=events)
    return subscription, secret


def update(
    actor: User,
    subscription_id: int,
    *,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> WebhookSubscription:
    """Change what is given; a disabled subscription gets no new events, and its queued ones wait."""
    url = check_url(url) if url is not None else None
    events = check_events(events) if events is not None else None
    with locking.locked([]):
        subscription = get(subscription_id)
        if url is not None:
            subscription.url = url
        if events is not None:
            subscription.events = events
        if description is not None:
            subscription.description = description.strip()[:200]
        if active is not None:
            subscription.active = active
        audit.record(
            actor,
            "webhook.update",
            subscription,
            url=subscription.url,
            events=subscription.events,
            active=subscription.active,
        )
    return subscription


def delete(actor: User, subscription_id: int) -> None:
    """Remove the subscription and its delivery log (nothing more is sent to it)."""
    with locking.locked([]):
        subscription = get(subscription_id)
        audit.record(actor, "webhook.delete", subscription, url=subscription.url)
        db.session.delete(subscription)


def rotate(actor: User, subscription_id: int, now: datetime, keep_previous: bool) -> tuple[WebhookSubscription, str]:
    """A new secret; the old one still signs for OVERLAP when `keep_previous`, else it stops at once
    (a leaked secret)."""
    secret = new_secret()
    with locking.locked([]):
        subscription = get(subscription_id)
        if keep_previous:
            subscription.previous_secret, subscription.previous_until = subscription.secret, now + OVERLAP
        else:
            subscription.previous_secret = subscription.previous_until = None
        subscription.secret = secret
        audit.record(actor, "webhook.rotate", subscription, overlap=keep_previous)
    return subscription, secret


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one during its overlap."""
    found = [subscription.secret]
    if subscription.previous_secret and subscription.previous_until and now < subscription.previous_until:
        found.append(subscription.previous_secret)
    return found
