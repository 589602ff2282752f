"""Request and response schemas of the API (marshmallow), documented in the OpenAPI file."""

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from calendars.worktime import PARIS

from .. import labels
from ..inputs import CLOCK_SKEW, FIRST_DAY, INT_MAX, LAST_DAY, MAX_PRICE, PRICE_PATTERN, BadInput, euros
from ..models import KINDS, PRIORITIES
from ..models.types import utcnow
from ..services import callbacks, costs
from ..services.errors import CODES as ERROR_CODES
from ..services.interventions import checklist
from ..services.reasons import CODES as REASON_CODES
from .validation import Message


class LocalDateTime(fields.DateTime):
    """ISO 8601 with an offset, written in Paris time; a naive input is refused."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.astimezone(PARIS).isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            raise ValidationError(_("Indiquez le décalage horaire, par exemple 2026-12-07T10:00:00+01:00."))
        if not FIRST_DAY <= parsed.date() <= LAST_DAY:
            raise ValidationError(_(OUT_OF_RANGE))
        return parsed


class OpenedAt(LocalDateTime):
    """When a ticket was opened: not later than now (give or take a client clock's skew)."""

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed > utcnow() + CLOCK_SKEW:
            raise ValidationError(
                _("La date d'ouverture du ticket est dans le futur : indiquez quand il a été ouvert.")
            )
        return parsed


# Instants outside these years (booking.inputs) are typing mistakes, and would overflow once moved to UTC.
OUT_OF_RANGE = _l("Date hors de la période gérée (années 2000 à 2099).")
UNKNOWN_ID = _l("Identifiant inconnu : {input}.")


def Day(**kwargs) -> fields.Date:
    return fields.Date(validate=validate.Range(FIRST_DAY, LAST_DAY, error=Message(OUT_OF_RANGE)), **kwargs)


def Id(*, strict: bool = True, **kwargs) -> fields.Integer:
    """An id the database's integers can hold; a larger one is an error there, not a miss. In a JSON body, a JSON
    integer: 1.5 would otherwise be cut to 1, another row than the one meant. A query's values are all text:
    `strict=False` there, where "1.5" still fails to read as an integer."""
    return fields.Integer(strict=strict, validate=validate.Range(1, INT_MAX, error=Message(UNKNOWN_ID)), **kwargs)


class JsonBoolean(fields.Boolean):
    """true or false, and nothing else: a JSON body's "yes", "off" or 0 is a mistake to point out, not a guess
    (marshmallow's Boolean takes them, and 0 or 1 equal False or True in any set of truthy values)."""

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)


def QueryBoolean(**kwargs) -> fields.Boolean:
    """A query's true or false: its values are all text, and "yes", "on" or "1" are refused as in a body."""
    return fields.Boolean(truthy={"true"}, falsy={"false"}, **kwargs)


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String(metadata={"description": "what went wrong and what to do, in the request's language"})
    code = fields.String(
        validate=validate.OneOf(REASON_CODES + tuple(c for c in ERROR_CODES if c not in REASON_CODES)),
        metadata={
            "description": (
                "stable name of the reason, for programs (absent when none applies): a slot refused for its start "
                "off the grid (grid), inside the minimum notice (notice), past an intervention's prerequisites gate (gate), "
                "beyond the booking horizon (horizon), on a public holiday (holiday), outside working hours — evening, "
                "lunch, weekend, or not a day's opening for a whole-day service (closed), during the consultant's absence "
                "(absence; for a whole-day service, any absence that day), during their imported busy time (busy), "
                "already booked (taken), on a day the consultant is full (daily_cap), with no consultant for the service "
                "(no_consultant); a service the contract does not include (not_entitled). Every other refusal has its own "
                "code too (state_changed, moved_meanwhile, cutoff, token_revoked …); the generic invalid, not_found, "
                "conflict and refused stand where nothing narrower applies"
            )
        },
    )
    errors = fields.Dict()


class MeSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    company = fields.String(allow_none=True)


class ServiceSchema(Schema):
    kind = fields.String()
    label = fields.String()
    access = fields.String(metadata={"description": "no, yes, billable, quote, hour_bank"})
    bookable = fields.Boolean()
    reason = fields.String(allow_none=True)
    duration_minutes = fields.Integer(allow_none=True)
    duration_days = fields.Integer(allow_none=True)


COMPANY_ID = {
    "description": (
        "planners and admins: the client company. A client omits it (or gives their own company's id): another "
        "company's id is refused (422, code staff_only_field)"
    )
}


class AvailabilityQuery(Schema):
    service = fields.String(required=True, validate=validate.OneOf(KINDS))
    start = Day(required=True, metadata={"description": "first local day, YYYY-MM-DD"})
    end = Day(required=True, metadata={"description": "last local day (included), YYYY-MM-DD"})
    ticket_priority = fields.String(validate=validate.OneOf(PRIORITIES))
    ticket_opened_at = OpenedAt()
    company_id = Id(strict=False, metadata=COMPANY_ID)

    @validates_schema
    def _range(self, data, **kwargs):
        if "start" in data and "end" in data:
            if data["end"] < data["start"]:
                raise ValidationError(_("end doit être le même jour que start ou après."), "end")
            if (data["end"] - data["start"]).days > 62:
                raise ValidationError(_("Demandez au plus 62 jours à la fois."), "end")


class SlotSchema(Schema):
    start = LocalDateTime()
    end = LocalDateTime()
    consultant_id = fields.Integer()
    within_commitment = fields.Boolean(allow_none=True)


_SLOT = SlotSchema()


@lru_cache(maxsize=8192)
def slot_json(slot) -> dict:
    """One slot as the API shows it; slots are immutable, so each is serialised once per process."""
    return _SLOT.dump(slot)


class DaySchema(Schema):
    date = fields.Date()
    slots = fields.List(fields.Nested(SlotSchema))


class AvailabilitySchema(Schema):
    service = fields.String()
    timezone = fields.String()
    days = fields.List(fields.Nested(DaySchema))


class TicketInSchema(Schema):
    reference = fields.String(required=True, validate=validate.Length(1, 40))
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    opened_at = OpenedAt(required=True)


class TicketSchema(TicketInSchema):
    id = fields.Integer()
    opened_at = LocalDateTime()
    acknowledge_by = fields.Method(
        "_acknowledge_by",
        metadata={"description": "the tier's acknowledge deadline (business time from opened_at); null: no commitment"},
    )
    take_charge_by = fields.Method(
        "_take_charge_by",
        metadata={"description": "the tier's take-charge deadline; a callback starting later is beyond the commitment"},
    )
    call_requested_at = LocalDateTime(
        allow_none=True,
        metadata={"description": "when the client asked to be called, no callback window fitting before the deadline"},
    )
    called_at = LocalDateTime(allow_none=True, metadata={"description": "when a planner recorded the call"})

    def _acknowledge_by(self, ticket):
        return _paris(callbacks.commitment(ticket.company, ticket.priority, ticket.opened_at).acknowledge)

    def _take_charge_by(self, ticket):
        return _paris(callbacks.commitment(ticket.company, ticket.priority, ticket.opened_at).take_charge)


def _paris(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(PARIS).isoformat()


class WhyQuery(Schema):
    service = fields.String(required=True, validate=validate.OneOf(KINDS))
    start = LocalDateTime(required=True)
    consultant_id = Id(strict=False, metadata={"description": "staff only: one consultant (default: the whole team)"})
    company_id = Id(strict=False, metadata=COMPANY_ID)


class RuleSchema(Schema):
    code = fields.String(metadata={"description": "the reason's stable code (as in problem+json)"})
    sentence = fields.String()
    detail = fields.String(
        metadata={
            "description": "what the rule found (staff: which absence, booking, "
            "imported calendar; clients: no other client's name)"
        }
    )


class ConsultantRulesSchema(Schema):
    consultant_id = fields.Integer(allow_none=True, metadata={"description": "staff only"})
    consultant = fields.String(allow_none=True, metadata={"description": "staff only"})
    rules = fields.List(fields.Nested(RuleSchema))


class WhySchema(Schema):
    service = fields.String()
    start = fields.DateTime()
    free = fields.Boolean()
    slot = fields.Nested(lambda: SlotSchema(), allow_none=True)
    shared = fields.List(fields.Nested(RuleSchema), metadata={"description": "rules that block every consultant"})
    consultants = fields.List(fields.Nested(ConsultantRulesSchema))


class Euros(fields.Decimal):
    """A price in euros, as a decimal string ("82.50", exact) or a JSON number (82.5), read by `inputs.euros` (the
    pages' rule too): anything else (text, true, NaN, 1e999, 82.505, "82.500", "1E+2", "-0") is refused with its
    sentence, nothing is rounded."""

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        try:
            return euros(value)
        except BadInput as error:
            raise ValidationError(error.message) from None


def _expected_price(shown: str, refused: str) -> Euros:
    return Euros(
        load_default=None,
        metadata={
            # a string as the pattern writes it, or a JSON number read as the number it denotes (`inputs.euros`)
            "type": ["string", "number"],  # apispec adds "null" (load_default None: allow_none)
            "pattern": PRICE_PATTERN,
            "minimum": 0,
            "maximum": MAX_PRICE,
            "example": "82.50",
            "description": (
                f"the price in euros, excluding VAT, of the billable minutes {shown} (cost.price_eur): a decimal "
                f"string matching the pattern, from 0 to {MAX_PRICE}, or a JSON number of that range with at most "
                "two decimals, read as the number it denotes (97.5 is 97.50; 1e2 is 100; a string is exact); "
                "anything else is refused (422). If the price about to be recorded differs (the contract's rate "
                f"changed since, or another price was sent), {refused} (409, code cost_changed) with the price that "
                "would be recorded, and nothing is recorded. Absent or null: no such check (the price recorded is "
                "the rate in force at the click)"
            ),
        },
    )


class BookingInSchema(Schema):
    service = fields.String(required=True, validate=validate.OneOf(KINDS))
    start = LocalDateTime(required=True)
    consultant_id = Id()
    company_id = Id(metadata=COMPANY_ID)
    ticket = fields.Nested(TicketInSchema)
    environment = fields.String(validate=validate.OneOf(("test", "production")))
    hold = JsonBoolean(load_default=False, metadata={"description": "hold the slot for a few minutes; confirm later"})
    notes = fields.String(load_default="", validate=validate.Length(max=2000))
    expected_billable_minutes = fields.Integer(
        load_default=None,
        validate=validate.Range(min=0, max=100_000),
        metadata={
            "description": (
                "booked at once (no hold): the billable minutes shown to the client; if the company's hour bank "
                "moved since, the booking is refused (409, code cost_changed) with the new split, and nothing is "
                "booked. Ignored with hold: true (the confirmation checks what it records)"
            )
        },
    )
    expected_price_eur = _expected_price(
        "shown to the client, booked at once (ignored with hold: true)", "the booking is refused"
    )


ACKNOWLEDGED = {
    "description": (
        "Planners, for a priority consulting: true once they have read the consequences the first answer (409) "
        "stated. Ignored for other bookings."
    )
}


def _seen(when: str, refused: str) -> fields.Integer:
    """The booking's sequence the client saw (optional): moved since, the change is refused."""
    return fields.Integer(
        load_default=None,
        validate=validate.Range(min=0, max=INT_MAX),
        metadata={
            "description": (
                f"the booking's sequence when the client {when}; if it has been moved since{refused}, the change is "
                "refused (409, code moved_meanwhile) and nothing changes. Absent: no such check"
            )
        },
    )


class CancelArgsSchema(Schema):
    acknowledged = QueryBoolean(load_default=False, metadata=ACKNOWLEDGED)
    seen = _seen(
        "saw the terms of the cancellation",
        " (its terms may have changed: a session moved inside the cut-off is consumed)",
    )


class RescheduleSchema(Schema):
    start = LocalDateTime(required=True)
    acknowledged = JsonBoolean(load_default=False, metadata=ACKNOWLEDGED)
    seen = _seen("chose the new start", "")
    expected_billable_minutes = fields.Integer(
        load_default=None,
        validate=validate.Range(min=0, max=100_000),
        metadata={
            "description": (
                "the billable minutes shown to the client for the booking once moved (a move into another contract "
                "year, or past a change of formula, counts it again there); if the move would record others, it is "
                "refused (409, code cost_changed) with the new split, and nothing moves"
            )
        },
    )
    expected_price_eur = _expected_price("shown to the client for the booking once moved", "the move is refused")


class ConfirmInSchema(Schema):
    expected_billable_minutes = fields.Integer(
        load_default=None,
        validate=validate.Range(min=0, max=100_000),
        metadata={
            "description": (
                "the billable minutes the hold's cost showed the client; if the company's hour bank moved since, "
                "the confirmation is refused (409, code cost_changed) with the new split, and nothing is recorded"
            )
        },
    )
    expected_price_eur = _expected_price("the hold's cost showed the client", "the confirmation is refused")


class PrerequisiteInSchema(Schema):
    code = fields.String(required=True)
    done = JsonBoolean(load_default=True)


class PrerequisiteSchema(Schema):
    code = fields.String()
    label = fields.String()
    confirmed_at = LocalDateTime(allow_none=True)


class BookingSchema(Schema):
    id = fields.Integer()
    service = fields.String(attribute="kind")
    status = fields.String()
    start = LocalDateTime(attribute="start_at")
    end = LocalDateTime(attribute="end_at")
    consultant = fields.Function(lambda b: {"id": b.consultant_id, "name": b.consultant.name})
    company = fields.Function(lambda b: {"id": b.company_id, "name": b.company.name})
    ticket = fields.Nested(TicketSchema, allow_none=True)
    environment = fields.String(allow_none=True)
    beyond_commitment = fields.Boolean()
    hold_expires_at = LocalDateTime(allow_none=True)
    sequence = fields.Integer()
    uid = fields.String(attribute="ical_uid")
    booked_at = LocalDateTime()
    prerequisites = fields.Method("_prerequisites")

    def _prerequisites(self, booking):
        return [
            {"code": c, "label": labels.prerequisite_label(label), "done": at is not None}
            for c, label, at in checklist(booking)
        ]


class CostSchema(Schema):
    """What the booking costs, told before consent (a hold) or as the ledger records it (confirmed)."""

    basis = fields.String(metadata={"description": "hour_bank, billable, included (by the contract), quote"})
    included_minutes = fields.Integer(metadata={"description": "minutes drawn from the hour bank"})
    billable_minutes = fields.Integer()
    price_eur = fields.Decimal(
        as_string=True,
        allow_none=True,
        metadata={"description": "price of the billable minutes, excluding VAT; null when the contract lists none"},
    )
    hour_bank_balance_after = fields.Integer(
        attribute="balance_after",
        allow_none=True,
        metadata={
            "description": "the contract year's hour bank with this booking counted: once confirmed (a hold: if "
            "confirmed now); for a booking that counts already, the balance now (later bookings included)"
        },
    )
    free_cancellation_until = LocalDateTime(
        attribute="free_cancel_until",
        allow_none=True,
        metadata={
            "description": "until then a cancellation is free; later it consumes the session (basis hour_bank or "
            "billable) or, for a service the contract includes (basis included), is recorded as late and costs nothing"
        },
    )


class CostedBookingSchema(BookingSchema):
    """One booking with its cost: the answer to a hold, a booking, a confirmation or a cancellation."""

    cost = fields.Nested(CostSchema)

    def get_attribute(self, obj, attr, default):
        if attr != "cost":
            return super().get_attribute(obj, attr, default)
        return costs.for_booking(obj)


class LedgerEntrySchema(Schema):
    at = LocalDateTime(attribute="created_at")
    kind = fields.String()
    minutes = fields.Integer()
    billable_minutes = fields.Integer()
    booking_id = fields.Integer(allow_none=True)
    note = fields.Function(
        lambda entry: str(labels.LEDGER_NOTES.get(entry.note, entry.note)),
        metadata={"description": "what the line is about, in the request's language"},
    )


class HourBankQuery(Schema):
    year = Day(
        load_default=None,
        metadata={"description": "any local day of the contract year wanted, YYYY-MM-DD; absent: the current year"},
    )


class HourBankSchema(Schema):
    contract_year_start = fields.Date()
    included_minutes = fields.Integer()
    balance_minutes = fields.Integer()
    billable_minutes = fields.Integer()
    entries = fields.List(fields.Nested(LedgerEntrySchema))
    years = fields.List(
        fields.Date(),
        metadata={"description": "the contract years with ledger lines (and the current one), oldest first"},
    )
