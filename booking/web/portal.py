"""Client portal: the company's contract, bookings and hour bank."""

from flask import Blueprint, render_template
from flask_login import current_user

from calendars.worktime import PARIS

from .. import contract
from ..auth import role_required
from ..models.types import utcnow
from ..services import burn_down, hour_bank, schedule
from . import util

bp = Blueprint("portal", __name__, url_prefix="/portail")


@bp.route("/")
@role_required("client")
def home():
    company = current_user.company
    now = utcnow()
    terms = contract.current()
    tier = terms.tier(company.tier)
    year = hour_bank.contract_year(company, now.astimezone(PARIS).date())
    return render_template(
        "portal/home.html",
        company=company,
        tier=tier,
        services=terms.services,
        bookings=schedule.upcoming(now, company_id=company.id),
        balance=hour_bank.balance(company, year) if tier.hour_bank_minutes else None,
        contract_year=year,
        burn=burn_down.burn_down(company, now.astimezone(PARIS).date()),
        privileged=company.privileged_consultant if tier.privileged_consultant else None,
    )


@bp.route("/banque-heures")
@role_required("client")
def hour_bank_page():
    company = current_user.company
    tier = contract.current().tier(company.tier)
    return render_template(
        "portal/hour_bank.html",
        company=company,
        tier=tier,
        bank=hour_bank.summary(company, utcnow().astimezone(PARIS).date(), util.year_asked()),
    )
