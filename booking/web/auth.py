"""Log in, log out, choose the language."""
import math
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from ..auth import home_endpoint
from ..extensions import db, limiter
from ..models.types import utcnow
from ..security import login_key, login_limit
from ..services import logins
from .util import safe_next

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired()])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired()])


class EmptyForm(FlaskForm):
    """A form with only its CSRF token (logout, language switch)."""


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
            login_user(user)
            flash(_("Bienvenue, %(name)s.", name=user.name), "success")
            return redirect(safe_next(request.args.get("next"), url_for(home_endpoint(user))))
    return render_template("auth/login.html", form=form)


def _locked(form: LoginForm, until: datetime, now: datetime):
    """The same words whether the account exists or not: only when to come back (a whole minute, rounded up)."""
    shown = logins.shown_until(until)
    form.password.errors.append(_("Trop d'échecs de connexion pour ce compte. Par sécurité, réessayez à partir "
                                  "de %(time)s.", time=format_time(shown, "HH:mm")))
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return render_template("auth/login.html", form=form), 429, {"Retry-After": str(seconds)}


@bp.post("/logout")
def logout():
    if EmptyForm().validate_on_submit():
        if current_user.is_authenticated:
            logins.end_sessions(current_user, current_user)  # every copy of this session stops working
            db.session.commit()
        logout_user()
        flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/langue/<code>")
def language(code: str):
    if code in ("fr", "en") and EmptyForm().validate_on_submit():
        session["lang"] = code
    return redirect(safe_next(request.form.get("next"), url_for("auth.login")))


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    return redirect(url_for("auth.login"))
