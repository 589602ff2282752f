"""Where a booking mail's link leads: checked, then on to the page for the reader's role (a consultant's
link opens their planning), which applies its own access rules."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import role_required
from ..services import access, links

bp = Blueprint("links", __name__)

CLIENT_PAGES = {"voir": "book.detail", "deplacer": "book.move", "annuler": "book.cancel_page"}


@bp.get("/lien/<purpose>/<link>")
@role_required("client", "consultant", "planner", "admin")
def follow(purpose: str, link: str):
    try:
        booking_id = links.read(purpose, link)
    except links.LinkRefused as refused:
        message = (
            _(
                "Ce lien a expiré : les liens de nos courriels valent 30 jours, et jusqu'au début du "
                "rendez-vous pour le déplacer ou l'annuler. Retrouvez le rendez-vous dans votre espace."
            )
            if refused.expired
            else _(
                "Ce lien n'est pas valide (incomplet ou modifié). Copiez-le en entier depuis le courriel, "
                "ou retrouvez le rendez-vous dans votre espace."
            )
        )
        return render_template("errors/link.html", message=message, expired=refused.expired), (
            410 if refused.expired else 400
        )
    booking = access.booking_for(current_user, booking_id)  # another company's: 404, like its page
    if current_user.role == "client":
        return redirect(url_for(CLIENT_PAGES[purpose], booking_id=booking.id))
    if current_user.role == "consultant":
        return redirect(url_for("consultant.home", _anchor=f"rendez-vous-{booking.id}"))
    return redirect(url_for("staff_bookings.detail", booking_id=booking.id))
