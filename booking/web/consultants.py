"""Planner pages for consultants: the list, a new consultant, one consultant's settings and absences
(edited and deleted, each with the bookings it conflicts with and the repair plan's link)."""

from __future__ import annotations

import re
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from calendars.worktime import PARIS

from .. import labels
from ..auth import role_required
from ..extensions import db
from ..models import Absence, Consultant
from ..models.types import utcnow
from ..services import consultants, priority
from ..services.errors import ServiceError
from .forms.absences import AbsenceEditForm
from .listing import options, skill_options
from .refusals import flash_refusal

bp = Blueprint("consultants", __name__, url_prefix="/planification/consultants")

WEEKDAYS = (_l("Lundi"), _l("Mardi"), _l("Mercredi"), _l("Jeudi"), _l("Vendredi"), _l("Samedi"), _l("Dimanche"))
_BLOCK = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})$")
REGIONS = options(
    [
        ("", _l("France (jours fériés nationaux)")),
        ("57", _l("Moselle (57)")),
        ("67", _l("Bas-Rhin (67)")),
        ("68", _l("Haut-Rhin (68)")),
    ]
)


def parse_blocks(text: str) -> list[list[str]]:
    """ "09:00-12:30, 14:00-18:00" → [["09:00", "12:30"], ["14:00", "18:00"]]; empty: not working that day."""
    blocks = []
    for part in filter(None, (p.strip() for p in re.split(r"[,;]", text or ""))):
        match = _BLOCK.match(part)
        if not match or int(match[1]) > 23 or int(match[3]) > 24 or int(match[2]) > 59 or int(match[4]) > 59:
            raise ValidationError(_("« %(part)s » : écrivez des plages comme 09:00-12:30, 14:00-18:00.", part=part))
        start, end = f"{int(match[1]):02d}:{match[2]}", f"{int(match[3]):02d}:{match[4]}"
        if end == "24:00":
            end = "23:59"
        if end <= start:
            raise ValidationError(_("« %(part)s » : la fin doit suivre le début.", part=part))
        blocks.append([start, end])
    return blocks


def _blocks_validator(_form, field):
    parse_blocks(field.data)


def _show_blocks(blocks) -> str:
    return ", ".join(f"{a}-{b}" for a, b in blocks)


def week_summary(pattern: dict) -> list[tuple[str, str]]:
    """Consecutive days with the same hours together: [("Lundi – Vendredi", "09:00-12:30, 14:00-18:00")]."""
    runs: list[list] = []
    for day in range(7):
        blocks = pattern.get(str(day))
        if blocks and runs and runs[-1][1] == day - 1 and runs[-1][2] == blocks:
            runs[-1][1] = day
        elif blocks:
            runs.append([day, day, blocks])
    return [
        (str(WEEKDAYS[a]) if a == b else f"{WEEKDAYS[a]} – {WEEKDAYS[b]}", _show_blocks(blocks))
        for a, b, blocks in runs
    ]


class ConsultantForm(FlaskForm):
    name = StringField(
        _l("Nom"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[DataRequired(_l("Indiquez le nom de la personne.")), Length(max=120)],
    )
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[
            Optional(),
            Length(max=254),
            Regexp(
                r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Adresse e-mail invalide : par exemple prenom.nom@erplib.fr.")
            ),
        ],
    )
    # checkboxes of the known skills; a value no box sends is left to the service, which refuses it (unknown_skill)
    skills = SelectMultipleField(
        _l("Compétences"),
        choices=[],
        validate_choice=False,
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
    holiday_region = SelectField(_l("Jours fériés"), choices=REGIONS)
    daily_cap = IntegerField(
        _l("Rendez-vous par jour au plus"), default=6, validators=[InputRequired(), NumberRange(0, 20)]
    )
    active = BooleanField(_l("Actif (reçoit des rendez-vous)"), default=True)
    day0 = StringField(WEEKDAYS[0], validators=[Length(max=80), _blocks_validator])
    day1 = StringField(WEEKDAYS[1], validators=[Length(max=80), _blocks_validator])
    day2 = StringField(WEEKDAYS[2], validators=[Length(max=80), _blocks_validator])
    day3 = StringField(WEEKDAYS[3], validators=[Length(max=80), _blocks_validator])
    day4 = StringField(WEEKDAYS[4], validators=[Length(max=80), _blocks_validator])
    day5 = StringField(WEEKDAYS[5], validators=[Length(max=80), _blocks_validator])
    day6 = StringField(WEEKDAYS[6], validators=[Length(max=80), _blocks_validator])

    def days(self):
        return [getattr(self, f"day{n}") for n in range(7)]

    def pattern(self) -> dict:
        return {str(n): blocks for n, f in enumerate(self.days()) if (blocks := parse_blocks(f.data))}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.skills.choices = skill_options(labels.SKILLS)  # per request: sorted in the reader's language

    def skill_list(self) -> list[str]:
        return list(self.skills.data or [])

    def fill(self, consultant: Consultant) -> None:
        self.name.data, self.skills.data = consultant.name, list(consultant.skills)
        self.holiday_region.data, self.daily_cap.data = consultant.holiday_region or "", consultant.daily_cap
        self.active.data = consultant.user.active
        for n, f in enumerate(self.days()):
            f.data = _show_blocks(consultant.working_pattern.get(str(n), []))


class ConfirmForm(FlaskForm):
    """The second step of a destructive action (a plain form: it works without JavaScript)."""


def _consultant(consultant_id: int) -> Consultant:
    return db.session.get(Consultant, consultant_id) or abort(404)


def _absence(consultant: Consultant, absence_id: int) -> Absence:
    found = db.session.get(Absence, absence_id)
    if found is None or found.consultant_id != consultant.id:
        abort(404)
    return found


@bp.route("/")
@role_required("planner", "admin")
def index():
    state = request.args.get("etat", "actifs")
    if state not in ("actifs", "inactifs", "tous"):
        abort(400)
    found = consultants.listing({"actifs": True, "inactifs": False}.get(state))
    return render_template("consultants/index.html", consultants=found, state=state, week_summary=week_summary)


@bp.route("/nouveau", methods=["GET", "POST"])
@role_required("planner", "admin")
def create():
    form = ConsultantForm()
    if request.method == "GET":
        for f in form.days()[:5]:
            f.data = "09:00-12:30, 14:00-18:00"
    elif form.validate_on_submit():
        if not form.email.data:
            form.email.errors.append(_("L'adresse e-mail est obligatoire pour un nouveau consultant."))
        else:
            try:
                created = consultants.create(
                    current_user,
                    name=form.name.data,
                    email=form.email.data,
                    skills=form.skill_list(),
                    holiday_region=form.holiday_region.data,
                    working_pattern=form.pattern(),
                    daily_cap=form.daily_cap.data,
                )
            except ServiceError as error:
                flash_refusal(error)
                return render_template("consultants/edit.html", form=form, consultant=None), error.status
            flash(
                _("Consultant %(name)s ajouté : ses créneaux suivent ses horaires dès maintenant.", name=created.name),
                "success",
            )
            return redirect(url_for("consultants.edit", consultant_id=created.id))
    status = 422 if request.method == "POST" else 200
    return render_template("consultants/edit.html", form=form, consultant=None), status


@bp.route("/<int:consultant_id>", methods=["GET", "POST"])
@role_required("planner", "admin")
def edit(consultant_id: int):
    consultant = _consultant(consultant_id)
    form = ConsultantForm()
    status = 200
    if request.method == "GET":
        form.fill(consultant)
    elif form.validate_on_submit():
        try:
            consultants.update(
                current_user,
                consultant.id,
                name=form.name.data,
                skills=form.skill_list(),
                holiday_region=form.holiday_region.data,
                working_pattern=form.pattern(),
                daily_cap=form.daily_cap.data,
                active=form.active.data,
            )
        except ServiceError as error:
            status = flash_refusal(error)
        else:
            flash(_("Fiche de %(name)s enregistrée.", name=consultant.name), "success")
            return redirect(url_for("consultants.edit", consultant_id=consultant.id))
    else:
        status = 422
    now = utcnow()
    past = request.args.get("passees") == "1"
    rows = [
        (a, consultants.conflicts(consultant.id, a.start_at, a.end_at, now))
        for a in consultant.absences
        if past or a.end_at > now
    ]
    unknown = [s for s in consultant.skills if s not in labels.SKILLS]  # typed before skills were a choice
    return render_template(
        "consultants/edit.html",
        form=form,
        consultant=consultant,
        absences=rows,
        past=past,
        repair=ConfirmForm(),
        unknown_skills=unknown,
    ), status


@bp.post("/<int:consultant_id>/reparer")
@role_required("planner", "admin")
def repair(consultant_id: int):
    """A repair plan for the bookings this consultant's absences now hit (the existing repair page)."""
    consultant = _consultant(consultant_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    plan = priority.start_repair(current_user, consultant, utcnow())
    flash(_("Plan de réaffectation en cours de calcul."), "success")
    return redirect(url_for("priority.plan_page", plan_id=plan.id))


def _local(instant: datetime) -> datetime:
    return instant.astimezone(PARIS).replace(tzinfo=None, second=0, microsecond=0)


@bp.route("/<int:consultant_id>/absences/<int:absence_id>", methods=["GET", "POST"])
@role_required("planner", "admin")
def absence(consultant_id: int, absence_id: int):
    consultant = _consultant(consultant_id)
    found = _absence(consultant, absence_id)
    form = AbsenceEditForm()
    status = 200
    if request.method == "GET":
        form.start.data, form.end.data, form.reason.data = _local(found.start_at), _local(found.end_at), found.reason
        form.seen_start.data, form.seen_end.data = found.start_at.isoformat(), found.end_at.isoformat()
    elif form.validate_on_submit():
        try:
            seen = (datetime.fromisoformat(form.seen_start.data), datetime.fromisoformat(form.seen_end.data))
        except ValueError:
            abort(400)
        try:
            consultants.update_absence(
                current_user,
                consultant.id,
                found.id,
                form.start.data.replace(tzinfo=PARIS),
                form.end.data.replace(tzinfo=PARIS),
                form.reason.data or "",
                seen,
            )
        except ServiceError as error:
            status = flash_refusal(error)
        else:
            hits = consultants.conflicts(
                consultant.id, form.start.data.replace(tzinfo=PARIS), form.end.data.replace(tzinfo=PARIS), utcnow()
            )
            if hits:
                flash(
                    _(
                        "Absence modifiée : elle couvre %(n)d rendez-vous ; calculez un plan de réaffectation.",
                        n=len(hits),
                    ),
                    "error",
                )
            else:
                flash(_("Absence modifiée : aucun rendez-vous n'est concerné."), "success")
            return redirect(url_for("consultants.edit", consultant_id=consultant.id) + "#absences")
    else:
        status = 422
    hits = consultants.conflicts(consultant.id, found.start_at, found.end_at, utcnow())
    return render_template(
        "consultants/absence.html",
        consultant=consultant,
        absence=found,
        form=form,
        conflicts=hits,
        repair=ConfirmForm(),
    ), status


@bp.route("/<int:consultant_id>/absences/<int:absence_id>/supprimer", methods=["GET", "POST"])
@role_required("planner", "admin")
def delete_absence(consultant_id: int, absence_id: int):
    consultant = _consultant(consultant_id)
    found = _absence(consultant, absence_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            consultants.delete_absence(current_user, consultant.id, found.id)
        except ServiceError as error:
            flash_refusal(error)
        else:
            flash(
                _("Absence supprimée : %(name)s est de nouveau disponible sur cette période.", name=consultant.name),
                "success",
            )
        return redirect(url_for("consultants.edit", consultant_id=consultant.id) + "#absences")
    return render_template("consultants/absence_delete.html", consultant=consultant, absence=found, form=form)
