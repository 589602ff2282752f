"""API resources: services, availability, bookings, hour bank, callbacks and calls asked for.
Parse → service → serialise.
Schemas are given as instances: built once, not on every request."""

from __future__ import annotations

from flask import current_app, g
from flask_smorest import Blueprint

from calendars.worktime import PARIS

from .. import contract, labels
from ..extensions import db, limiter
from ..models import Booking, Company, User
from ..models.types import utcnow
from ..security import booking_limit, user_key
from ..services import access, availability, bookings, hour_bank, interventions, why_not
from ..services import callbacks as calls  # `callbacks` is the route listing them
from . import schemas as s
from .auth import token_required
from .idempotency import idempotent

blp = Blueprint("api", __name__, url_prefix="/api/v1", description="ERP-Lib Planner, JSON API v1")
ERRORS = {
    400: "Requête illisible (caractère nul, JSON mal formé, nombre ou date hors bornes)",
    401: "Jeton manquant ou invalide",
    403: "Rôle ou contrat insuffisant",
    404: "Introuvable",
    409: "Conflit (créneau pris, délai dépassé)",
    422: "Requête invalide",
}
SECURITY = [{"bearer": []}]


def errors(*codes):
    """Document problem+json answers; every route may answer 400 (the input screen reads every request)."""

    def decorator(view):
        for code in sorted({400, *codes}):
            view = blp.alt_response(
                code, schema=s.ProblemSchema, description=ERRORS[code], content_type="application/problem+json"
            )(view)
        return view

    return decorator


def _company(user: User, company_id: int | None) -> Company:
    """The company a request acts for: `access.company_for`, which refuses a client naming another one."""
    return access.company_for(user, company_id)


@blp.route("/me")
@token_required()
@blp.response(200, s.MeSchema())
@errors(401)
@blp.doc(security=SECURITY)
def me():
    """Who the token belongs to."""
    user = g.api_user
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "company": user.company.name if user.company else None,
    }


@blp.route("/services")
@token_required("client")
@blp.response(200, s.ServiceSchema(many=True))
@errors(401, 403)
@blp.doc(security=SECURITY)
def services():
    """The service catalogue, with what the client's contract allows and why not."""
    terms, company = contract.current(), g.api_user.company
    result = []
    for kind, service in terms.services.items():
        reason = bookings.refusal(company, kind)
        result.append(
            {
                "kind": kind,
                "label": str(labels.KINDS[kind]),
                "bookable": reason is None,
                "reason": reason,
                "access": terms.tier(company.tier).access(kind),
                "duration_minutes": service.duration_minutes,
                "duration_days": service.duration_days,
            }
        )
    return result


@blp.route("/availability")
@token_required("client", "planner", "admin")
@blp.arguments(s.AvailabilityQuery(), location="query")
@blp.response(200, s.AvailabilitySchema())
@errors(401, 403, 404, 422)
@blp.doc(security=SECURITY)
def availability_view(query):
    """Free slots of a service between two local days (included), grouped by day."""
    company = _company(g.api_user, query.get("company_id"))
    bookings.check_entitlement(company, query["service"])
    deadline = None
    if query["service"] == "callback" and "ticket_priority" in query and "ticket_opened_at" in query:
        deadline = bookings.take_charge_deadline(company, query["ticket_priority"], query["ticket_opened_at"])
    start, end = availability.local_range(query["start"], query["end"])
    outside = bookings.refused_days(company, query["service"], query["start"], query["end"])
    if outside:  # a planned tier without the service: no slot on its days (/availability/why says why)
        found = availability.listing(query["service"], company, start, end, utcnow(), deadline=deadline)
        body = _availability_json(
            query["service"], [slot for slot in found if slot.start.astimezone(PARIS).date() not in outside]
        )
    else:
        body = availability.listing_shown(
            query["service"], company, start, end, utcnow(), _availability_json, deadline=deadline
        )
    # A ready Response, so that flask-smorest does not dump it again; the bytes are kept with the listing.
    return current_app.response_class(body, mimetype=current_app.json.mimetype)


def _availability_json(kind: str, found: list) -> bytes:
    """The listing as the API sends it (each slot through SlotSchema, so the document still describes it)."""
    return current_app.json.response(
        {
            "service": kind,
            "timezone": str(PARIS),
            "days": [
                {"date": day.isoformat(), "slots": [s.slot_json(slot) for slot in day_slots]}
                for day, day_slots in availability.by_day(found)
            ],
        }
    ).get_data()


@blp.route("/availability/why")
@token_required("client", "planner", "admin")
@blp.arguments(s.WhyQuery(), location="query")
@blp.response(200, s.WhySchema())
@errors(401, 403, 404, 422)
@blp.doc(security=SECURITY)
def availability_why(query):
    """Why an instant is not free: every rule that blocks it, per consultant (the same rules as a booking's
    refusal). Staff see names and what each rule found; clients see their words, no other client's names."""
    user = g.api_user
    company = _company(user, query.get("company_id"))
    staff = user.role != "client"
    answer = why_not.explain(
        query["service"],
        company,
        query["start"],
        utcnow(),
        consultant_id=query.get("consultant_id"),
        for_client=not staff,
    )

    def rules(found):
        return [{"code": r.code, "sentence": r.sentence, "detail": r.detail} for r in found]

    return {
        "service": query["service"],
        "start": query["start"],
        "free": answer.slot is not None,
        "slot": answer.slot,
        "shared": rules(answer.shared),
        "consultants": [
            {"consultant_id": c.id if staff else None, "consultant": c.name if staff else None, "rules": rules(found)}
            for c, found in answer.consultants
        ],
    }


@blp.route("/bookings", methods=["POST"])
@token_required("client", "planner", "admin")
@limiter.limit(booking_limit, key_func=user_key)
@idempotent
@blp.arguments(s.BookingInSchema())
@blp.response(201, s.CostedBookingSchema())
@errors(401, 403, 404, 409, 422)
@blp.doc(
    security=SECURITY,
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "schema": {"type": "string"},
            "description": "repeat a POST safely: the first answer is returned",
        }
    ],
)
def create_booking(data):
    """Book a slot (or hold it with "hold": true)."""
    user = g.api_user
    company = _company(user, data.get("company_id"))
    ticket = access.ticket_for(company, **data["ticket"]) if data.get("ticket") else None
    return bookings.book(
        user,
        data["service"],
        data["start"],
        utcnow(),
        company=company,
        consultant_id=data.get("consultant_id"),
        ticket=ticket,
        hold=data["hold"],
        environment=data.get("environment"),
        notes=data["notes"],
        expected_billable=data["expected_billable_minutes"],
        expected_price=data["expected_price_eur"],
    )


@blp.route("/bookings")
@token_required()
@blp.response(200, s.BookingSchema(many=True))
@errors(401)
@blp.doc(security=SECURITY)
def list_bookings():
    """Bookings you may see (clients: your company's), oldest first."""
    return db.session.scalars(access.bookings_query(g.api_user).limit(1000)).all()


@blp.route("/bookings/<int:booking_id>")
@token_required()
@blp.response(200, s.CostedBookingSchema())
@errors(401, 404)
@blp.doc(security=SECURITY)
def get_booking(booking_id: int):
    """One booking."""
    return access.booking_for(g.api_user, booking_id)


@blp.route("/bookings/<int:booking_id>", methods=["PATCH"])
@token_required("client", "planner", "admin")
@blp.arguments(s.RescheduleSchema())
@blp.response(200, s.CostedBookingSchema())
@errors(401, 403, 404, 409, 422)
@blp.doc(security=SECURITY)
def reschedule_booking(data, booking_id: int):
    """Move a booking to another free start (before the cut-off)."""
    booking = access.booking_for(g.api_user, booking_id)
    return bookings.reschedule(
        g.api_user,
        booking,
        data["start"],
        utcnow(),
        acknowledged=data["acknowledged"],
        seen=data["seen"],
        expected_billable=data["expected_billable_minutes"],
        expected_price=data["expected_price_eur"],
    )


@blp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@token_required("client", "planner", "admin")
@blp.arguments(s.CancelArgsSchema(), location="query")
@idempotent
@blp.response(200, s.CostedBookingSchema())
@errors(401, 403, 404, 409, 422)
@blp.doc(security=SECURITY)
def cancel_booking(args, booking_id: int):
    """Cancel: refunded before the cut-off, consumed after it; a client's refused once the session has started
    (409 `already_started`: the consultant records whether it took place), or moved since `seen` (409
    `moved_meanwhile`)."""
    return bookings.cancel(
        g.api_user,
        access.booking_for(g.api_user, booking_id),
        utcnow(),
        acknowledged=args["acknowledged"],
        seen=args["seen"],
    )


@blp.route("/bookings/<int:booking_id>/confirm", methods=["POST"])
@token_required("client")
@idempotent
@blp.arguments(s.ConfirmInSchema(), location="query")
@blp.response(200, s.CostedBookingSchema())
@errors(401, 403, 404, 409, 422)
@blp.doc(security=SECURITY)
def confirm_booking(args, booking_id: int):
    """Confirm a held slot or a consultant's follow-up proposal (at the cost shown, with expected_billable_minutes and
    expected_price_eur)."""
    return bookings.confirm(
        g.api_user,
        access.booking_for(g.api_user, booking_id),
        utcnow(),
        expected_billable=args["expected_billable_minutes"],
        expected_price=args["expected_price_eur"],
    )


@blp.route("/hour-bank")
@token_required("client")
@blp.arguments(s.HourBankQuery(), location="query")
@blp.response(200, s.HourBankSchema())
@errors(401, 403, 422)
@blp.doc(security=SECURITY)
def hour_bank_view(query):
    """A contract year's hour bank (by default the current one): balance, billable minutes and ledger."""
    return hour_bank.summary(g.api_user.company, utcnow().astimezone(PARIS).date(), query["year"])


@blp.route("/callbacks")
@token_required("client", "planner", "admin")
@blp.response(200, s.BookingSchema(many=True))
@errors(401, 403)
@blp.doc(security=SECURITY)
def callbacks():
    """Callback windows with their tickets; beyond_commitment marks a window chosen after the deadline."""
    query = access.bookings_query(g.api_user).where(Booking.kind == "callback")
    return db.session.scalars(query.limit(1000)).all()


@blp.route("/callbacks/call-request", methods=["POST"])
@token_required("client")
@blp.arguments(s.TicketInSchema())
@blp.response(201, s.TicketSchema())
@blp.alt_response(200, schema=s.TicketSchema(), description="asked before and not yet called: nothing more happens")
@errors(401, 403, 409, 422)
@blp.doc(security=SECURITY)
def request_call(data):
    """Ask to be called before the ticket's take-charge deadline when no callback window fits before it, as the
    booking page offers: recorded on the ticket (call_requested_at), the planners told. 409 callback_window_free
    when a window fits (book it), no_commitment when the priority has no deadline."""
    ticket, new, _deadline = calls.request_call(
        g.api_user, data["reference"], data["priority"], data["opened_at"], utcnow()
    )
    return ticket, 201 if new else 200


@blp.route("/bookings/<int:booking_id>/prerequisites", methods=["POST"])
@token_required("client")
@blp.arguments(s.PrerequisiteInSchema())
@blp.response(200, s.PrerequisiteSchema(many=True))
@errors(401, 403, 404, 409, 422)
@blp.doc(security=SECURITY)
def tick_prerequisite(data, booking_id: int):
    """Confirm (or withdraw) one prerequisite of a minor update; returns the checklist."""
    booking = access.booking_for(g.api_user, booking_id)
    interventions.tick(g.api_user, booking, data["code"], data["done"], utcnow())
    return [
        {"code": c, "label": labels.prerequisite_label(label), "confirmed_at": at}
        for c, label, at in interventions.checklist(booking)
    ]
