"""The contract matrix and booking rules, for admins: edit (the rules as fields, or the whole TOML),
preview the change as a diff, apply it (audited), export the contract in force as TOML."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from .. import contract
from ..auth import role_required
from ..models.types import utcnow
from ..services import contract_store
from ..services.errors import ServiceError
from .forms import refused
from .refusals import flash_refusal

bp = Blueprint("policy", __name__, url_prefix="/admin/contrat")

GATED = "minor_update"  # the service whose prerequisites gate the rules form shows


def _bounded(name: str):
    low, high = contract.POLICY_BOUNDS[name]
    return [InputRequired(), NumberRange(low, high)]


class RulesForm(FlaskForm):
    notice_hours = IntegerField(
        _l("Délai minimum de réservation (heures ouvrées)"), validators=_bounded("notice_hours")
    )
    horizon_days = IntegerField(_l("Horizon de réservation (jours)"), validators=_bounded("horizon_days"))
    grid_minutes = IntegerField(_l("Grille des débuts (minutes)"), validators=_bounded("grid_minutes"))
    buffer_minutes = IntegerField(
        _l("Battement entre deux rendez-vous (minutes)"), validators=_bounded("buffer_minutes")
    )
    cancel_cutoff_hours = IntegerField(
        _l("Annulation sans frais jusqu'à (heures ouvrées avant)"), validators=_bounded("cancel_cutoff_hours")
    )
    hold_minutes = IntegerField(_l("Réservation provisoire (minutes)"), validators=_bounded("hold_minutes"))
    follow_up_hold_hours = IntegerField(
        _l("Proposition de suivi gardée (heures)"), validators=_bounded("follow_up_hold_hours")
    )
    gate_hours = IntegerField(
        _l("Prérequis confirmés au plus tard (heures ouvrées avant une mise à jour mineure)"),
        validators=[InputRequired(), NumberRange(0, 400)],
    )

    POLICY = (
        "notice_hours",
        "horizon_days",
        "grid_minutes",
        "buffer_minutes",
        "cancel_cutoff_hours",
        "hold_minutes",
        "follow_up_hold_hours",
    )

    def fill(self, terms: contract.Contract) -> None:
        for name in self.POLICY:
            getattr(self, name).data = getattr(terms.policy, name)
        self.gate_hours.data = terms.services[GATED].prerequisites_gate_hours if GATED in terms.services else 0

    def edit(self, text: str) -> str:
        for name in self.POLICY:
            text = contract_store.set_value(text, "booking", name, getattr(self, name).data)
        return contract_store.set_value(text, f"services.{GATED}", "prerequisites_gate_hours", self.gate_hours.data)


class TextForm(FlaskForm):
    text = TextAreaField(
        _l("Contrat complet (TOML) : formules, accès, engagements, tarifs, prestations"),
        validators=[InputRequired(), Length(max=contract_store.MAX_TEXT)],
    )


class ApplyForm(FlaskForm):
    text = HiddenField(validators=[InputRequired(), Length(max=contract_store.MAX_TEXT)])
    based_on = HiddenField()


def _page(rules: RulesForm, text: TextForm, status: int = 200, **extra):
    return render_template(
        "policy/index.html",
        rules=rules,
        text_form=text,
        history=contract_store.history(),
        version=contract_store.newest_id(),
        **extra,
    ), status


@bp.route("/")
@role_required("admin")
def index():
    rules, text = RulesForm(formdata=None), TextForm(formdata=None)
    rules.fill(contract.current())
    text.text.data = contract_store.text_in_force()
    return _page(rules, text)


@bp.post("/apercu")
@role_required("admin")
def preview():
    """The change as a diff, before anything is applied; invalid input is shown again with its error."""
    which = request.form.get("source")
    in_force = contract_store.text_in_force()
    rules = RulesForm(formdata=request.form if which == "regles" else None)
    text = TextForm(formdata=request.form if which == "texte" else None)
    if which == "regles":
        text.text.data = in_force
        if not rules.validate_on_submit():
            return _page(rules, text, 422)
        proposed = rules.edit(in_force)
    elif which == "texte":
        rules.fill(contract.current())
        if not text.validate_on_submit():
            return _page(rules, text, 422)
        proposed = text.text.data
    else:
        rules.fill(contract.current())
        text.text.data = in_force
        flash(_("Choisissez les règles ou le texte complet à prévisualiser."), "error")
        return _page(rules, text, 400)
    proposed = contract_store.normalise(proposed)
    try:
        contract_store.check(proposed)
    except ServiceError as error:
        refused(rules, error) if which == "regles" else refused(text, error, "text")
        return _page(rules, text, error.status)
    if which == "regles":
        text.text.data = proposed
    lines = contract_store.diff(in_force, proposed)
    apply_form = ApplyForm(formdata=None, prefix="apply", text=proposed, based_on=contract_store.newest_id() or "")
    return _page(rules, text, diff=lines, apply_form=apply_form)


@bp.post("/appliquer")
@role_required("admin")
def apply():
    form = ApplyForm(prefix="apply")
    if not form.validate_on_submit():
        flash(_("Formulaire incomplet : prévisualisez de nouveau le changement."), "error")
        return redirect(url_for("policy.index"))
    based_on = int(form.based_on.data) if (form.based_on.data or "").isdigit() else None
    try:
        version = contract_store.apply(current_user, form.text.data, based_on, utcnow())
    except ServiceError as error:
        flash_refusal(error)
        return redirect(url_for("policy.index"))
    flash(
        _("Contrat appliqué (version %(n)d) : les créneaux et les règles le suivent dès maintenant.", n=version.id),
        "success",
    )
    return redirect(url_for("policy.index"))


@bp.route("/contrat.toml")
@role_required("admin")
def export():
    return Response(
        contract_store.text_in_force(),
        mimetype="application/toml",
        headers={"Content-Disposition": "attachment; filename=contract.toml"},
    )
