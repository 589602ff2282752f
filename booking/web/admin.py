"""Admin pages: companies, their contracts and their portal contacts; users' access (locks, sessions, tokens)."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..inputs import INT_MAX
from .. import contract
from ..auth import role_required
from ..extensions import db
from ..models import ApiToken, Company, User
from ..models.types import utcnow
from ..services import accounts, logins, schedule, tokens
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


@bp.route("/utilisateurs")
@role_required("admin")
def users():
    now = utcnow()
    people = db.session.scalars(select(User).options(joinedload(User.company)).order_by(User.role, User.email)).all()
    by_user: dict[int, list[ApiToken]] = {}
    for token in db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())):
        by_user.setdefault(token.user_id, []).append(token)
    locks = logins.locks(now)
    return render_template("admin/users.html", people=people, tokens=by_user, now=now,
                           locked={u.id: logins.shown_until(locks[k]) for u in people if (k := logins.account_key(u.email)) in locks})


def _posted(model, field: str):
    """The object named by a posted id: missing is a 400, unknown a 404."""
    value = request.form.get(field, "")
    if not value.isdigit():
        abort(400, _("Indiquez l'élément concerné."))
    return (db.session.get(model, int(value)) if int(value) <= INT_MAX else None) or abort(404)


@bp.post("/utilisateurs/debloquer")
@role_required("admin")
def unlock():
    user = _posted(User, "user_id")
    logins.unlock(current_user, user)
    db.session.commit()
    flash(_("%(email)s peut de nouveau se connecter sans attendre.", email=user.email), "success")
    return redirect(url_for("admin.users"))


@bp.post("/utilisateurs/deconnecter")
@role_required("admin")
def end_sessions():
    user = _posted(User, "user_id")
    logins.end_sessions(current_user, user)
    db.session.commit()
    flash(_("Toutes les sessions de %(email)s sont fermées.", email=user.email), "success")
    return redirect(url_for("admin.users"))


@bp.post("/jetons/revoquer")
@role_required("admin")
def revoke_token():
    token = _posted(ApiToken, "token_id")
    tokens.revoke(token, current_user)
    db.session.commit()
    flash(_("Jeton « %(name)s » de %(email)s révoqué.", name=token.label, email=token.user.email), "success")
    return redirect(url_for("admin.users"))
