"""Admin pages: companies, their contracts and their portal contacts."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import contract
from ..auth import role_required
from ..extensions import db
from ..models import Company
from ..services import accounts, schedule
from ..services.errors import ServiceError

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@role_required("admin")
def home():
    return render_template("admin/home.html", companies=schedule.companies(), terms=contract.current())


@bp.post("/societes/<int:company_id>/contacts")
@role_required("admin")
def add_contact(company_id: int):
    company = db.session.get(Company, company_id) or abort(404)
    form = request.form
    try:
        user = accounts.add_contact(current_user, company, form.get("email", ""), form.get("name", ""),
                                    form.get("password", ""))
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash(_("Contact %(email)s ajouté à %(company)s.", email=user.email, company=company.name), "success")
    return redirect(url_for("admin.home"))
