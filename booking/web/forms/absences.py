"""A planner declares a consultant's absence, or edits one."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from . import managed_day, paris_wall_time


class _AbsenceTimes(FlaskForm):
    """When (Paris wall time) and why: what declaring and editing an absence share."""

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


class AbsenceForm(_AbsenceTimes):
    """A planner declares a consultant's absence."""

    consultant = SelectField(_l("Consultant"), coerce=int, choices=[], validators=[InputRequired()])


class AbsenceEditForm(_AbsenceTimes):
    """An absence changed from its consultant's page."""

    # the absence as the page showed it: a change made meanwhile by someone else is refused, not overwritten
    seen_start = StringField(validators=[InputRequired()])
    seen_end = StringField(validators=[InputRequired()])
