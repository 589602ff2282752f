"""Back office: companies, their contracts, contacts and staff."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from ...services.companies import CompanyData
from . import blank_is_empty, managed_day
from .auth import EMAIL

TIER_CHOICES = [
    SelectChoice("standard", "Standard"),
    SelectChoice("confort", "Confort"),
    SelectChoice("serenite", "Sérénité"),
]
ENV_CHOICES = [SelectChoice("test", _l("Test")), SelectChoice("production", _l("Production"))]


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CompanyForm(FlaskForm):
    """A company's identity and contract (the tier only on creation: later it changes on a date)."""

    name = StringField(
        _l("Nom de la société"), validators=[DataRequired(_l("Donnez un nom à la société.")), Length(max=120)]
    )
    tier = SelectField(_l("Formule"), choices=TIER_CHOICES, validators=[InputRequired()])
    contract_start = DateField(
        _l("Début du contrat"),
        validators=[InputRequired(_l("Indiquez la date de début du contrat.")), managed_day],
        description=_l("Chaque anniversaire ouvre une année contractuelle (banque d'heures Sérénité)."),
    )
    erp_version = StringField(
        _l("Version de l'ERP"), validators=[DataRequired(_l("Indiquez la version de l'ERP.")), Length(max=20)]
    )
    environments = CheckboxesField(
        _l("Environnements"),
        choices=ENV_CHOICES,
        default=["production"],
        validators=[DataRequired(_l("Choisissez au moins un environnement."))],
    )
    privileged_consultant_id = SelectField(
        _l("Consultant privilégié (Sérénité)"),
        choices=[],
        coerce=str,
        filters=[blank_is_empty],
        validators=[Optional()],
    )
    notes = TextAreaField(_l("Notes"), validators=[Length(max=4000)])

    def set_consultants(self, consultants) -> None:
        self.privileged_consultant_id.choices = [SelectChoice("", _l("— aucun —"))] + [
            SelectChoice(str(c.id), c.name) for c in consultants
        ]

    def data_for_service(self) -> CompanyData:
        consultant = self.privileged_consultant_id.data
        return CompanyData(
            name=self.name.data,
            erp_version=self.erp_version.data,
            environments=list(self.environments.data or []),
            privileged_consultant_id=int(consultant) if consultant else None,
            notes=self.notes.data or "",
            contract_start=self.contract_start.data,
            tier=self.tier.data if self.tier else None,
        )


class EditCompanyForm(CompanyForm):
    tier = None  # the tier changes on a chosen date: ContractChangeForm


class ContractChangeForm(FlaskForm):
    tier = SelectField(_l("Nouvelle formule"), choices=TIER_CHOICES, validators=[InputRequired()])
    starts_on = DateField(
        _l("À partir du"),
        validators=[InputRequired(_l("Indiquez la date du changement.")), managed_day],
        description=_l("Aujourd'hui ou plus tard ; les rendez-vous à partir de ce jour suivent la nouvelle formule."),
    )
    note = StringField(_l("Note"), validators=[Length(max=500)])


class _PersonForm(FlaskForm):
    """Who is invited: a name and an address (a client contact or a staff member)."""

    name = StringField(_l("Nom"), validators=[DataRequired(_l("Indiquez le nom de la personne.")), Length(max=120)])
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[
            DataRequired(_l("Indiquez une adresse e-mail.")),
            Regexp(EMAIL, message=_l("Indiquez une adresse e-mail valide, par exemple prenom.nom@societe.fr.")),
            Length(max=254),
        ],
    )


class InviteForm(_PersonForm):
    main_contact = BooleanField(_l("Contact principal (gère les contacts de sa société)"))


class StaffInviteForm(_PersonForm):
    role = SelectField(
        _l("Rôle"), choices=[SelectChoice("planner", _l("Planificateur")), SelectChoice("admin", _l("Administrateur"))]
    )


class DeactivateCompanyForm(FlaskForm):
    """The second step; with bookings to come, a separate button cancels them first (`cancel_bookings=1`)."""

    cancel_bookings = HiddenField(default="")


class EndSessionsForm(FlaskForm):
    """Ending a person's sessions: the question first, then the same POST with `confirmed=1`."""

    user_id = HiddenField()
    confirmed = HiddenField()


class WithdrawChangeForm(FlaskForm):
    """Withdrawing a planned change of formula: the question first, then the same POST with `confirmed=1`."""

    period_id = HiddenField(validators=[Regexp(r"^\d{1,9}$")])
    confirmed = HiddenField()


class RoleChangeForm(FlaskForm):
    """A staff member's role: the question first (their sessions close), then the same POST with `confirmed=1`."""

    role = HiddenField()
    confirmed = HiddenField()
