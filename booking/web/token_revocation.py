"""The two steps of revoking an API token, the same from the account page and the admin's: which token and
what it does (its programs get 401 at once), then yes or no (no JavaScript needed)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from ..models import ApiToken
from ..services import tokens


def revocation_step(token: ApiToken, action: str, back: str, done: str):
    """The question on a first POST (nothing changes), the revocation once confirmed; then `done`, and back."""
    if request.form.get("confirmed") != "1" and token.revoked_at is None:
        return render_template("account/token_revoke.html", token=token, action=action, back=back)
    if not tokens.revoke_once(token, current_user):  # two tabs, or the confirmation sent twice
        flash(_("Le jeton « %(name)s » était déjà révoqué.", name=token.label or _("sans nom")), "info")
        return redirect(back)
    flash(done, "success")
    return redirect(back)
