"""Webhook subscriptions for admins under /api/v1/webhooks, and the `webhooks` section of the OpenAPI
document: one entry per event type, with the body's schema and the signature header (docs/webhooks.md
shows how receivers verify it, in Python and with curl/openssl)."""

from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..inputs import INT_MAX
from ..models.types import utcnow
from ..services import webhook_delivery, webhooks
from ..services import webhook_subscriptions as subs
from .auth import token_required
from .schemas import JsonBoolean

blp = Blueprint("webhooks_api", __name__, url_prefix="/api/v1", description="Webhooks signés (admins)")
SECURITY = [{"bearer": []}]
ERRORS = {
    400: "Requête illisible (caractère nul, JSON mal formé, nombre ou date hors bornes)",
    401: "Jeton manquant ou invalide",
    403: "Rôle insuffisant (admins seulement)",
    404: "Introuvable",
    422: "Requête invalide (adresse refusée, événement inconnu)",
}
EVENT_TYPES = list(webhooks.EVENTS)


def errors(*codes):
    """Document problem+json answers; every route may answer 400 (the input screen reads every request)."""

    def decorator(view):
        for code in sorted({400, *codes}):
            view = blp.alt_response(
                code, schema="ProblemSchema", description=ERRORS[code], content_type="application/problem+json"
            )(view)
        return view

    return decorator


class SubscriptionSchema(Schema):
    id = fields.Integer(dump_only=True)
    url = fields.String(metadata={"description": "https:// address of a public server (no internal address)"})
    description = fields.String()
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)))
    active = fields.Boolean()
    secret_hint = fields.Function(
        lambda s: subs.hint(s.secret),
        dump_only=True,
        metadata={"description": "the secret's first characters (it is given whole once)"},
    )
    previous_secret_until = fields.DateTime(attribute="previous_until", dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class SubscriptionInSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(max=subs.MAX_URL))
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENT_TYPES) * 2),
    )
    description = fields.String(load_default="", validate=validate.Length(max=200))


class SubscriptionPatchSchema(Schema):
    url = fields.String(validate=validate.Length(max=subs.MAX_URL))
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)), validate=validate.Length(min=1, max=len(EVENT_TYPES) * 2)
    )
    description = fields.String(validate=validate.Length(max=200))
    active = JsonBoolean()


class WithSecretSchema(SubscriptionSchema):
    secret = fields.String(
        attribute="given_secret", metadata={"description": "the signing secret, shown this once: keep it now"}
    )


class RotateSchema(Schema):
    keep_previous = JsonBoolean(
        load_default=True,
        metadata={
            "description": f"the previous secret still signs for {int(subs.OVERLAP.total_seconds() // 3600)} h "
            "(false: it stops at once, for a leaked secret)"
        },
    )


class DeliverySchema(Schema):
    id = fields.Integer()
    event_id = fields.String()
    event_type = fields.String()
    status = fields.Function(webhook_delivery.status_of, metadata={"enum": ["pending", "delivered", "failed"]})
    attempts = fields.Integer()
    response_code = fields.Integer(allow_none=True)
    error = fields.Function(
        webhook_delivery.error_sentence,
        metadata={"type": "string", "description": "why the last attempt failed, in the reader's language"},
    )
    created_at = fields.DateTime()
    last_attempt_at = fields.DateTime(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


class DeliveryQuery(Schema):
    status = fields.String(validate=validate.OneOf(list(webhook_delivery.STATUSES)))
    page = fields.Integer(load_default=1, validate=validate.Range(1, INT_MAX))


@blp.route("/webhooks")
@token_required("admin")
@blp.response(200, SubscriptionSchema(many=True))
@errors(401, 403)
@blp.doc(security=SECURITY)
def list_webhooks():
    """Every webhook subscription."""
    return subs.listing()


@blp.route("/webhooks", methods=["POST"])
@token_required("admin")
@blp.arguments(SubscriptionInSchema())
@blp.response(201, WithSecretSchema())
@errors(401, 403, 422)
@blp.doc(security=SECURITY)
def create_webhook(data):
    """Subscribe a URL to event types; the answer carries the signing secret, this once."""
    subscription, secret = subs.create(g.api_user, data["url"], data["events"], data["description"])
    subscription.given_secret = secret  # on this answer only: never stored under this name
    return subscription, {"Cache-Control": "no-store"}


@blp.route("/webhooks/<int:subscription_id>")
@token_required("admin")
@blp.response(200, SubscriptionSchema())
@errors(401, 403, 404)
@blp.doc(security=SECURITY)
def get_webhook(subscription_id: int):
    """One subscription (its secret is never given again: rotate it to get a new one)."""
    return subs.get(subscription_id)


@blp.route("/webhooks/<int:subscription_id>", methods=["PATCH"])
@token_required("admin")
@blp.arguments(SubscriptionPatchSchema())
@blp.response(200, SubscriptionSchema())
@errors(401, 403, 404, 422)
@blp.doc(security=SECURITY)
def update_webhook(data, subscription_id: int):
    """Change the URL, the events, the description, or disable (active: false) and enable again."""
    return subs.update(g.api_user, subscription_id, **data)


@blp.route("/webhooks/<int:subscription_id>", methods=["DELETE"])
@token_required("admin")
@blp.response(204)
@errors(401, 403, 404)
@blp.doc(security=SECURITY)
def delete_webhook(subscription_id: int):
    """Delete the subscription and its delivery log."""
    subs.delete(g.api_user, subscription_id)


@blp.route("/webhooks/<int:subscription_id>/rotate", methods=["POST"])
@token_required("admin")
@blp.arguments(RotateSchema())
@blp.response(200, WithSecretSchema())
@errors(401, 403, 404)
@blp.doc(security=SECURITY)
def rotate_webhook_secret(data, subscription_id: int):
    """A new signing secret, given this once; the previous one signs too during the overlap."""
    subscription, secret = subs.rotate(g.api_user, subscription_id, utcnow(), data["keep_previous"])
    subscription.given_secret = secret  # on this answer only: never stored under this name
    return subscription, {"Cache-Control": "no-store"}


@blp.route("/webhooks/<int:subscription_id>/deliveries")
@token_required("admin")
@blp.arguments(DeliveryQuery(), location="query")
@blp.response(200, DeliverySchema(many=True))
@errors(401, 403, 404, 422)
@blp.doc(security=SECURITY)
def list_webhook_deliveries(query, subscription_id: int):
    """The delivery log, newest first, 50 a page."""
    subs.get(subscription_id)
    return webhook_delivery.log_page(subscription_id, query["page"], query.get("status")).items


@blp.route("/webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@token_required("admin")
@blp.response(202, DeliverySchema())
@errors(401, 403, 404)
@blp.doc(security=SECURITY)
def redeliver_webhook(subscription_id: int, delivery_id: int):
    """Send a delivery again with the next scheduler run: the same body and `id`."""
    return webhook_delivery.redeliver(subscription_id, delivery_id, utcnow())


# The OpenAPI document's `webhooks` section (OpenAPI 3.1): what each event type POSTs to a subscriber.
# The receiver's side, in Python and with openssl/curl (tests/test_webhooks_docs.py runs them as served).
VERIFY_PYTHON = """\
import hashlib, hmac, time


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    \"\"\"secret: the subscription's whsec_... secret; header: the ERPLib-Signature value;
    body: the raw request body, exactly as received (bytes, before any JSON parsing).\"\"\"
    pairs = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [value for key, value in pairs if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit() or abs(time.time() - int(stamps[0])) > tolerance:
        return False  # no timestamp, or too old: a replayed request
    expected = hmac.new(secret.encode(), stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(key == "v1" and hmac.compare_digest(value, expected) for key, value in pairs)


# Then answer 2xx at once, and drop an event whose "id" you have already handled (a retry or a redelivery).
"""
VERIFY_SHELL = """\
# body.json: the raw body received; T: the t= of its ERPLib-Signature header; SECRET: the subscription's secret.
# The delivery is genuine if this prints one of the header's v1= values (and T is recent).
{ printf '%s.' "$T"; cat body.json; } | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1
"""
SEND_SHELL = """\
# Send a signed test event from body.json to your receiver at $URL, as the planner would.
T=$(date +%s)
V1=$({ printf '%s.' "$T"; cat body.json; } | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
curl -sS -X POST "$URL" -H 'Content-Type: application/json' -H "ERPLib-Signature: t=$T,v1=$V1" \\
     -H 'ERPLib-Webhook-Id: evt_00000000000000000000000000000000' --data-binary @body.json
"""
SIGNATURE = {
    "name": webhooks.SIGNATURE_HEADER,
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "example": "t=1765101600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
    "description": (
        "`t` = Unix time of the attempt; `v1` = hex HMAC-SHA256 keyed with the subscription's secret "
        "(the whole `whsec_...` string, as UTF-8) over `<t>.` followed by the raw body. During a "
        "rotation's overlap a second `v1=` is signed with the previous secret: accept the request "
        "if any `v1` matches. Refuse a `t` more than 5 minutes from your clock (replay).\n\n"
        f"Python:\n\n```python\n{VERIFY_PYTHON}```\n\nopenssl:\n\n```sh\n{VERIFY_SHELL}```\n\n"
        f"curl (a signed test event to your receiver):\n\n```sh\n{SEND_SHELL}```\n"
    ),
}
_DATA = {
    "booking": {
        "type": "object",
        "properties": {
            "object": {"const": "booking"},
            "id": {"type": "integer"},
            "kind": {"type": "string"},
            "status": {"type": "string"},
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "consultant_id": {"type": "integer"},
            "company_id": {"type": "integer"},
            "ticket": {"type": ["string", "null"]},
            "sequence": {"type": "integer", "description": "goes up with every change of the booking"},
            "previous_start": {
                "type": ["string", "null"],
                "description": "booking.rescheduled by a person: the start before",
            },
            "deadline": {"type": ["string", "null"], "description": "callback.at_risk: the take-charge deadline"},
        },
    },
    "hour_bank": {
        "type": "object",
        "properties": {
            "object": {"const": "hour_bank"},
            "company_id": {"type": "integer"},
            "contract_year_start": {"type": "string", "format": "date"},
            "balance_minutes": {"type": "integer"},
        },
    },
    "priority_request": {
        "type": "object",
        "properties": {
            "object": {"const": "priority_request"},
            "id": {"type": "integer"},
            "company_id": {"type": "integer"},
            "status": {"type": "string"},
            "skill": {"type": "string"},
            "quote_eur": {"type": ["number", "null"]},
            "quote_valid_until": {"type": ["string", "null"], "format": "date-time"},
            "plan_id": {"type": ["integer", "null"]},
        },
    },
    "plan": {
        "type": "object",
        "properties": {
            "object": {"const": "plan"},
            "id": {"type": "integer"},
            "kind": {"type": "string"},
            "status": {"type": "string"},
            "request_id": {"type": ["integer", "null"]},
            "moved": {"type": "integer"},
        },
    },
}
_OBJECT_OF = {
    "hour_bank.low": "hour_bank",
    "hour_bank.exhausted": "hour_bank",
    "plan.applied": "plan",
    "quote.waiting": "priority_request",
}


def _event_schema(event_type: str) -> dict:
    return {
        "type": "object",
        "required": ["id", "type", "created_at", "api_version", "data"],
        "properties": {
            "id": {
                "type": "string",
                "pattern": "^evt_[0-9a-f]{32}$",
                "description": "the event's id: the same at every attempt and redelivery; drop a repeat",
            },
            "type": {"const": event_type},
            "created_at": {"type": "string", "format": "date-time"},
            "api_version": {"const": webhooks.API_VERSION},
            "data": _DATA[_OBJECT_OF.get(event_type, "booking")],
        },
    }


def document(spec) -> None:
    """Add the `webhooks` section: one POST per event type, with its body, headers and expected answer."""
    spec.components.parameter("WebhookSignature", "header", SIGNATURE)
    section = {}
    for event_type, label in webhooks.EVENTS.items():
        section[event_type] = {
            "post": {
                "summary": str(label),
                "operationId": f"webhook_{event_type.replace('.', '_')}",
                "description": "Sent by the scheduler to every active subscription to this event type. "
                "Answer 2xx within 10 s; anything else is retried after 1, 2, 4 … 256 minutes.",
                "parameters": [
                    {"$ref": "#/components/parameters/WebhookSignature"},
                    {"name": webhooks.ID_HEADER, "in": "header", "schema": {"type": "string"}},
                    {"name": webhooks.EVENT_HEADER, "in": "header", "schema": {"const": event_type}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _event_schema(event_type)}},
                },
                "responses": {"2XX": {"description": "received (any 2xx)"}},
            }
        }
    spec.options["webhooks"] = section
