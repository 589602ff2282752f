"""A planner declares a consultant's absence."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from . import managed_day, paris_wall_time


class AbsenceForm(FlaskForm):
    """A planner declares a consultant's absence (Paris wall time)."""

    consultant = SelectField(_l("Consultant"), coerce=int, choices=[], validators=[InputRequired()])
    start = DateTimeLocalField(
        _l("Début (heure de Paris)"),
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(_l("Indiquez le début de l'absence.")), managed_day, paris_wall_time],
    )
    end = DateTimeLocalField(
        _l("Fin (heure de Paris)"),
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(_l("Indiquez la fin de l'absence.")), managed_day, paris_wall_time],
    )
    reason = StringField(_l("Motif"), validators=[Length(max=120)])
