"""Calendar pages: a consultant's feed and external calendars, a company's feed, the planners' conflicts."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from calendars.importer import CalendarImportError

from ..auth import role_required
from ..date_format import format_datetime
from ..extensions import db
from ..models import ExternalCalendar
from ..models.types import utcnow
from ..services import calendar_sync, feeds, locking
from ..services.errors import ServiceError
from . import shown_once
from .forms.booking import CalendarForm, first_error
from .refusals import flash_refusal

bp = Blueprint("calendars", __name__)


def booked_when(booking, fmt: str = "EEE d MMM HH:mm") -> str:
    """When a booking happens, as pages show it: `ven. 4 déc. 09:00 – 18:00` within a day; over
    several days, from its first to its last hour with the working days it covers (the same days
    as in the feeds), never a single day's times for a whole week's job."""
    start, end = booking.start_at, booking.end_at
    days = feeds.day_spans(booking.consultant, start, end) if booking.consultant is not None else [(start, end)]
    if len(days) == 1 and format_datetime(start, "yyyyMMdd") == format_datetime(end, "yyyyMMdd"):
        return f"{format_datetime(start, fmt)} – {format_datetime(end, 'HH:mm')}"
    listed = ", ".join(format_datetime(a, "EEE d MMM") for a, _b in days)
    return _(
        "%(start)s – %(end)s (%(count)s : %(days)s)",
        start=format_datetime(start, fmt),
        end=format_datetime(end, "EEE d MMM HH:mm"),
        count=ngettext("%(num)d jour ouvré", "%(num)d jours ouvrés", len(days)),
        days=listed,
    )


@bp.app_template_filter("booked_when")
def _booked_when_filter(booking, fmt: str = "EEE d MMM HH:mm") -> str:
    return booked_when(booking, fmt)


MAX_UPLOAD = 10 * 1024 * 1024
REFRESH_SECONDS = 5  # the page reloads itself while an import waits or runs


def _owner():
    """A consultant manages their own feed; a client contact, the company's."""
    if current_user.role == "consultant":
        return current_user.consultant or abort(403)
    return current_user.company


def _page(new_url: str | None = None):
    owner = _owner()
    calendars = []
    if current_user.role == "consultant":
        calendars = db.session.scalars(
            select(ExternalCalendar).where(ExternalCalendar.consultant_id == owner.id).order_by(ExternalCalendar.label)
        ).all()
    waiting = any(c.status in ("pending", "importing") for c in calendars)
    reports = {c.id: calendar_sync.summary(c) for c in calendars}
    response = make_response(
        render_template(
            "calendars/agenda.html",
            token=feeds.active(owner),
            new_url=new_url,
            calendars=calendars,
            reports=reports,
            waiting=waiting,
            refresh=REFRESH_SECONDS,
        )
    )
    if waiting and new_url is None:  # never reload away a feed URL shown only once
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response


@bp.route("/agenda")
@role_required("consultant", "client")
def agenda():
    raw = shown_once.take(shown_once.NEW_FEED)  # a new address: shown by this page once, gone on a reload
    if raw is None:
        return _page()
    page = _page(url_for("feeds.feed", token=raw, _external=True))
    page.headers["Cache-Control"] = "no-store"  # shown once: never from a cache or the back button
    return page


@bp.get("/agenda/flux")
@role_required("consultant", "client")
def rotate_feed_page():
    """Ask before replacing the address: calendars subscribed to the old one stop updating."""
    return render_template("calendars/feed_confirm.html", action="rotate", token=feeds.active(_owner()))


@bp.get("/agenda/flux/revoquer")
@role_required("consultant", "client")
def revoke_feed_page():
    """Ask before revoking the address."""
    return render_template("calendars/feed_confirm.html", action="revoke", token=feeds.active(_owner()))


@bp.post("/agenda/flux")
@role_required("consultant", "client")
def rotate_feed():
    """A new address, then a redirect (a reload must not replace it again) to the page that shows it once."""
    owner = _owner()
    replaced = feeds.active(owner) is not None
    shown_once.keep(shown_once.NEW_FEED, feeds.issue(current_user, owner))
    flash(
        _("Nouvelle adresse secrète créée : l'ancienne ne fonctionne plus.")
        if replaced
        else _("Adresse secrète créée."),
        "success",
    )
    return redirect(url_for("calendars.agenda"))


@bp.post("/agenda/flux/revoquer")
@role_required("consultant", "client")
def revoke_feed():
    feeds.revoke(current_user, _owner())
    flash(
        _("Adresse secrète révoquée : elle ne fonctionne plus, les agendas abonnés ne reçoivent plus vos rendez-vous."),
        "success",
    )
    return redirect(url_for("calendars.agenda"))


@bp.post("/agenda/calendriers")
@role_required("consultant")
def add_calendar():
    form = CalendarForm()
    upload = form.file.data
    data = upload.read(MAX_UPLOAD + 1) if upload and upload.filename else None
    url = (form.url.data or "").strip() or None
    label = form.label.data or ""
    try:
        if not form.validate_on_submit():
            raise ServiceError(first_error(form))
        if not data and not url:
            raise ServiceError(_("Indiquez une adresse ou choisissez un fichier .ics."))
        if data is not None and len(data) > MAX_UPLOAD:
            raise ServiceError(_("Fichier trop volumineux : 10 Mio au plus."))
        if url:  # read by the scheduler: a slow or hostile server never holds a web worker
            calendar_sync.queue(current_user, _owner(), label, url, utcnow())
        else:
            _calendar, count = calendar_sync.add(current_user, _owner(), label, utcnow(), data=data)
    except ServiceError as error:
        flash_refusal(error)
        page = agenda()
        page.headers.pop("Refresh", None)  # a reload would take away the reason and what was typed
        return page, 422  # the page again, with the reason; nothing was imported
    if url:
        flash(_("Calendrier enregistré : import en attente. Cette page se met à jour d'elle-même."), "success")
    else:
        flash(
            ngettext(
                "Calendrier importé : %(num)d plage occupée.", "Calendrier importé : %(num)d plages occupées.", count
            ),
            "success",
        )
    return redirect(url_for("calendars.agenda"))


def _mine(calendar_id: int) -> ExternalCalendar:
    calendar = db.session.get(ExternalCalendar, calendar_id)
    if calendar is None or calendar.consultant_id != _owner().id:
        abort(404)
    return calendar


@bp.post("/agenda/calendriers/<int:calendar_id>/relire")
@role_required("consultant")
def refresh_calendar(calendar_id: int):
    calendar = _mine(calendar_id)
    if calendar.url:
        if calendar_sync.request_refresh(calendar, utcnow()):
            flash(_("Nouvelle lecture demandée : import en attente. Cette page se met à jour d'elle-même."), "success")
        else:
            flash(_("Ce calendrier est déjà en attente d'import ou en cours d'import."), "info")
        return redirect(url_for("calendars.agenda"))
    upload = request.files.get("file")
    try:
        count = calendar_sync.reimport(
            calendar, utcnow(), upload.read(MAX_UPLOAD + 1) if upload and upload.filename else None
        )
    except CalendarImportError as error:
        flash(_("Import refusé : %(error)s", error=calendar_sync.refusal(error)), "error")
    else:
        flash(
            _("Calendrier inchangé depuis la dernière lecture.")
            if count is None
            else ngettext(
                "Calendrier relu : %(num)d plage occupée.", "Calendrier relu : %(num)d plages occupées.", count
            ),
            "success",
        )
    return redirect(url_for("calendars.agenda"))


@bp.post("/agenda/calendriers/<int:calendar_id>/supprimer")
@role_required("consultant")
def delete_calendar(calendar_id: int):
    """First POST: what removing does (its busy time stops blocking slots); the confirmed one removes."""
    calendar = _mine(calendar_id)
    if request.form.get("confirmed") != "1":
        return render_template("calendars/remove_confirm.html", calendar=calendar)
    with locking.locked([]):
        db.session.delete(db.session.merge(calendar))
    flash(_("Calendrier retiré."), "success")
    return redirect(url_for("calendars.agenda"))


@bp.route("/planification/conflits")
@role_required("planner", "admin")
def conflicts():
    return render_template("calendars/conflicts.html", rows=calendar_sync.conflicts(utcnow()))
