"""The two steps of deactivating a person, the same from the admin's pages and a main contact's: what it
does, then yes or no (no JavaScript needed)."""

from __future__ import annotations

from flask import flash, redirect, render_template
from flask_babel import gettext as _
from flask_login import current_user

from ..models import User
from ..models.types import utcnow
from ..services import feeds, invitations
from ..services.errors import ServiceError
from .forms import EmptyForm, refused


def deactivation_step(user: User, back: str):
    """The confirmation page, or the deactivation once confirmed (then back to `back`)."""
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            invitations.deactivate(current_user, user, utcnow())
        except ServiceError as error:
            refused(form, error)
        else:
            flash(
                _("%(email)s est désactivé : ses sessions et ses jetons d'API ne fonctionnent plus.", email=user.email),
                "success",
            )
            return redirect(back)
    return (
        render_template(
            "admin/confirm.html",
            form=form,
            title=_("Désactiver %(email)s", email=user.email),
            question=_(
                "%(name)s ne pourra plus se connecter ; ses sessions et ses jetons d'API "
                "s'arrêtent tout de suite. Vous pourrez le réactiver.",
                name=user.name,
            )
            + (
                " "
                + _(
                    "L'adresse secrète du calendrier de %(company)s, qu'il connaît, est aussi remplacée : les autres "
                    "contacts s'abonnent à la nouvelle depuis leur page Agenda.",
                    company=user.company.name,
                )
                if user.role == "client" and user.company is not None and feeds.active(user.company)
                else ""
            ),
            button=_("Désactiver le compte"),
            back=back,
            bookings=[],
            company=None,
        ),
        409 if form.errors else 200,
    )
