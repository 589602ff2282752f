"""Priority consulting pages (client request and quote; planner decision, progress, plan diff, apply),
absence repair, and the planner's week of all consultants."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateTimeLocalField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from calendars.worktime import PARIS
from .. import inputs, labels
from ..auth import role_required
from ..extensions import db
from ..models import ACTIVE_STATUSES, Booking, Consultant, ExternalBusy, PriorityRequest, ReshufflePlan, User
from ..models.types import utcnow
from ..services import priority, quotes
from ..services.errors import Invalid, ServiceError
from .forms import managed_day, refused
from .money import eur
from .refusals import flash_refusal

bp = Blueprint("priority", __name__)
bp.add_app_template_global(eur, "eur")  # amounts in the reader's format on every page (quotes, billing)


def _request_for(request_id: int) -> PriorityRequest:
    found = db.session.get(PriorityRequest, request_id)
    if found is None or (current_user.role == "client" and found.company_id != current_user.company_id):
        abort(404)
    return found


# --- client ---------------------------------------------------------------------------------------
@bp.route("/portail/priorite", methods=["GET", "POST"])
@role_required("client")
def client_requests():
    form = ConsultingRequestForm()
    skills = sorted({s for c in db.session.scalars(select(Consultant)) for s in c.skills})
    form.skill.choices = [(s, labels.SKILLS.get(s, s)) for s in skills]
    status = 200
    if form.validate_on_submit():
        try:
            priority.request_consulting(current_user, form.skill.data, form.amount.data, form.unit.data,
                                        form.description.data, utcnow())
        except ServiceError as error:
            refused(form, error, "amount")
            status = error.status
        else:
            flash(_("Demande envoyée : un planificateur vous répond rapidement."), "success")
            return redirect(url_for("priority.client_requests"))
    elif form.is_submitted():
        status = 422
    mine = db.session.scalars(select(PriorityRequest).where(PriorityRequest.company_id == current_user.company_id)
                              .order_by(PriorityRequest.requested_at.desc())).all()
    totals = {r.id: quote.total for r in mine if (quote := quotes.build(r, priority.latest(r)))}
    return render_template("priority/client.html", requests=mine, form=form, totals=totals), status


class ConsultingRequestForm(FlaskForm):
    """A client's request for priority consulting (the service checks the tier and the skill)."""
    skill = SelectField(_l("Compétence"), choices=[], validators=[InputRequired()])
    amount = IntegerField(_l("Durée"), default=1, validators=[
        InputRequired(_l("Indiquez une durée de 1 à 5.")), NumberRange(1, 5, _l("Durée : de 1 à 5 jours ou de 1 à 5 heures."))])
    unit = SelectField(_l("Unité"), choices=[("days", _l("jour(s)")), ("hours", _l("heure(s)"))],
                       validators=[InputRequired()])
    description = TextAreaField(_l("Description"), validators=[Length(max=4000)])


class AbsenceForm(FlaskForm):
    """A planner declares a consultant's absence (Paris wall time)."""
    consultant = SelectField(_l("Consultant"), coerce=int, choices=[], validators=[InputRequired()])
    start = DateTimeLocalField(_l("Début (heure de Paris)"), format="%Y-%m-%dT%H:%M",
                               validators=[InputRequired(_l("Indiquez le début de l'absence.")), managed_day])
    end = DateTimeLocalField(_l("Fin (heure de Paris)"), format="%Y-%m-%dT%H:%M",
                             validators=[InputRequired(_l("Indiquez la fin de l'absence.")), managed_day])
    reason = StringField(_l("Motif"), validators=[Length(max=120)])


class AcceptQuoteForm(FlaskForm):
    """The second step of accepting a quote: names the plan that was read, so that a changed quote is refused."""
    plan_id = HiddenField(validators=[DataRequired()])


class ApplyPlanForm(FlaskForm):
    """A planner applies a plan; before the client accepted its quote, with a note of their agreement."""
    agreement = TextAreaField(_l("Accord du client (par téléphone)"), validators=[Length(max=2000)])


@bp.route("/portail/priorite/<int:request_id>/devis")
@role_required("client")
def client_quote(request_id: int):
    found = _request_for(request_id)
    plan = priority.latest(found)
    return render_template("priority/quote.html", req=found, quote=quotes.build(found, plan), now=utcnow())


@bp.route("/portail/priorite/<int:request_id>/accepter", methods=["GET", "POST"])
@role_required("client")
def client_accept(request_id: int):
    found = _request_for(request_id)
    quote = quotes.build(found, priority.latest(found))
    if quote is None or found.status != "planned":  # the quote page says where the request stands
        if request.method == "POST":
            flash(_("Aucun devis à accepter pour cette demande."), "error")
        page = render_template("priority/quote.html", req=found, quote=quote, now=utcnow())
        return page, 409 if request.method == "POST" else 200
    form = AcceptQuoteForm()
    if not form.is_submitted() or not form.plan_id.data:  # an empty post (one click) gets the confirmation step
        form.plan_id.data = str(quote.plan_id)
    elif form.validate_on_submit():
        try:
            priority.accept_quote(current_user, found, utcnow(), inputs.identifier(form.plan_id.data, _("Devis")))
        except ServiceError as error:
            flash_refusal(error)
        else:
            flash(_("Devis accepté (%(total)s) : votre conseil prioritaire est planifié et les rendez-vous déplacés "
                    "ont été prévenus.", total=eur(quote.total)), "success")
        return redirect(url_for("priority.client_quote", request_id=request_id))
    return render_template("priority/quote_confirm.html", req=found, quote=quote, form=form, now=utcnow())


# --- planner --------------------------------------------------------------------------------------
@bp.route("/planification/priorite/<int:request_id>")
@role_required("planner", "admin")
def request_page(request_id: int):
    found = _request_for(request_id)
    plan = priority.latest(found)
    return render_template("priority/request.html", req=found, plan=plan, diff=_diff(plan) if plan else None,
                           quote=quotes.build(found, plan), now=utcnow(), apply_form=ApplyPlanForm())


@bp.post("/planification/priorite/<int:request_id>/decision")
@role_required("planner", "admin")
def decide(request_id: int):
    found = _request_for(request_id)
    try:
        priority.decide(current_user, found, request.form.get("decision") == "accept", utcnow())
    except ServiceError as error:
        flash_refusal(error)
    return redirect(url_for("priority.request_page", request_id=request_id))


@bp.post("/planification/plans/<int:plan_id>/appliquer")
@role_required("planner", "admin")
def apply(plan_id: int):
    plan = db.session.get(ReshufflePlan, plan_id) or abort(404)
    form = ApplyPlanForm()
    try:
        if not form.validate_on_submit():
            raise Invalid(_("Formulaire invalide : rechargez la page et recommencez."))
        priority.apply_as_planner(current_user, plan, utcnow(), form.agreement.data or "")
        flash(_("Plan appliqué : les clients et consultants concernés ont reçu leur invitation mise à jour."), "success")
    except ServiceError as error:
        flash_refusal(error)
    return redirect(_plan_home(plan))


@bp.post("/planification/plans/<int:plan_id>/recalculer")
@role_required("planner", "admin")
def recompute(plan_id: int):
    plan = db.session.get(ReshufflePlan, plan_id) or abort(404)
    fresh = priority.start(current_user, plan.kind, utcnow(), request=plan.request,
                           consultant=db.session.get(Consultant, plan.consultant_id) if plan.consultant_id else None)
    return redirect(_plan_home(fresh))


@bp.route("/planification/plans/<int:plan_id>")
@role_required("planner", "admin")
def plan_page(plan_id: int):
    plan = db.session.get(ReshufflePlan, plan_id) or abort(404)
    return render_template("priority/repair.html", plan=plan, diff=_diff(plan), apply_form=ApplyPlanForm())


def _plan_home(plan: ReshufflePlan) -> str:
    if plan.request_id:
        return url_for("priority.request_page", request_id=plan.request_id)
    return url_for("priority.plan_page", plan_id=plan.id)


@bp.route("/planification/absences", methods=["GET", "POST"])
@role_required("planner", "admin")
def absences():
    form = AbsenceForm()
    form.consultant.choices = [(c.id, c.name) for c in db.session.scalars(select(Consultant).join(Consultant.user)
                                                                          .order_by(User.name))]
    if form.validate_on_submit():
        consultant = db.session.get(Consultant, form.consultant.data)
        try:
            # Paris wall time, as typed
            plan = priority.mark_absent(current_user, consultant, form.start.data.replace(tzinfo=PARIS),
                                        form.end.data.replace(tzinfo=PARIS), form.reason.data, utcnow())
        except ServiceError as error:
            refused(form, error, "end")
            return render_template("priority/absences.html", form=form), error.status
        if plan is None:
            flash(_("Absence enregistrée : aucun rendez-vous n'est concerné."), "success")
            return redirect(url_for("priority.absences"))
        flash(_("Absence enregistrée : un plan de réaffectation est en cours de calcul."), "success")
        return redirect(url_for("priority.plan_page", plan_id=plan.id))
    return render_template("priority/absences.html", form=form), 422 if form.is_submitted() else 200


def _diff(plan: ReshufflePlan) -> dict | None:
    """What the plan changes: moved bookings with their compensation, per client, and per-consultant timelines."""
    if not plan.plan:
        return None
    moves = plan.plan.get("moves", [])
    rows, per_client = [], defaultdict(float)
    bookings = {m["id"]: db.session.get(Booking, int(m["id"][1:])) for m in moves}
    names = {c.id: c.name for c in db.session.scalars(select(Consultant))}
    for move in moves:
        booking = bookings[move["id"]]
        rows.append({"booking": booking, "from_consultant": names.get(int(move["from"]["consultant"][1:])),
                     "from": datetime.fromisoformat(move["from"]["start"]),
                     "to_consultant": names.get(int(move["to"]["consultant"][1:])),
                     "to": datetime.fromisoformat(move["to"]["start"]), "eur": move["compensation_eur"]})
        per_client[booking.company.name] += move["compensation_eur"]
    return {"rows": rows, "per_client": sorted(per_client.items()), "objective": plan.plan.get("objective", {}),
            "status": plan.plan.get("status"), "reason": plan.plan.get("reason", ""),
            "placements": [{"consultant": names.get(int(p["consultant"][1:])), "start": datetime.fromisoformat(p["start"]),
                            "end": datetime.fromisoformat(p["end"])} for p in plan.plan.get("placements", [])],
            "timelines": _timelines(plan, moves, names)}


def _timelines(plan: ReshufflePlan, moves: list[dict], names: dict) -> list[dict]:
    """Before/after bars for each consultant and day the plan touches (percent of 09:00–18:00)."""
    def bar(start: datetime, end: datetime) -> tuple[float, float]:
        local_start, local_end = start.astimezone(PARIS), end.astimezone(PARIS)
        a = max(0.0, (local_start.hour * 60 + local_start.minute - 540) / 540 * 100)
        b = min(100.0, (local_end.hour * 60 + local_end.minute - 540) / 540 * 100) if local_end.date() == local_start.date() else 100.0
        return round(a, 1), round(max(b - a, 0.8), 1)

    before, after, touched = defaultdict(list), defaultdict(list), set()
    moved = {m["id"]: m for m in moves}
    for b in plan.instance.get("bookings", []):
        start = datetime.fromisoformat(b["start"])
        end = start + timedelta(minutes=b["duration_minutes"]) if b["span"] == "block" else start.replace(hour=17)
        before[(b["consultant"], start.astimezone(PARIS).date())].append((b["kind"], *bar(start, end)))
        if b["id"] in moved:
            to = moved[b["id"]]["to"]
            new_start, new_end = datetime.fromisoformat(to["start"]), datetime.fromisoformat(to["end"])
            after[(to["consultant"], new_start.astimezone(PARIS).date())].append((b["kind"], *bar(new_start, new_end)))
            touched |= {(b["consultant"], start.astimezone(PARIS).date()), (to["consultant"], new_start.astimezone(PARIS).date())}
        else:
            after[(b["consultant"], start.astimezone(PARIS).date())].append((b["kind"], *bar(start, end)))
    for p in plan.plan.get("placements", []):
        start, end = datetime.fromisoformat(p["start"]), datetime.fromisoformat(p["end"])
        day = start.astimezone(PARIS).date()
        while day <= end.astimezone(PARIS).date():
            after[(p["consultant"], day)].append(("priority_consulting", 0.0, 100.0))
            touched.add((p["consultant"], day))
            day += timedelta(days=1)
    return [{"consultant": names.get(int(c[1:]), c), "day": d, "before": before[(c, d)], "after": after[(c, d)]}
            for c, d in sorted(touched, key=lambda k: (k[1], k[0]))][:40]


@bp.route("/planification/semaine")
@role_required("planner", "admin")
def week():
    """All consultants over one week: bookings by kind, absences, imported busy time."""
    text = request.args.get("semaine")
    monday = inputs.day(text, _("Semaine")) if text else utcnow().astimezone(PARIS).date()
    monday -= timedelta(days=monday.weekday())
    start = datetime.combine(monday, datetime.min.time(), PARIS)
    end = start + timedelta(days=5)
    consultants = db.session.scalars(select(Consultant)).all()
    cells = defaultdict(list)

    def add(consultant_id, kind, a, b, label):
        la, lb = a.astimezone(PARIS), b.astimezone(PARIS)
        day = max(la.date(), monday)
        while day <= min(lb.date(), monday + timedelta(days=4)):
            s = la if la.date() == day else datetime.combine(day, datetime.min.time().replace(hour=9), PARIS)
            e = lb if lb.date() == day else datetime.combine(day, datetime.min.time().replace(hour=18), PARIS)
            left = max(0.0, (s.hour * 60 + s.minute - 540) / 540 * 100)
            width = max(0.8, min(100.0, (e.hour * 60 + e.minute - 540) / 540 * 100) - left)
            if width > 0 and left < 100:
                cells[(consultant_id, day)].append((kind, round(left, 1), round(width, 1), label))
            day += timedelta(days=1)

    for b in db.session.scalars(select(Booking).where(Booking.status.in_(ACTIVE_STATUSES), Booking.start_at < end,
                                                      Booking.end_at > start)):
        add(b.consultant_id, b.kind, b.start_at, b.end_at, f"{b.company.name} {b.start_at.astimezone(PARIS):%H:%M}")
    for c in consultants:
        for a in c.absences:
            if a.start_at < end and a.end_at > start:
                add(c.id, "absence", a.start_at, a.end_at, a.reason or _("Absence"))
    for busy in db.session.scalars(select(ExternalBusy).where(ExternalBusy.start_at < end, ExternalBusy.end_at > start)):
        add(busy.consultant_id, "busy", busy.start_at, busy.end_at, _("Occupé (calendrier extérieur)"))
    days = [monday + timedelta(days=n) for n in range(5)]
    return render_template("priority/week.html", consultants=consultants, days=days, cells=cells, monday=monday,
                           previous=monday - timedelta(days=7), following=monday + timedelta(days=7))
