"""Booking pages: a chosen slot, the hold's details, prerequisites and notes; a consultant's outcome and
follow-up; an external calendar. Slots come from buttons, so their only error is a slot that is not one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import Field, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ... import inputs

SLOT_MISSING = _l("Choisissez un créneau dans la liste.")


class InstantField(Field):
    """An ISO 8601 instant with its offset (a slot button's value), parsed as the API parses it."""

    def _value(self) -> str:
        return self.data.isoformat() if self.data else ""

    def process_formdata(self, valuelist) -> None:
        self.data = None
        if valuelist and valuelist[0]:
            try:
                self.data = inputs.instant(valuelist[0])
            except inputs.BadInput as error:
                raise ValueError(error.message) from None


class PriceField(Field):
    """A price in euros as the consent page wrote it ("82.50", exact: a Decimal's text, never a float's), read by
    `inputs.euros` (the API's rule too); absent or empty: none was shown (the contract lists no rate), nothing to
    re-check."""

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)

    def process_formdata(self, valuelist) -> None:
        self.data = None
        if valuelist and valuelist[0]:
            try:
                self.data = inputs.euros(valuelist[0])
            except inputs.BadInput:  # what the page wrote cannot be garbled but by hand: say to reload it
                raise ValueError(str(PRICE_GARBLED)) from None


PRICE_GARBLED = _l("Prix affiché illisible : rouvrez la page, puis confirmez de nouveau.")


class ConfirmForm(FlaskForm):
    """The confirmation of a hold, at the billable minutes and the price its page showed (absent: at the current
    cost)."""

    billable_minutes = IntegerField(validators=[Optional(), NumberRange(0, 100_000)])
    price = PriceField()


class SlotForm(FlaskForm):
    start = InstantField(validators=[InputRequired(SLOT_MISSING)])


class MoveForm(SlotForm):
    """A slot chosen to move a booking to; `seen`: the booking's SEQUENCE when the move was shown, once confirmed."""

    seen = IntegerField(validators=[Optional(), NumberRange(min=0, max=inputs.INT_MAX)])
    billable = IntegerField(validators=[Optional(), NumberRange(min=0, max=inputs.INT_MAX)])  # the cost shown
    price = PriceField()  # and its price


class CancelForm(FlaskForm):
    """A cancellation consented to; `seen`: the booking's SEQUENCE its page showed (moved since: refused)."""

    seen = IntegerField(validators=[Optional(), NumberRange(min=0, max=inputs.INT_MAX)])


class HoldForm(SlotForm):
    environment = StringField(validators=[Optional(), Length(max=20)])
    notes = TextAreaField(filters=[lambda text: (text or "")[:2000]])


class PrerequisiteForm(FlaskForm):
    code = HiddenField(validators=[InputRequired(), Length(max=60)])
    done = HiddenField(default="1")

    @property
    def ticked(self) -> bool:
        return self.done.data == "1"


class NotesForm(FlaskForm):
    notes = TextAreaField(_l("Analyse de l'environnement"), validators=[Length(max=20_000)])


class OutcomeForm(FlaskForm):
    outcome = StringField(validators=[InputRequired(), Length(max=20)])


class CalendarForm(FlaskForm):
    label = StringField(_l("Nom"), validators=[Length(max=120)])
    url = StringField(_l("Adresse (https://…)"), validators=[Optional(), Length(max=2000)])
    file = FileField()


def first_error(form: FlaskForm) -> str:
    """The first error of a form whose fields are buttons or hidden inputs: shown above the page."""
    return next((str(e) for errors in form.errors.values() for e in errors), str(SLOT_MISSING))
