"""Webhook deliveries, sent by the scheduler (never from a request): `deliver` claims what is due,
POSTs each body with its signature through the safe fetcher (public addresses only, one deadline,
bounded read, no redirect followed), and writes each outcome as soon as it is known.

At least once, never lost: the attempt is counted when the row is claimed, so a scheduler that dies
mid-send retries it after its back-off with the same body and `id` (receivers drop a repeated id).
A 2xx answer is a delivery; anything else is retried after 1, 2, 4 … 256 minutes (about eight and a
half hours in all), then the delivery is marked failed, logged, and listed for an admin to redeliver.

An attempt the network cut off stores why as a note (calendars.importer.Note: a code and its parameters, as JSON in
`error`), which pages and the API say in the reader's language (`error_sentence`); a row stored before as a French
sentence is shown as it was written.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, select, update

from calendars import fetch
from calendars.importer import MESSAGES, Note

from ..extensions import db
from ..models import WebhookDelivery, WebhookSubscription
from ..models.types import utcnow
from . import calendar_sync, locking, webhook_subscriptions, webhooks
from .errors import NotFound

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BATCH = 200
PAGE_SIZE = 50
USER_AGENT = "ERP-Lib-Planner/1 (webhooks)"
INTERRUPTED = "interrupted"  # the last attempt was cut off (the scheduler stopped while sending)
ERROR_LENGTH = 300  # webhook_deliveries.error's length

_OPEN = and_(WebhookDelivery.delivered_at.is_(None), WebhookDelivery.failed_at.is_(None))
STATUSES = {
    "pending": _OPEN,
    "delivered": WebhookDelivery.delivered_at.is_not(None),
    "failed": WebhookDelivery.failed_at.is_not(None),
}


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=2 ** (attempts - 1))


@dataclass(frozen=True)
class _Claimed:
    """What one attempt needs, read under the claim (the job then works without the session's objects)."""

    id: int
    subscription_id: int
    url: str
    secrets: tuple[str, ...]
    event_id: str
    event_type: str
    body: bytes
    attempts: int
    next_attempt_at: datetime


def _policy() -> fetch.Policy:
    config = current_app.config
    return fetch.Policy(
        allow_loopback=webhook_subscriptions.allow_loopback(),
        deadline=float(config.get("WEBHOOK_TIMEOUT_SECONDS", 10)),
        max_redirects=0,
    )


def _sweep(now: datetime) -> None:
    """Deliveries whose last attempt was cut off (a crash while sending) are given up once it is due."""
    with locking.locked([], reread=False):
        for delivery in db.session.scalars(
            select(WebhookDelivery)
            .where(_OPEN, WebhookDelivery.attempts >= MAX_ATTEMPTS, WebhookDelivery.next_attempt_at <= now)
            .with_for_update(skip_locked=True)
        ).all():
            delivery.error = delivery.error or INTERRUPTED
            _give_up(delivery, now)


def _give_up(delivery: WebhookDelivery, now: datetime) -> None:
    delivery.failed_at, delivery.next_attempt_at = now, None
    log.error(
        "webhook delivery %d (%s, subscription %d) given up after %d attempt(s): %s (redeliver it from "
        "the subscription's delivery log once the receiver is fixed)",
        delivery.id,
        delivery.event_id,
        delivery.subscription_id,
        delivery.attempts,
        _in_french(delivery.error),
    )


def _claim(now: datetime) -> list[_Claimed]:
    """Take the due deliveries of active subscriptions, counting their attempt before sending."""
    with locking.locked([], reread=False):
        rows = db.session.execute(
            select(WebhookDelivery, WebhookSubscription)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(
                _OPEN,
                WebhookSubscription.active.is_(True),
                WebhookDelivery.attempts < MAX_ATTEMPTS,
                WebhookDelivery.next_attempt_at <= now,
            )
            .order_by(WebhookDelivery.subscription_id, WebhookDelivery.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        ).all()
        claimed = []
        for delivery, subscription in rows:
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            claimed.append(
                _Claimed(
                    delivery.id,
                    subscription.id,
                    subscription.url,
                    tuple(webhook_subscriptions.signing_secrets(subscription, now)),
                    delivery.event_id,
                    delivery.event_type,
                    delivery.body.encode(),
                    delivery.attempts,
                    delivery.next_attempt_at,
                )
            )
    return claimed


def _stored(error: Note | str) -> str:
    """What `error` keeps of a failure: a note's JSON, its host shortened (with « … ») when the whole would not fit
    (a host may be as long as the subscription's address allows; the page's heading shows that address whole)."""
    if isinstance(error, str):  # a failure without a note (none is raised today): its French sentence
        return error[:ERROR_LENGTH]
    data, detail = error.to_json(), error.detail
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    while len(text) > ERROR_LENGTH and detail:
        detail = detail[: max(len(detail) - (len(text) - ERROR_LENGTH) - 1, 0)]
        text = json.dumps({**data, "detail": detail + "…"}, ensure_ascii=False, separators=(",", ":"))
    return text


def _note(error: str) -> Note | None:
    """The note a stored `error` holds; None for a French sentence stored before notes (or anything else)."""
    if not error.startswith("{"):
        return None
    try:
        note = Note.from_json(json.loads(error))
    except (ValueError, TypeError):
        return None
    return note if note.code in MESSAGES else None


def _in_french(error: str) -> str:
    """For the log: a note in French (its `str`), anything else as stored."""
    note = _note(error)
    return str(note) if note else error


def error_sentence(delivery: WebhookDelivery) -> str:
    """Why the last attempt failed, in the reader's language (pages and the API): a note translated, an attempt cut
    off said so, a French sentence stored before notes as it was written; empty when nothing failed."""
    if not delivery.error:
        return ""
    if delivery.error == INTERRUPTED:
        return _("Dernière tentative interrompue (planificateur arrêté pendant l'envoi).")
    note = _note(delivery.error)
    return calendar_sync.sentence(note) if note else delivery.error


def _settle(item: _Claimed, now: datetime, status: int | None, error: Note | str = "") -> None:
    """Write one attempt's outcome in a transaction of its own, at once."""
    with locking.locked([], reread=False):
        delivery = db.session.get(WebhookDelivery, item.id, with_for_update=True)
        if delivery is None or delivery.delivered_at is not None:  # deleted meanwhile, or delivered twice
            return
        delivery.response_code = status
        if status is not None and 200 <= status < 300:
            delivery.delivered_at, delivery.next_attempt_at, delivery.error = now, None, ""
            return
        # an answer that is not 2xx is its code alone; a failure, its note (pages say both in their language)
        delivery.error = _stored(error) if error else ""
        if delivery.attempts >= MAX_ATTEMPTS:
            _give_up(delivery, now)


def _release(items: list[_Claimed], until: datetime) -> None:
    """Claimed deliveries not attempted (their receiver just failed): the attempt is given back and they
    wait as long as the one that failed, rather than each costing the scheduler a whole deadline."""
    if items:
        with locking.locked([], reread=False):
            db.session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_([i.id for i in items]), _OPEN)
                .values(attempts=WebhookDelivery.attempts - 1, next_attempt_at=until)
            )


def _headers(item: _Claimed) -> dict[str, str]:
    stamp = int(utcnow().timestamp())  # the receiver's clock judges it: the wall clock, not the job's `now`
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        webhooks.ID_HEADER: item.event_id,
        webhooks.EVENT_HEADER: item.event_type,
        webhooks.SIGNATURE_HEADER: webhooks.sign(list(item.secrets), stamp, item.body),
    }


def deliver(now: datetime) -> int:
    """Send what is due (scheduler job); returns how many were delivered."""
    _sweep(now)
    claimed, delivered, policy = _claim(now), 0, _policy()
    for _subscription, group in groupby(claimed, key=lambda item: item.subscription_id):
        items = list(group)
        for position, item in enumerate(items):
            try:
                status = fetch.post(item.url, item.body, _headers(item), policy=policy)
            except fetch.FetchError as refusal:  # unreachable: the rest of this receiver's batch waits
                _settle(item, now, None, refusal.note or str(refusal))
                _release(items[position + 1 :], item.next_attempt_at)
                break
            _settle(item, now, status)
            delivered += 200 <= status < 300
    return delivered


@dataclass
class Page:
    items: list[WebhookDelivery]
    number: int
    pages: int
    total: int


def log_page(subscription_id: int, number: int, status: str | None = None) -> Page:
    """One page of a subscription's delivery log, newest first."""
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status:
        query = query.where(STATUSES[status])
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    pages = max(-(-total // PAGE_SIZE), 1)
    number = min(max(number, 1), pages)
    items = list(
        db.session.scalars(query.order_by(WebhookDelivery.id.desc()).offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    )
    return Page(items, number, pages, total)


def status_of(delivery: WebhookDelivery) -> str:
    return "delivered" if delivery.delivered_at else "failed" if delivery.failed_at else "pending"


def counts() -> dict[int, dict[str, int]]:
    """Per subscription: how many deliveries are pending, delivered, failed (one statement)."""
    rows = db.session.execute(
        select(
            WebhookDelivery.subscription_id,
            *(
                func.coalesce(func.sum(case((condition, 1), else_=0)), 0).label(status)
                for status, condition in STATUSES.items()
            ),
        ).group_by(WebhookDelivery.subscription_id)
    ).all()
    return {row.subscription_id: {status: getattr(row, status) for status in STATUSES} for row in rows}


def redeliver(subscription_id: int, delivery_id: int, now: datetime) -> WebhookDelivery:
    """Send this delivery again with the next run: the same body and `id`, its attempts anew."""
    with locking.locked([]):
        delivery = db.session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.subscription_id != subscription_id:
            raise NotFound(
                _("Aucun envoi n°%(id)s pour cet abonnement.", id=delivery_id), code="webhook_delivery_not_found"
            )
        delivery.delivered_at = delivery.failed_at = None
        delivery.attempts, delivery.next_attempt_at, delivery.error = 0, now, ""
    return delivery
