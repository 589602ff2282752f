"""Admin pages: companies, their contracts (history, tier changes on a date) and their contacts; staff
accounts and everyone's access (invitations, deactivation, links, locks, sessions, tokens)."""

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload

from calendars.worktime import PARIS

from .. import contract
from ..auth import role_required
from ..date_format import format_date
from ..extensions import db
from ..inputs import INT_MAX
from ..models import ApiToken, Company, Consultant, User
from ..models.types import utcnow
from ..services import companies, invitations, logins, periods
from ..services.bookings import STAFF
from ..services.errors import ServiceError
from ..text_order import by_name, name_key
from .deactivation import deactivation_step
from .forms import EmptyForm, refused
from .forms.admin import (
    CompanyForm,
    ContractChangeForm,
    DeactivateCompanyForm,
    EditCompanyForm,
    EndSessionsForm,
    InviteForm,
    RoleChangeForm,
    StaffInviteForm,
    WithdrawChangeForm,
)
from .refusals import flash_refusal
from .token_revocation import revocation_step

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _company(company_id: int) -> Company:
    return (db.session.get(Company, company_id) if company_id <= INT_MAX else None) or abort(404)


def _user(user_id: int) -> User:
    return (db.session.get(User, user_id) if user_id <= INT_MAX else None) or abort(404)


def _consultants() -> list[Consultant]:
    return by_name(
        db.session.scalars(
            select(Consultant).join(User).where(User.active.is_(True)).options(contains_eager(Consultant.user))
        )
    )


@bp.route("/")
@role_required("admin")
def home():
    listed = sorted(
        db.session.scalars(select(Company).options(joinedload(Company.contacts))).unique(),
        key=lambda c: (not c.active, name_key(c.name)),
    )
    return render_template("admin/home.html", companies=listed, terms=contract.current())


# --- companies ------------------------------------------------------------------------------------


@bp.route("/societes/nouvelle", methods=["GET", "POST"])
@role_required("admin")
def new_company():
    form = CompanyForm()
    form.set_consultants(_consultants())
    if form.validate_on_submit():
        try:
            company = companies.create(current_user, form.data_for_service())
        except ServiceError as error:
            refused(form, error)
        else:
            flash(
                _(
                    "Société %(name)s créée en formule %(tier)s. Invitez maintenant ses contacts.",
                    name=company.name,
                    tier=contract.current().tier(company.tier).label,
                ),
                "success",
            )
            return redirect(url_for("admin.company", company_id=company.id))
    return render_template("admin/company_form.html", form=form, company=None), 422 if form.errors else 200


@bp.route("/societes/<int:company_id>")
@role_required("admin")
def company(company_id: int):
    return _company_page(_company(company_id))


def _company_page(company: Company, invite_form: InviteForm | None = None, status: int = 200):
    now = utcnow()
    today = periods.today()
    history = periods.history(company)
    current = max((p for p in history if p.starts_on <= today), key=lambda p: p.starts_on, default=None)
    contacts = sorted(company.contacts, key=lambda u: (not u.active, name_key(u.name)))
    return render_template(
        "admin/company.html",
        company=company,
        terms=contract.current(),
        history=history,
        current=current,
        today=today,
        contacts=contacts,
        now=now,
        invite_form=invite_form or InviteForm(formdata=None),
        action=EmptyForm(),
        active_contacts=sum(u.active for u in contacts),
        future_bookings=companies.future_bookings(company, now),
    ), status


@bp.route("/societes/<int:company_id>/modifier", methods=["GET", "POST"])
@role_required("admin")
def edit_company(company_id: int):
    company = _company(company_id)
    form = EditCompanyForm(obj=None if request.method == "POST" else company)
    if request.method == "GET":
        form.privileged_consultant_id.data = str(company.privileged_consultant_id or "")
    form.set_consultants(_consultants())
    if form.validate_on_submit():
        try:
            companies.edit(current_user, company, form.data_for_service())
        except ServiceError as error:
            refused(form, error)
        else:
            flash(_("Société %(name)s enregistrée.", name=company.name), "success")
            return redirect(url_for("admin.company", company_id=company.id))
    return render_template(
        "admin/company_form.html", form=form, company=company, terms=contract.current()
    ), 422 if form.errors else 200


@bp.route("/societes/<int:company_id>/formule", methods=["GET", "POST"])
@role_required("admin")
def change_contract(company_id: int):
    """Two steps: the change and its date, then what it changes, confirmed (works without JavaScript)."""
    company = _company(company_id)
    form = ContractChangeForm(formdata=None) if request.method == "GET" else ContractChangeForm()
    if request.method == "GET":
        form.starts_on.data = periods.today()
    if form.validate_on_submit():
        now = utcnow()
        try:
            if request.form.get("confirm") != "1":
                companies.check_change(company, form.tier.data, form.starts_on.data, periods.today())
                lines = companies.consequences(company, form.tier.data, form.starts_on.data, now)
                return render_template(
                    "admin/contract_confirm.html",
                    form=form,
                    company=company,
                    lines=lines,
                    tier=contract.current().tier(form.tier.data),
                )
            period = companies.change_tier(
                current_user, company, form.tier.data, form.starts_on.data, now, form.note.data or ""
            )
        except ServiceError as error:
            refused(form, error)
        else:
            label = contract.current().tier(period.tier).label
            flash(
                _(
                    "%(company)s passe en formule %(tier)s à partir du %(day)s.",
                    company=company.name,
                    tier=label,
                    day=format_date(period.starts_on, "d MMMM yyyy"),
                ),
                "success",
            )
            return redirect(url_for("admin.company", company_id=company.id))
    return (
        render_template("admin/contract_form.html", form=form, company=company, terms=contract.current()),
        422 if form.errors else 200,
    )


@bp.post("/societes/<int:company_id>/formule/annuler")
@role_required("admin")
def cancel_change(company_id: int):
    """First POST: what withdrawing the planned change does (or why it cannot be); the confirmed one withdraws it."""
    company, form, now = _company(company_id), WithdrawChangeForm(), utcnow()
    back = url_for("admin.company", company_id=company.id)
    if not form.validate_on_submit():
        abort(400, _("Indiquez le changement à annuler."))
    try:
        if form.confirmed.data == "1":
            companies.cancel_change(current_user, company, int(form.period_id.data), now)
            flash(_("Changement de formule annulé."), "success")
            return redirect(back)
        period = companies.planned_change(company, int(form.period_id.data), now.astimezone(PARIS).date())
    except ServiceError as error:
        flash_refusal(error)
        return redirect(back)
    form.confirmed.data = "1"
    terms = contract.current()
    return render_template(
        "admin/confirm.html",
        form=form,
        title=_("Annuler le changement de formule de %(company)s", company=company.name),
        question=_(
            "Le passage en formule %(tier)s prévu le %(day)s est retiré : à cette date, %(company)s garde la formule "
            "%(kept)s.",
            tier=terms.tier(period.tier).label,
            day=format_date(period.starts_on, "d MMMM yyyy"),
            company=company.name,
            kept=terms.tier(periods.tier_on(company, period.starts_on - timedelta(days=1))).label,
        ),
        button=_("Annuler ce changement"),
        back=back,
    )


@bp.route("/societes/<int:company_id>/desactiver", methods=["GET", "POST"])
@role_required("admin")
def deactivate_company(company_id: int):
    company, now = _company(company_id), utcnow()
    form = DeactivateCompanyForm()
    if form.validate_on_submit():
        try:
            count = companies.deactivate(current_user, company, now, cancel_bookings=form.cancel_bookings.data == "1")
        except ServiceError as error:
            refused(form, error)
        else:
            flash(
                ngettext(
                    "%(company)s est désactivée ; %(num)d contact ne peut plus se connecter.",
                    "%(company)s est désactivée ; %(num)d contacts ne peuvent plus se connecter.",
                    count,
                    company=company.name,
                ),
                "success",
            )
            return redirect(url_for("admin.company", company_id=company.id))
    return (
        render_template(
            "admin/confirm.html",
            form=form,
            title=_("Désactiver %(company)s", company=company.name),
            question=ngettext(
                "%(num)d contact actif ne pourra plus se connecter ; ses sessions et jetons d'API "
                "s'arrêtent. L'historique (rendez-vous, banque d'heures, contrats) est conservé et la "
                "société pourra être réactivée.",
                "%(num)d contacts actifs ne pourront plus se connecter ; leurs sessions et jetons d'API "
                "s'arrêtent. L'historique (rendez-vous, banque d'heures, contrats) est conservé et la "
                "société pourra être réactivée.",
                sum(u.active for u in company.contacts),
            ),
            bookings=companies.upcoming_bookings(company, now),
            company=company,
            button=_("Désactiver la société"),
            back=url_for("admin.company", company_id=company.id),
        ),
        409 if form.errors else 200,
    )


@bp.post("/societes/<int:company_id>/reactiver")
@role_required("admin")
def reactivate_company(company_id: int):
    company = _company(company_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    companies.reactivate(current_user, company)
    flash(_("%(company)s est de nouveau active. Réactivez ou invitez ses contacts.", company=company.name), "success")
    return redirect(url_for("admin.company", company_id=company.id))


# --- contacts and staff ---------------------------------------------------------------------------


@bp.post("/societes/<int:company_id>/contacts")
@role_required("admin")
def add_contact(company_id: int):
    company = _company(company_id)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = invitations.invite_contact(
                current_user, company, form.email.data, form.name.data, utcnow(), main_contact=form.main_contact.data
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
            return redirect(url_for("admin.company", company_id=company.id) + "#contacts")
    return _company_page(company, invite_form=form, status=422)


def _back(user: User) -> str:
    return (
        url_for("admin.company", company_id=user.company_id) + "#contacts"
        if user.company_id
        else url_for("admin.users")
    )


def _user_action(user_id: int, action, done: str):
    user = _user(user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        action(user)
    except ServiceError as error:  # the reason, on the page the action was clicked on
        flash_refusal(error)
    else:
        flash(done % {"email": user.email}, "success")
    return redirect(_back(user))


@bp.route("/utilisateurs/<int:user_id>/desactiver", methods=["GET", "POST"])
@role_required("admin")
def deactivate_user(user_id: int):
    user = _user(user_id)
    return deactivation_step(user, _back(user))


@bp.post("/utilisateurs/<int:user_id>/reactiver")
@role_required("admin")
def reactivate_user(user_id: int):
    return _user_action(
        user_id, lambda u: invitations.reactivate(current_user, u), _("%(email)s peut de nouveau se connecter.")
    )


@bp.post("/utilisateurs/<int:user_id>/lien")
@role_required("admin")
def send_link(user_id: int):
    return _user_action(
        user_id,
        lambda u: invitations.send_reset(current_user, u, utcnow()),
        _("Un lien pour choisir un nouveau mot de passe a été envoyé à %(email)s."),
    )


@bp.post("/utilisateurs/<int:user_id>/principal")
@role_required("admin")
def main_contact(user_id: int):
    main = request.form.get("main") == "1"
    return _user_action(
        user_id,
        lambda u: invitations.set_main_contact(current_user, u, main),
        _("%(email)s est maintenant contact principal.") if main else _("%(email)s n'est plus contact principal."),
    )


@bp.post("/utilisateurs/<int:user_id>/role")
@role_required("admin")
def set_role(user_id: int):
    """First POST: what the change does (their sessions close); the confirmed one changes the role."""
    user, form = _user(user_id), RoleChangeForm()
    if not form.validate_on_submit():
        abort(400)
    # a role the service refuses (an unknown one, a client's or a consultant's account) is refused at once, not asked
    if form.confirmed.data == "1" or form.role.data not in STAFF or user.role not in STAFF:
        return _user_action(
            user_id,
            lambda u: invitations.set_role(current_user, u, form.role.data or ""),
            _("Rôle de %(email)s changé ; ses sessions ouvertes sont fermées."),
        )
    form.confirmed.data = "1"
    becomes = _("administrateur") if form.role.data == "admin" else _("planificateur")
    return render_template(
        "admin/confirm.html",
        form=form,
        title=_("Changer le rôle de %(email)s", email=user.email),
        question=_(
            "%(name)s devient %(role)s ; ses sessions ouvertes sont fermées : il devra se reconnecter.",
            name=user.name,
            role=becomes,
        ),
        button=_("Changer le rôle"),
        back=_back(user),
    )


@bp.route("/utilisateurs")
@role_required("admin")
def users():
    return _users_page()


def _users_page(staff_form: StaffInviteForm | None = None, status: int = 200):
    now = utcnow()
    people = db.session.scalars(select(User).options(joinedload(User.company)).order_by(User.role, User.email)).all()
    by_user: dict[int, list[ApiToken]] = {}
    for token in db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())):
        by_user.setdefault(token.user_id, []).append(token)
    locks = logins.locks(now)
    return render_template(
        "admin/users.html",
        people=people,
        tokens=by_user,
        now=now,
        action=EmptyForm(),
        staff_form=staff_form or StaffInviteForm(formdata=None),
        locked={u.id: logins.shown_until(locks[k]) for u in people if (k := logins.account_key(u.email)) in locks},
    ), status


@bp.post("/utilisateurs/inviter")
@role_required("admin")
def invite_staff():
    form = StaffInviteForm()
    if form.validate_on_submit():
        try:
            user = invitations.invite_staff(current_user, form.email.data, form.name.data, form.role.data, utcnow())
        except ServiceError as error:
            refused(form, error, "email")
        else:
            flash(_("Invitation envoyée à %(email)s.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return _users_page(form, 422)


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
    logins.unlock_now(current_user, user)
    flash(_("%(email)s peut de nouveau se connecter sans attendre.", email=user.email), "success")
    return redirect(url_for("admin.users"))


@bp.post("/utilisateurs/deconnecter")
@role_required("admin")
def end_sessions():
    """First POST: whose sessions and what ending them does; the confirmed one (and a valid form) ends them."""
    user, form = _posted(User, "user_id"), EndSessionsForm()
    if form.validate_on_submit() and form.confirmed.data == "1":
        logins.end_sessions_now(current_user, user)
        flash(_("Toutes les sessions de %(email)s sont fermées.", email=user.email), "success")
        return redirect(url_for("admin.users"))
    form.confirmed.data = "1"
    yours = user.id == current_user.id
    return render_template(
        "admin/confirm.html",
        form=form,
        title=_("Fermer les sessions de %(email)s", email=user.email),
        question=_("Vous serez déconnecté partout, ici compris ; vos jetons d'API restent valides.")
        if yours
        else _(
            "%(name)s sera déconnecté sur tous ses appareils et devra se reconnecter ; ses jetons d'API restent "
            "valides.",
            name=user.name,
        ),
        button=_("Fermer les sessions"),
        back=url_for("admin.users"),
        bookings=[],
        company=None,
    )


@bp.post("/jetons/revoquer")
@role_required("admin")
def revoke_token():
    """First POST: which token, whose, and what revoking does; the confirmed one revokes."""
    token = _posted(ApiToken, "token_id")
    done = _("Jeton « %(name)s » de %(email)s révoqué.", name=token.label or _("sans nom"), email=token.user.email)
    return revocation_step(token, url_for("admin.revoke_token"), url_for("admin.users"), done)
