"""Log in, log out, choose the language."""

import math
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..auth import home_endpoint
from ..extensions import limiter
from ..models.types import utcnow
from ..security import login_key, login_limit
from ..services import accounts, invitations, logins
from ..services.errors import ServiceError
from . import shown_once
from .forms import EmptyForm
from .forms import refused as refused_on
from .forms.auth import ForgotForm, LoginForm, SetPasswordForm
from .util import safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"], key_func=login_key)
@limiter.limit(lambda: "100 per minute", methods=["POST"])  # and per address, whatever the account
def login():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    form = LoginForm()
    if form.validate_on_submit():
        now = utcnow()
        try:
            user = logins.authenticate(form.email.data, form.password.data, now)
        except logins.LoginLocked as locked:
            return _locked(form, locked.until, now)
        except logins.LoginRefused:
            form.password.errors.append(_("E-mail ou mot de passe incorrect."))
        else:
            shown_once.forget()
            login_user(user)
            flash(_("Bienvenue, %(name)s.", name=user.name), "success")
            return redirect(safe_next(request.args.get("next"), url_for(home_endpoint(user))))
    return render_template("auth/login.html", form=form)


def _locked(form: LoginForm, until: datetime, now: datetime):
    """The same words whether the account exists or not: only when to come back (a whole minute, rounded up)."""
    shown = logins.shown_until(until)
    form.password.errors.append(
        _(
            "Trop d'échecs de connexion pour ce compte. Par sécurité, réessayez à partir de %(time)s.",
            time=format_time(shown, "HH:mm"),
        )
    )
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return render_template("auth/login.html", form=form), 429, {"Retry-After": str(seconds)}


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"], key_func=login_key)
@limiter.limit(lambda: "100 per minute", methods=["POST"])
def forgot():
    """A set-password link by mail; the same answer whether the account exists or not."""
    form = ForgotForm()
    if form.validate_on_submit():
        invitations.forgot(form.email.data, utcnow())
        flash(
            _(
                "Si un compte actif utilise %(email)s, un lien pour choisir un nouveau mot de passe vient d'y être "
                "envoyé (valable %(hours)s heures). Pensez à regarder dans les indésirables.",
                email=form.email.data.strip().lower(),
                hours=invitations.valid_hours("reset"),
            ),
            "success",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form), 422 if form.errors else 200


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: "30 per minute", methods=["POST"])
def set_password(token: str):
    """The page a mailed link opens: choose a password, once, before the link expires."""
    now = utcnow()
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}  # the URL is the secret
    try:
        user = invitations.check(token, now)
    except invitations.LinkRefused as refused:
        return render_template("auth/set_password.html", form=None, refused=refused.message), 410, headers
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = invitations.redeem(token, form.password.data, now)
        except invitations.LinkRefused as refused:
            return render_template("auth/set_password.html", form=None, refused=refused.message), 410, headers
        except ServiceError as error:
            refused_on(form, error, "password")
        else:
            if current_user.is_authenticated:
                logout_user()
            shown_once.forget()
            login_user(user)
            flash(_("Mot de passe enregistré. Bienvenue, %(name)s.", name=user.name), "success")
            return redirect(url_for(home_endpoint(user)))
    status = 422 if form.errors else 200
    return render_template("auth/set_password.html", form=form, user=user, refused=None), status, headers


@bp.post("/logout")
def logout():
    if EmptyForm().validate_on_submit():
        if current_user.is_authenticated:
            logins.log_out(current_user._get_current_object())  # every copy of this session stops working
        logout_user()
        shown_once.forget()
        flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/langue/<code>")
def language(code: str):
    if code in ("fr", "en") and EmptyForm().validate_on_submit():
        session["lang"] = code
        if current_user.is_authenticated:
            # kept on the account too: its mails (a planner's refusal) and its next sessions follow it
            accounts.set_locale(current_user._get_current_object(), code)
    return redirect(safe_next(request.form.get("next"), url_for("auth.login")))


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    return redirect(url_for("auth.login"))
