"""Log in, log out, choose the language."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from ..auth import home_endpoint
from ..extensions import db, limiter
from ..security import login_key, login_limit
from ..models import User
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
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user and user.active and user.check_password(form.password.data):
            login_user(user)
            flash(_("Bienvenue, %(name)s.", name=user.name), "success")
            return redirect(safe_next(request.args.get("next"), url_for(home_endpoint(user))))
        form.password.errors.append(_("E-mail ou mot de passe incorrect."))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    if EmptyForm().validate_on_submit():
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
