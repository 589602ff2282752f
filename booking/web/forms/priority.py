"""Priority consulting forms: the client's request, the acceptance of a quote, a planner's apply or refusal."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ...models.bookings import REFUSAL_REASON_MAX


class ConsultingRequestForm(FlaskForm):
    """A client's request for priority consulting (the service checks the tier and the skill)."""

    skill = SelectField(_l("Compétence"), choices=[], validators=[InputRequired()])
    amount = IntegerField(
        _l("Durée"),
        default=1,
        validators=[
            InputRequired(_l("Indiquez une durée de 1 à 5.")),
            NumberRange(1, 5, _l("Durée : de 1 à 5 jours ou de 1 à 5 heures.")),
        ],
    )
    unit = SelectField(
        _l("Unité"),
        choices=[SelectChoice("days", _l("jours")), SelectChoice("hours", _l("heures"))],
        validators=[InputRequired()],
    )
    description = TextAreaField(_l("Description"), validators=[Length(max=4000)])


class AcceptQuoteForm(FlaskForm):
    """The second step of accepting a quote: names the plan that was read, so that a changed quote is refused."""

    plan_id = HiddenField(validators=[DataRequired()])


class ApplyPlanForm(FlaskForm):
    """A planner applies a plan; before the client accepted its quote, with a note of their agreement."""

    agreement = TextAreaField(_l("Accord du client (par téléphone)"), validators=[Length(max=2000)])


class RefuseRequestForm(FlaskForm):
    """A planner refuses a request: the reason the client will read (the service checks it again)."""

    reason = TextAreaField(
        _l("Motif du refus"),
        description=_l("Le client le lit dans son courriel et sur sa page : dites-lui ce qu'il peut faire."),
        validators=[
            DataRequired(_l("Indiquez le motif du refus : le client le reçoit et peut agir en conséquence.")),
            Length(max=REFUSAL_REASON_MAX, message=_l("Motif trop long : %(max)d caractères au plus.")),
        ],
        filters=[lambda text: (text or "").strip()],  # counted as the service counts it, once trimmed
    )
