"""Admin pages for webhooks: subscriptions (create, edit, disable, delete after a confirmation), the
secret (shown once, rotated after a confirmation) and each subscription's delivery log with redelivery."""

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from ..auth import role_required
from ..inputs import INT_MAX
from ..models.types import utcnow
from ..services import webhook_delivery
from ..services import webhook_subscriptions as subs
from ..services.errors import ServiceError
from ..services.webhooks import EVENTS
from .listing import options
from .refusals import flash_refusal

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")
bp.add_app_template_filter(format_number, "grouped")  # counts in the page's language (1 234 / 1,234)

# ?statut= in the address (French) → the delivery log's status.
FILTERS = {"en-attente": "pending", "livre": "delivered", "echec": "failed"}
LABELS = {"pending": _l("En attente"), "delivered": _l("Livré"), "failed": _l("En échec")}


class SubscriptionForm(FlaskForm):
    url = StringField(
        _l("Adresse du destinataire (https://)"),
        validators=[InputRequired(_l("Donnez l'adresse https:// du destinataire.")), Length(max=subs.MAX_URL)],
    )
    description = StringField(_l("Description (facultative)"), validators=[Length(max=200)])
    events = SelectMultipleField(
        _l("Événements envoyés"),
        choices=options(EVENTS.items()),
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validators=[InputRequired(_l("Choisissez au moins un événement."))],
    )


class ActivationForm(FlaskForm):
    active = BooleanField()


class RotateForm(FlaskForm):
    keep_previous = BooleanField(
        _l("Garder l'ancien secret valable 24 heures (changement sans interruption)"), default=True
    )


class DeleteForm(FlaskForm):
    """The second step of a deletion: the page that asks once more posts it."""


class RedeliverForm(FlaskForm):
    delivery_id = IntegerField(validators=[InputRequired(), NumberRange(1, INT_MAX)])


def _secret_page(subscription, secret: str, created: bool):
    """The secret, this once: neither the browser nor a proxy may keep the page."""
    response = make_response(
        render_template("webhooks/secret.html", subscription=subscription, secret=secret, created=created)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _filter(code: str | None) -> str | None:
    if code and code not in FILTERS:
        raise ServiceError(_("Filtre inconnu « %(code)s » : choisissez en-attente, livre ou echec.", code=code))
    return FILTERS.get(code or "")


@bp.route("/")
@role_required("admin")
def index():
    return render_template(
        "webhooks/index.html", subscriptions=subs.listing(), counts=webhook_delivery.counts(), events=EVENTS
    )


@bp.route("/nouveau", methods=["GET", "POST"])
@role_required("admin")
def create():
    form = SubscriptionForm()
    if form.validate_on_submit():
        try:
            subscription, secret = subs.create(
                current_user, form.url.data, form.events.data, form.description.data or ""
            )
        except ServiceError as error:
            form.url.errors = [*form.url.errors, error.message] if error.code == "webhook_url" else form.url.errors
            flash_refusal(error)
        else:
            flash(
                _("Abonnement créé : les événements choisis partiront vers %(url)s.", url=subscription.url), "success"
            )
            return _secret_page(subscription, secret, created=True)
    elif request.method == "POST":
        flash(_("L'abonnement n'a pas été créé : corrigez les champs signalés."), "error")
    return render_template("webhooks/form.html", form=form, subscription=None)


@bp.route("/<int:subscription_id>", methods=["GET", "POST"])
@role_required("admin")
def show(subscription_id: int):
    subscription = subs.get(subscription_id)
    form = SubscriptionForm(obj=subscription)
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                subs.update(
                    current_user,
                    subscription_id,
                    url=form.url.data,
                    events=form.events.data,
                    description=form.description.data or "",
                )
            except ServiceError as error:
                flash_refusal(error)
            else:
                flash(_("Abonnement enregistré."), "success")
                return redirect(url_for("webhooks.show", subscription_id=subscription_id))
        else:
            flash(_("Rien n'a été enregistré : corrigez les champs signalés."), "error")
    code = request.args.get("statut") or None
    page = webhook_delivery.log_page(subscription_id, request.args.get("page", 1, type=int), _filter(code))
    return render_template(
        "webhooks/show.html",
        subscription=subscription,
        form=form,
        page=page,
        code=code,
        filters=FILTERS,
        labels=LABELS,
        status_of=webhook_delivery.status_of,
        error_of=webhook_delivery.error_sentence,
        counts=webhook_delivery.counts().get(subscription_id, {}),
        events=EVENTS,
        hint=subs.hint(subscription.secret),
        redeliver_form=RedeliverForm(),
        activation=ActivationForm(),
        max_attempts=webhook_delivery.MAX_ATTEMPTS,
        now=utcnow(),
    )


@bp.post("/<int:subscription_id>/activation")
@role_required("admin")
def activation(subscription_id: int):
    form = ActivationForm()
    form.validate_on_submit()
    subscription = subs.update(current_user, subscription_id, active=bool(form.active.data))
    flash(
        _("Abonnement réactivé : les nouveaux événements et ceux en attente partiront.")
        if subscription.active
        else _(
            "Abonnement désactivé : aucun nouvel événement n'est enregistré pour lui ; ceux déjà en attente "
            "partiront s'il est réactivé."
        ),
        "success",
    )
    return redirect(url_for("webhooks.show", subscription_id=subscription_id))


@bp.route("/<int:subscription_id>/rotation", methods=["GET", "POST"])
@role_required("admin")
def rotate(subscription_id: int):
    subscription = subs.get(subscription_id)
    form = RotateForm()
    if form.validate_on_submit():
        subscription, secret = subs.rotate(current_user, subscription_id, utcnow(), bool(form.keep_previous.data))
        flash(_("Nouveau secret créé."), "success")
        return _secret_page(subscription, secret, created=False)
    return render_template("webhooks/rotate.html", subscription=subscription, form=form)


@bp.route("/<int:subscription_id>/supprimer", methods=["GET", "POST"])
@role_required("admin")
def delete(subscription_id: int):
    subscription = subs.get(subscription_id)
    form = DeleteForm()
    if form.validate_on_submit():
        subs.delete(current_user, subscription_id)
        flash(_("Abonnement vers %(url)s supprimé, avec son journal d'envois.", url=subscription.url), "success")
        return redirect(url_for("webhooks.index"))
    return render_template(
        "webhooks/delete.html",
        subscription=subscription,
        form=form,
        counts=webhook_delivery.counts().get(subscription_id, {}),
    )


@bp.post("/<int:subscription_id>/renvoyer")
@role_required("admin")
def redeliver(subscription_id: int):
    form = RedeliverForm()
    if not form.validate_on_submit():
        raise ServiceError(_("Choisissez dans le journal l'envoi à renvoyer."))
    subscription = subs.get(subscription_id)
    delivery = webhook_delivery.redeliver(subscription_id, form.delivery_id.data, utcnow())
    flash(
        _(
            "Envoi %(event)s remis en file, avec le même identifiant : il part dans quelques secondes.",
            event=delivery.event_id,
        )
        if subscription.active
        else _(
            "Envoi %(event)s remis en file ; l'abonnement est désactivé : il partira quand vous le réactiverez.",
            event=delivery.event_id,
        ),
        "success",
    )
    code = request.form.get("statut")
    return redirect(
        url_for(
            "webhooks.show",
            subscription_id=subscription_id,
            statut=code if code in FILTERS else None,
            page=request.form.get("page", type=int),
        )
    )
