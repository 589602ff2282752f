"""Log in, forgotten password, set a password through a mailed link."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from ...services.accounts import MIN_PASSWORD

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"  # the shape of an address; the invitation mail proves the rest


class LoginForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired()])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired()])


class ForgotForm(FlaskForm):
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[
            DataRequired(_l("Indiquez l'adresse e-mail de votre compte.")),
            Regexp(EMAIL, message=_l("Indiquez une adresse e-mail valide, par exemple prenom.nom@societe.fr.")),
            Length(max=254),
        ],
    )


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Nouveau mot de passe"),
        validators=[
            DataRequired(_l("Choisissez un mot de passe.")),
            Length(min=MIN_PASSWORD, max=200, message=_l("Au moins 8 caractères.")),
        ],
    )
    confirm = PasswordField(
        _l("Nouveau mot de passe, encore"),
        validators=[
            DataRequired(_l("Saisissez le mot de passe une seconde fois.")),
            EqualTo("password", message=_l("Les deux saisies du nouveau mot de passe diffèrent.")),
        ],
    )
