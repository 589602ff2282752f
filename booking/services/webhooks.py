"""Webhook events: which audited changes are announced, the JSON body each delivery carries, and its
signature. `emit` runs inside the transaction of the change (called by `audit.record`): it inserts one
delivery row per active subscription to the event's type, so that an event exists if and only if its
change committed (a transactional outbox). Nothing here speaks HTTP: `webhook_delivery` sends the rows
from the scheduler.

Body (documented in the OpenAPI document's `webhooks` section):
    {"id": "evt_…", "type": "booking.created", "created_at": "2026-12-07T09:00:00Z", "api_version": "v1",
     "data": {"object": "booking", …}}
Signature header: `ERPLib-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`, with
a second v1= while a rotated secret's overlap lasts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import Booking, Company, PriorityRequest, ReshufflePlan, WebhookDelivery, WebhookSubscription
from ..models.types import utcnow
from . import snapshot

API_VERSION = "v1"
SIGNATURE_HEADER = "ERPLib-Signature"
EVENT_HEADER = "ERPLib-Event"
ID_HEADER = "ERPLib-Webhook-Id"

# Every event type a subscription may choose, in the order the pages list them.
EVENTS = {
    "booking.created": _l("Rendez-vous réservé (ferme)"),
    "booking.rescheduled": _l("Rendez-vous déplacé"),
    "booking.cancelled": _l("Rendez-vous annulé"),
    "booking.completed": _l("Rendez-vous réalisé"),
    "booking.no_show": _l("Client absent au rendez-vous"),
    "callback.at_risk": _l("Rappel en retard sur l'engagement de prise en charge"),
    "booking.prerequisites_missing": _l("Intervention arrêtée faute de prérequis"),
    "plan.applied": _l("Plan de réorganisation appliqué"),
    "hour_bank.low": _l("Banque d'heures bientôt épuisée"),
    "hour_bank.exhausted": _l("Banque d'heures épuisée"),
    "quote.waiting": _l("Devis de conseil prioritaire en attente du client"),
}

# Audit action → event type. A hold is not announced (it lapses within minutes unless confirmed):
# booking.created is sent when a booking becomes firm, at once or when its hold is confirmed, and for
# the bookings a priority plan creates. A booking a plan moves is rescheduled like any other.
ACTIONS = {
    "booking.confirm": "booking.created",
    "booking.priority": "booking.created",
    "booking.reschedule": "booking.rescheduled",
    "booking.reshuffle": "booking.rescheduled",
    "booking.cancel": "booking.cancelled",
    "booking.completed": "booking.completed",
    "booking.no_show": "booking.no_show",
    "booking.callback_at_risk": "callback.at_risk",
    "booking.prerequisites_missing": "booking.prerequisites_missing",
    "reshuffle.apply": "plan.applied",
    "hour_bank.low": "hour_bank.low",
    "hour_bank.exhausted": "hour_bank.exhausted",
    "priority.quote_ready": "quote.waiting",
}

_INSERT = WebhookDelivery.__table__.insert()


def _instant(value: datetime | None) -> str | None:
    """An instant in UTC, ISO 8601 with Z (the same shape in every body)."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _booking(booking: Booking, details: dict) -> dict:
    previous = details.get("before")
    return {
        "object": "booking",
        "id": booking.id,
        "kind": booking.kind,
        "status": booking.status,
        "start": _instant(booking.start_at),
        "end": _instant(booking.end_at),
        "consultant_id": booking.consultant_id,
        "company_id": booking.company_id,
        "ticket": booking.ticket.reference if booking.ticket_id and booking.ticket else None,
        "sequence": booking.sequence,
        "previous_start": previous[0] if isinstance(previous, (list, tuple)) else None,
        "deadline": details.get("deadline"),
    }


def _hour_bank(company: Company, details: dict) -> dict:
    return {
        "object": "hour_bank",
        "company_id": company.id,
        "contract_year_start": details.get("contract_year"),
        "balance_minutes": details.get("balance_minutes"),
    }


def _request(request: PriorityRequest, details: dict) -> dict:
    return {
        "object": "priority_request",
        "id": request.id,
        "company_id": request.company_id,
        "status": request.status,
        "skill": request.skill,
        "quote_eur": None if request.quote_eur is None else round(float(request.quote_eur), 2),
        "quote_valid_until": _instant(request.quote_valid_until),
        "plan_id": details.get("plan"),
    }


def _plan(plan: ReshufflePlan, details: dict) -> dict:
    return {
        "object": "plan",
        "id": plan.id,
        "kind": plan.kind,
        "status": plan.status,
        "request_id": plan.request_id,
        "moved": details.get("moved", 0),
    }


_DATA = {Booking: _booking, Company: _hour_bank, PriorityRequest: _request, ReshufflePlan: _plan}


def payload(event_id: str, event_type: str, created_at: datetime, data: dict) -> str:
    """The body, serialised once: its bytes are what is signed and sent at every attempt."""
    return json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "created_at": _instant(created_at),
            "api_version": API_VERSION,
            "data": data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def emit(action: str, obj, details: dict) -> int:
    """Queue the event of this audited change for every active subscription to it, in the caller's
    transaction; returns how many deliveries were queued."""
    event_type = ACTIONS.get(action)
    if event_type is None or type(obj) not in _DATA:
        return 0
    current = snapshot.read()
    known = current.subscriptions  # None: some are active (an API request's snapshot says no more)
    if known is not None and not any(event_type in events for _, events in known):
        return 0  # the common case, answered by the transaction's snapshot without a statement of its own
    # Read again, now: the snapshot may be older than the caller's locks (a booking reads it before them), and a
    # subscription deleted or disabled meanwhile must get nothing (a deleted one would fail the whole change).
    active = tuple(
        (sid, tuple(events or ()))
        for sid, events in db.session.execute(
            select(WebhookSubscription.id, WebhookSubscription.events).where(WebhookSubscription.active.is_(True))
        )
    )
    if known is None:  # the rest of the transaction knows them: its other events wanted by none cost nothing
        current.subscriptions = active
    targets = [sid for sid, events in active if event_type in events]
    if not targets:
        return 0
    now, event_id = utcnow(), f"evt_{uuid.uuid4().hex}"
    body = payload(event_id, event_type, now, _DATA[type(obj)](obj, details))
    # Written at once, not appended for later: the insert's foreign-key check holds the subscriptions just read
    # until the commit, so one deleted meanwhile waits for this change instead of failing it.
    db.session.execute(
        _INSERT,
        [
            {
                "subscription_id": sid,
                "event_id": event_id,
                "event_type": event_type,
                "body": body,
                "created_at": now,
                "next_attempt_at": now,
            }
            for sid in targets
        ],
    )
    return len(targets)


def sign(secrets: list[str], timestamp: int, body: bytes) -> str:
    """The signature header's value: t=…, then one v1= per secret still valid."""
    signed = f"{timestamp}.".encode() + body
    return ",".join(
        [f"t={timestamp}"]
        + [f"v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}" for secret in secrets]
    )
