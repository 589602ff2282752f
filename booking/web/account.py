"""My account: my API tokens (create, revoke), my password."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from ..auth import role_required
from ..extensions import limiter
from ..models.types import utcnow
from ..security import login_limit, user_key
from ..services import accounts, tokens
from ..services.errors import Invalid
from . import shown_once
from .forms import refused
from .forms.account import PasswordForm, TokenForm
from .token_revocation import revocation_step

bp = Blueprint("account", __name__, url_prefix="/compte")
EVERYONE = ("client", "consultant", "planner", "admin")


def _page(status: int = 200, token_form=None, password_form=None, secret: str | None = None):
    html = render_template(
        "account/home.html",
        tokens=tokens.of(current_user),
        now=utcnow(),
        secret=secret,
        token_form=token_form or TokenForm(formdata=None),
        password_form=password_form or PasswordForm(formdata=None),
    )
    # The page may carry a token's only clear copy: no cache may keep it.
    return html, status, {"Cache-Control": "no-store"}


@bp.route("/")
@role_required(*EVERYONE)
def home():
    return _page(secret=shown_once.take(shown_once.NEW_API_TOKEN))  # shown by this page once, gone on a reload


@bp.post("/jetons")
@role_required(*EVERYONE)
def create_token():
    """A new token, then a redirect (a reload must not create another) to the page that shows it once."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(422, token_form=form)
    try:
        raw = tokens.create_named(current_user, form.name.data, int(form.lifetime.data or 0) or None, utcnow())
    except Invalid as error:
        refused(form, error, "name")
        return _page(422, token_form=form)
    shown_once.keep(shown_once.NEW_API_TOKEN, raw)
    flash(_("Jeton «\u00a0%(name)s\u00a0» créé.", name=form.name.data.strip()), "success")
    return redirect(url_for("account.home"), 303)


@bp.post("/jetons/revoquer")
@role_required(*EVERYONE)
def revoke_token():
    """First POST: which token and what revoking does; the confirmed one revokes."""
    token_id = request.form.get("token_id", "")
    if not token_id:
        abort(400, _("Indiquez le jeton à révoquer."))
    token = tokens.owned(current_user, token_id)  # another user's token: 404
    done = _("Jeton «\u00a0%(name)s\u00a0» révoqué\u00a0: il ne fonctionne plus.", name=token.label or _("sans nom"))
    return revocation_step(token, url_for("account.revoke_token"), url_for("account.home"), done)


@bp.post("/mot-de-passe")
@role_required(*EVERYONE)
@limiter.limit(login_limit, key_func=user_key)  # no guessing of the current password from a stolen session
def change_password():
    form = PasswordForm()
    if not form.validate_on_submit():
        return _page(422, password_form=form)
    try:
        accounts.change_password(current_user, form.current.data, form.new.data)
    except Invalid as error:
        refused(form, error, "current")
        return _page(422, password_form=form)
    login_user(current_user._get_current_object())  # this session goes on, in the new generation
    flash(_("Mot de passe changé. Vos autres sessions sont fermées."), "success")
    return redirect(url_for("account.home"))
