"""The dashboard's period: from which week and for how many weeks (load), from which month and for how many
months (callbacks, compensations, priority consulting). A GET form: the period stays in the address."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, MonthField, SelectChoice, SelectField
from wtforms.validators import Optional

from ...services.dashboard import MONTH_COUNTS, WEEK_COUNTS, Period, add_months, default_period, monday
from . import managed_day


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False  # reading figures changes nothing

    semaine = DateField(_l("Semaines à partir du"), validators=[Optional(), managed_day])
    semaines = SelectField(
        _l("Durée"),
        default=str(WEEK_COUNTS[1]),
        choices=[SelectChoice(str(n), _l("%(num)s semaines", num=n)) for n in WEEK_COUNTS],
    )
    mois = MonthField(_l("Mois à partir de"), validators=[Optional(), managed_day])
    nb_mois = SelectField(
        _l("Nombre de mois"),
        default=str(MONTH_COUNTS[1]),
        choices=[SelectChoice(str(n), _l("%(num)s mois", num=n)) for n in MONTH_COUNTS],
    )

    def period(self, today: date) -> Period:
        """The validated period; an empty start falls back to the default (see `default_period`)."""
        default = default_period(today)
        return Period(
            monday(self.semaine.data) if self.semaine.data else default.first_monday,
            int(self.semaines.data),
            self.mois.data.replace(day=1) if self.mois.data else default.first_month,
            int(self.nb_mois.data),
        )

    def show(self, period: Period) -> None:
        """Fill the empty starts with the period shown, so that the form says what the charts show."""
        self.semaine.data, self.mois.data = period.first_monday, period.first_month

    def shift(self, period: Period, weeks: int = 0, months: int = 0) -> dict:
        """The address arguments of the same period moved by whole weeks or months (previous / next links)."""
        return {
            "semaine": (period.first_monday + timedelta(weeks=weeks)).isoformat(),
            "semaines": period.weeks,
            "mois": f"{add_months(period.first_month, months):%Y-%m}",
            "nb_mois": period.months,
        }
