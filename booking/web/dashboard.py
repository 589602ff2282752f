"""The planners' dashboard: load, callbacks, hour banks, compensations and priority consulting as charts drawn
on the server, each with its numbers as a table and as a CSV file."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, render_template, request
from flask_babel import format_currency, format_percent
from flask_babel import gettext as _

from calendars.worktime import PARIS

from .. import labels
from ..auth import role_required
from ..inputs import BadInput
from ..models.types import utcnow
from ..services import dashboard, dashboard_csv
from . import dashboard_charts as charts
from .forms.dashboard import PeriodForm
from .util import csv_download

bp = Blueprint("dashboard", __name__, url_prefix="/planification/tableau-de-bord")


def _form() -> PeriodForm:
    return PeriodForm(request.args)


@bp.route("/")
@role_required("planner", "admin")
def index():
    form, today = _form(), utcnow().astimezone(PARIS).date()
    if not form.validate():  # a period that cannot be read: say which field, show the form again
        return render_template("dashboard/index.html", form=form, period=None), 400
    period = form.period(today)
    form.show(period)
    load = dashboard.load(period.first_monday, period.weeks)
    calls = dashboard.callbacks(period.first_month, period.months)
    paid = dashboard.compensations(period.first_month, period.months)
    placed = dashboard.priority(period.first_month, period.months)
    return render_template(
        "dashboard/index.html",
        form=form,
        period=period,
        today=today,
        load=load,
        calls=calls,
        banks=dashboard.hour_banks(today),
        paid=paid,
        placed=placed,
        heat_names_cells=charts.heat_map(load, period),
        call_bars=charts.callback_bars(calls, period),
        paid_bars=charts.compensation_bars(paid),
        placed_rows=charts.placements(placed, lambda code: labels.STATUSES.get(code, code)),
        current=form.shift(period),
        previous=form.shift(period, -period.weeks, -period.months),
        following=form.shift(period, period.weeks, period.months),
    )


@bp.context_processor
def _helpers() -> dict:
    """Number formats of this blueprint's pages (French or English, by Babel)."""
    return {
        "percent": format_percent,
        "timedelta": timedelta,
        "hours": charts.hours_label,
        "euros": lambda amount: format_currency(amount, "EUR"),
    }


@bp.route("/<chart>.csv")
@role_required("planner", "admin")
def export(chart: str):
    """One chart's numbers; the period is read as the page reads it."""
    if chart not in dashboard_csv.CHARTS:
        abort(404)
    form, today = _form(), utcnow().astimezone(PARIS).date()
    if not form.validate():
        raise BadInput(
            _(
                "Période illisible : %(errors)s",
                errors=" ; ".join(
                    f"{form[name].label.text} : {' '.join(map(str, errors))}" for name, errors in form.errors.items()
                ),
            )
        )
    period = form.period(today)
    text = {
        "charge": lambda: dashboard_csv.load(period.first_monday, period.weeks),
        "rappels": lambda: dashboard_csv.callbacks(period.first_month, period.months),
        "banques-heures": lambda: dashboard_csv.hour_banks(today),
        "compensations": lambda: dashboard_csv.compensations(period.first_month, period.months),
        "conseil-prioritaire": lambda: dashboard_csv.priority(period.first_month, period.months),
    }[chart]()
    first = period.first_monday if chart == "charge" else period.first_month if chart != "banques-heures" else today
    return csv_download(text, f"tableau-de-bord-{chart}-{first.isoformat()}.csv")
