"""The mail outbox, for planners: queued, sent and failed mail, and a mail sent again now."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from ..auth import role_required
from ..inputs import INT_MAX
from ..models.types import utcnow
from ..services import mail
from ..services.errors import ServiceError

bp = Blueprint("outbox", __name__, url_prefix="/planification/courrier")

# ?statut= in the address (French) → the service's status.
FILTERS = {"en-attente": "queued", "envoye": "sent", "echec": "failed"}
LABELS = {"queued": _l("En attente"), "sent": _l("Envoyés"), "failed": _l("En échec")}
REASONS = {
    mail.EXPIRED: _l(
        "Conservé plus d'un jour sans serveur de courrier : non envoyé, pour ne pas distribuer de vieux messages."
    ),
    mail.INTERRUPTED: _l("Dernière tentative interrompue (planificateur arrêté pendant l'envoi)."),
}


class RetryForm(FlaskForm):
    message_id = IntegerField(validators=[InputRequired(), NumberRange(1, INT_MAX)])


def _filter(code: str | None) -> str | None:
    if code and code not in FILTERS:
        raise ServiceError(_("Filtre inconnu « %(code)s » : choisissez en-attente, envoye ou echec.", code=code))
    return FILTERS.get(code or "")


@bp.app_template_global()
def outbox_failed() -> int:
    """How many mails failed, for the planner's home page."""
    return mail.failed_count()


@bp.route("/")
@role_required("planner", "admin")
def index():
    code = request.args.get("statut") or None
    page = mail.outbox(_filter(code), request.args.get("page", 1, type=int))
    return render_template(
        "outbox/index.html",
        page=page,
        code=code,
        counts=mail.counts(),
        filters=FILTERS,
        labels=LABELS,
        reasons=REASONS,
        form=RetryForm(),
        server=bool(current_app.config.get("MAIL_SERVER")),
    )


@bp.post("/reessayer")
@role_required("planner", "admin")
def retry():
    form = RetryForm()
    if not form.validate_on_submit():
        raise ServiceError(_("Choisissez dans la liste le courriel à envoyer de nouveau."))
    entry = mail.retry_now(form.message_id.data, utcnow())
    flash(
        _(
            "Courriel pour %(to)s remis en file : il part avec la prochaine distribution, dans quelques secondes.",
            to=entry.recipient,
        ),
        "success",
    )
    code = request.form.get("statut")
    return redirect(
        url_for("outbox.index", statut=code if code in FILTERS else None, page=request.form.get("page", type=int))
    )
