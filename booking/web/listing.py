"""The filter form of the long lists (bookings, billing lines): GET, so that filters stay in the address."""

from __future__ import annotations

import unicodedata

from flask import abort, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import SelectChoice, SelectField

from .. import contract
from ..extensions import db
from ..labels import KINDS, SKILLS
from ..models import Company, Consultant
from ..services.booking_lists import Filters
from ..text_order import by_name

WHEN_LABELS = {"a-venir": _l("À venir"), "passes": _l("Passés"), "annules": _l("Annulés"), "tous": _l("Tous")}
ORDER_LABELS = {
    "": _l("Par défaut"),
    "prochains": _l("Les prochains d'abord"),
    "recents": _l("Les plus récents d'abord"),
}


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms options."""
    return [SelectChoice(value, label) for value, label in pairs]


def by_label(label) -> str:
    """A sort key for labels in the reader's language: case and accents aside (« Économie » before « Paie »)."""
    return unicodedata.normalize("NFKD", str(label)).encode("ascii", "ignore").decode().casefold()


def skill_options(codes) -> list[SelectChoice]:
    """The known skills among `codes` as options, their labels in the reader's language and sorted by them."""
    return options(sorted(((c, SKILLS[c]) for c in set(codes) if c in SKILLS), key=lambda pair: by_label(pair[1])))


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a search changes nothing

    quand = SelectField(_l("Période"), choices=options(WHEN_LABELS.items()), default="a-venir")
    entreprise = SelectField(_l("Client"), choices=[], default="")
    consultant = SelectField(_l("Consultant"), choices=[], default="")
    prestation = SelectField(_l("Prestation"), choices=[], default="")
    ordre = SelectField(_l("Ordre"), choices=options(ORDER_LABELS.items()), default="")


def filter_form(*, staff: bool, when: bool = True) -> tuple[FilterForm, Filters]:
    """The form read from the address; a value that is not one of the choices is a 400 (nothing guessed)."""
    form = FilterForm(request.args)
    if staff:
        form.entreprise.choices = options(
            [("", _l("Tous"))] + [(str(c.id), c.name) for c in by_name(db.session.scalars(select(Company)))]
        )
        form.consultant.choices = options(
            [("", _l("Tous"))]
            + [
                (str(c.id), c.name)
                for c in by_name(db.session.scalars(select(Consultant).options(joinedload(Consultant.user))))
            ]
        )
    else:
        del form.entreprise, form.consultant
    if not when:
        del form.quand
    form.prestation.choices = options(
        [("", _l("Toutes"))] + [(k, KINDS.get(k, k)) for k in contract.current().services]
    )
    if not form.validate():
        abort(400)
    return form, Filters(
        when=form.quand.data if when else "tous",
        company_id=int(form.entreprise.data) if staff and form.entreprise.data else None,
        consultant_id=int(form.consultant.data) if staff and form.consultant.data else None,
        kind=form.prestation.data or None,
        order=form.ordre.data or None,
    )


def kept_args() -> dict:
    """The list's filters, for the page links."""
    return {k: v for k, v in request.args.items() if k != "page" and v}
