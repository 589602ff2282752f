"""My account: API tokens, password."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from ...services.accounts import MIN_PASSWORD


class TokenForm(FlaskForm):
    name = StringField(
        _l("Nom du jeton"),
        validators=[DataRequired(), Length(max=80)],
        description=_l("Par exemple le programme qui l'utilisera."),
    )
    lifetime = SelectField(
        _l("Durée de validité"),
        default="90",
        choices=[
            SelectChoice("30", _l("30 jours")),
            SelectChoice("90", _l("90 jours")),
            SelectChoice("365", _l("1 an")),
            SelectChoice("", _l("sans date d'expiration")),
        ],
    )


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Mot de passe actuel"), validators=[DataRequired()])
    new = PasswordField(
        _l("Nouveau mot de passe"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD, message=_l("Au moins 8 caractères."))],
    )
    confirm = PasswordField(
        _l("Confirmez le nouveau mot de passe"),
        validators=[DataRequired(), EqualTo("new", message=_l("Les deux saisies du nouveau mot de passe diffèrent."))],
    )
