"""Back office API (admins): companies, their contracts and contacts, people's access. The services'
refusals become problem+json with their stable `code` and the same sentence as the pages."""

from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ..extensions import db
from ..models import TIERS, Company
from ..models.types import utcnow
from ..services import companies, invitations, periods
from ..services.companies import ENVIRONMENTS, CompanyData
from ..text_order import by_name
from .auth import token_required
from .routes import SECURITY, errors
from .schemas import Day, JsonBoolean, QueryBoolean

blp = Blueprint("api_admin", __name__, url_prefix="/api/v1", description="Back office (administrateurs)")


class PeriodSchema(Schema):
    id = fields.Int()
    starts_on = fields.Date()
    tier = fields.Str()
    note = fields.Str()


class ContactSchema(Schema):
    id = fields.Int()
    email = fields.Str()
    name = fields.Str()
    role = fields.Str()
    active = fields.Bool()
    main_contact = fields.Bool()


class CompanySchema(Schema):
    id = fields.Int()
    name = fields.Str()
    active = fields.Bool()
    tier = fields.Str()
    contract_start = fields.Date()
    erp_version = fields.Str()
    environments = fields.List(fields.Str())
    privileged_consultant_id = fields.Int(allow_none=True)
    notes = fields.Str()
    periods = fields.Method("_periods")
    contacts = fields.Method("_contacts")

    def _periods(self, company):
        return PeriodSchema(many=True).dump(periods.history(company))

    def _contacts(self, company):
        return ContactSchema(many=True).dump(company.contacts)


class CompanyInSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(1, 120))
    tier = fields.Str(required=True, validate=validate.OneOf(TIERS))
    contract_start = Day(required=True)  # the web form's years (managed_day): booking.inputs' bounds
    erp_version = fields.Str(required=True, validate=validate.Length(1, 20))
    environments = fields.List(
        fields.Str(validate=validate.OneOf(ENVIRONMENTS)), load_default=["production"], validate=validate.Length(1, 2)
    )
    privileged_consultant_id = fields.Int(
        allow_none=True, load_default=None, strict=True, validate=validate.Range(1, 2**31 - 1)
    )
    notes = fields.Str(load_default="", validate=validate.Length(max=4000))


class CompanyPatchSchema(Schema):
    name = fields.Str(validate=validate.Length(1, 120))
    contract_start = Day()
    erp_version = fields.Str(validate=validate.Length(1, 20))
    environments = fields.List(fields.Str(validate=validate.OneOf(ENVIRONMENTS)), validate=validate.Length(1, 2))
    privileged_consultant_id = fields.Int(allow_none=True, strict=True, validate=validate.Range(1, 2**31 - 1))
    notes = fields.Str(validate=validate.Length(max=4000))


class ContractChangeInSchema(Schema):
    tier = fields.Str(required=True, validate=validate.OneOf(TIERS))
    starts_on = fields.Date(required=True)
    note = fields.Str(load_default="", validate=validate.Length(max=500))


class ContractChangeSchema(Schema):
    period = fields.Nested(PeriodSchema)
    consequences = fields.List(fields.Str())


class DeactivateArgs(Schema):
    cancel_bookings = QueryBoolean(load_default=False)


class InviteInSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(1, 120))
    email = fields.Str(required=True, validate=validate.Length(3, 254))
    main_contact = JsonBoolean(load_default=False)


@blp.route("/companies")
@token_required("admin")
@blp.response(200, CompanySchema(many=True))
@errors(401, 403)
@blp.doc(security=SECURITY)
def list_companies():
    """Every client company, with its contract periods and contacts."""
    return by_name(db.session.scalars(select(Company)))


@blp.route("/companies", methods=["POST"])
@token_required("admin")
@blp.arguments(CompanyInSchema())
@blp.response(201, CompanySchema())
@errors(401, 403, 409, 422)
@blp.doc(security=SECURITY)
def create_company(data):
    """A new client company; its contract's first period starts on `contract_start`."""
    return companies.create(g.api_user, CompanyData(**data))


@blp.route("/companies/<int:company_id>")
@token_required("admin")
@blp.response(200, CompanySchema())
@errors(401, 403, 404)
@blp.doc(security=SECURITY)
def get_company(company_id: int):
    return companies.get(company_id)


@blp.route("/companies/<int:company_id>", methods=["PATCH"])
@token_required("admin")
@blp.arguments(CompanyPatchSchema())
@blp.response(200, CompanySchema())
@errors(401, 403, 404, 409, 422)
@blp.doc(security=SECURITY)
def update_company(data, company_id: int):
    """Change the given fields (the tier changes on a date: `contract-changes`)."""
    company = companies.get(company_id)
    merged = {
        "name": company.name,
        "erp_version": company.erp_version,
        "environments": company.environments,
        "privileged_consultant_id": company.privileged_consultant_id,
        "notes": company.notes,
        "contract_start": company.contract_start,
        **data,
    }
    return companies.edit(g.api_user, company, CompanyData(**merged))


@blp.route("/companies/<int:company_id>/contract-changes", methods=["POST"])
@token_required("admin")
@blp.arguments(ContractChangeInSchema())
@blp.response(201, ContractChangeSchema())
@errors(401, 403, 404, 409, 422)
@blp.doc(security=SECURITY)
def change_contract(data, company_id: int):
    """A tier change from `starts_on` (today or later); the answer says what it changes."""
    company, now = companies.get(company_id), utcnow()
    companies.check_change(company, data["tier"], data["starts_on"], periods.today())
    lines = companies.consequences(company, data["tier"], data["starts_on"], now)
    period = companies.change_tier(g.api_user, company, data["tier"], data["starts_on"], now, data["note"])
    return {"period": period, "consequences": lines}


@blp.route("/companies/<int:company_id>/deactivate", methods=["POST"])
@token_required("admin")
@blp.arguments(DeactivateArgs(), location="query")
@blp.response(200, CompanySchema())
@errors(401, 403, 404, 409)
@blp.doc(security=SECURITY)
def deactivate_company(args, company_id: int):
    """Refused (409 `company_has_bookings`) while bookings are to come, unless `cancel_bookings=true`
    cancels them first (as a staff cancellation: no charge, the usual mails)."""
    company = companies.get(company_id)
    companies.deactivate(g.api_user, company, utcnow(), cancel_bookings=args["cancel_bookings"])
    return company


@blp.route("/companies/<int:company_id>/contacts", methods=["POST"])
@token_required("admin")
@blp.arguments(InviteInSchema())
@blp.response(201, ContactSchema())
@errors(401, 403, 404, 409, 422)
@blp.doc(security=SECURITY)
def invite_contact(data, company_id: int):
    """A new contact, invited by mail; 409 `contact_cap` beyond the tier's number of contacts."""
    return invitations.invite_contact(
        g.api_user, companies.get(company_id), data["email"], data["name"], utcnow(), main_contact=data["main_contact"]
    )


def _user_action(user_id: int, action):
    user = invitations.get_user(user_id)
    action(user)
    return user


@blp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@token_required("admin")
@blp.response(200, ContactSchema())
@errors(401, 403, 404, 409)
@blp.doc(security=SECURITY)
def deactivate_user(user_id: int):
    """The account stops at once: sessions, API tokens and pending links."""
    return _user_action(user_id, lambda u: invitations.deactivate(g.api_user, u, utcnow()))


@blp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@token_required("admin")
@blp.response(200, ContactSchema())
@errors(401, 403, 404, 409)
@blp.doc(security=SECURITY)
def reactivate_user(user_id: int):
    return _user_action(user_id, lambda u: invitations.reactivate(g.api_user, u))


@blp.route("/users/<int:user_id>/password-link", methods=["POST"])
@token_required("admin")
@blp.response(200, ContactSchema())
@errors(401, 403, 404, 409)
@blp.doc(security=SECURITY)
def password_link(user_id: int):
    """Mail the person a set-password link (single use, expiring)."""
    return _user_action(user_id, lambda u: invitations.send_reset(g.api_user, u, utcnow()))
