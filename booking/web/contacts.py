"""A client company's contacts, managed by its main contact within the tier's cap (the others see the list)."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import contract
from ..auth import role_required
from ..extensions import db
from ..inputs import INT_MAX
from ..models import User
from ..models.types import utcnow
from ..services import invitations
from ..services.errors import ServiceError
from ..text_order import name_key
from .deactivation import deactivation_step
from .forms import EmptyForm, refused
from .forms.admin import InviteForm
from .refusals import flash_refusal

bp = Blueprint("contacts", __name__, url_prefix="/portail/contacts")


def _colleague(user_id: int) -> User:
    """A contact of the signed-in client's own company; anyone else's is not found."""
    user = db.session.get(User, user_id) if user_id <= INT_MAX else None
    if user is None or user.company_id != current_user.company_id:
        abort(404)
    return user


def _page(form: InviteForm | None = None, status: int = 200):
    company = current_user.company
    contacts = sorted(company.contacts, key=lambda u: (not u.active, name_key(u.name)))
    form = form or InviteForm(formdata=None)
    del form.main_contact  # only an admin names the main contact
    return render_template(
        "portal/contacts.html",
        company=company,
        contacts=contacts,
        form=form,
        tier=contract.current().tier(company.tier),
        manager=current_user.main_contact,
        active=sum(u.active for u in contacts),
    ), status


@bp.route("/")
@role_required("client")
def home():
    return _page()


@bp.post("/inviter")
@role_required("client")
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = invitations.invite_contact(
                current_user, current_user.company, form.email.data, form.name.data, utcnow()
            )
        except ServiceError as error:
            refused(form, error, "email")
        else:
            flash(
                _(
                    "Invitation envoyée à %(email)s : le lien pour choisir son mot de passe vaut %(hours)s heures.",
                    email=user.email,
                    hours=invitations.valid_hours("invite"),
                ),
                "success",
            )
            return redirect(url_for("contacts.home"))
    return _page(form, 422 if form.errors else 403)


@bp.route("/<int:user_id>/desactiver", methods=["GET", "POST"])
@role_required("client")
def deactivate(user_id: int):
    return deactivation_step(_colleague(user_id), url_for("contacts.home"))


def _action(user_id: int, action, done: str):
    user = _colleague(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        action(user)
    except ServiceError as error:
        flash_refusal(error)
    else:
        flash(done % {"email": user.email}, "success")
    return redirect(url_for("contacts.home"))


@bp.post("/<int:user_id>/reactiver")
@role_required("client")
def reactivate(user_id: int):
    return _action(
        user_id, lambda u: invitations.reactivate(current_user, u), _("%(email)s peut de nouveau se connecter.")
    )


@bp.post("/<int:user_id>/lien")
@role_required("client")
def send_link(user_id: int):
    return _action(
        user_id,
        lambda u: invitations.send_reset(current_user, u, utcnow()),
        _("Un lien pour choisir un nouveau mot de passe a été envoyé à %(email)s."),
    )
