"""Why a slot cannot be booked: one named outcome per step of the availability pipeline, each with a
stable code (the API's problem+json `code`) and a sentence a client can act on (pages and API alike).

Codes, in the order the pipeline asks: grid, notice, gate, horizon (the same for every consultant),
then holiday, closed, absence, busy, taken, daily_cap (per consultant); no_consultant when nobody
offers the service; not_entitled comes from the contract's check (errors.NotEntitled).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from ..date_format import format_date, format_datetime
from .errors import Conflict

CODES = (
    "grid",
    "notice",
    "gate",
    "horizon",
    "holiday",
    "closed",
    "absence",
    "busy",
    "taken",
    "daily_cap",
    "no_consultant",
    "not_entitled",
)

# Keyed by code, or by code/variant where a whole-day service needs its own words.
_SENTENCES = {
    "grid": _l(
        "Les créneaux commencent toutes les %(minutes)s minutes (par exemple à %(before)s ou à %(after)s) : "
        "choisissez un créneau de la liste."
    ),
    "notice": _l(
        "Ce créneau est dans le délai de prévenance de %(hours)s heures ouvrées : choisissez un créneau "
        "à partir du %(day)s à %(time)s."
    ),
    "notice/callback": _l(
        "Un rappel se prépare en %(minutes)s minutes ouvrées (le temps de lire votre ticket) : "
        "choisissez un créneau à partir du %(day)s à %(time)s."
    ),
    "gate": _l(
        "Les prérequis d'une mise à jour se confirment au plus tard %(hours)s heures ouvrées avant son début, "
        "et ce délai est déjà passé pour ce créneau : choisissez un créneau après le %(day)s à %(time)s."
    ),
    "horizon": _l(
        "Ce créneau est au-delà de l'horizon de réservation de %(days)s jours : choisissez un créneau "
        "avant le %(day)s à %(time)s."
    ),
    "holiday": _l("Le %(day)s est un jour férié : choisissez un autre jour."),
    "closed": _l(
        "Ce créneau tombe en dehors des heures ouvrées (soir, pause de midi, week-end) : "
        "choisissez un créneau de la liste."
    ),
    "closed/days": _l(
        "Une intervention d'une journée commence à l'ouverture d'un jour ouvré : choisissez un jour de la liste."
    ),
    "absence": _l("Ce créneau tombe pendant une absence du consultant : choisissez un autre créneau."),
    "absence/days": _l(
        "Le consultant est absent une partie du %(day)s ; une intervention d'une journée demande "
        "des journées entières : choisissez un autre jour."
    ),
    "busy": _l("Le consultant a un autre engagement à ce moment-là : choisissez un autre créneau."),
    "taken": _l("Ce créneau n'est plus disponible : il vient d'être réservé. Choisissez-en un autre."),
    "daily_cap": _l("Le consultant a déjà son nombre maximal de rendez-vous le %(day)s : choisissez un autre jour."),
    "no_consultant": _l("Aucun consultant ne propose cette prestation pour le moment : contactez votre planificateur."),
}


# A day of the week view without a slot says which rule emptied it, in a word (keyed like _SENTENCES).
_DAY_LABELS = {
    "notice": _l("Délai de prévenance"),
    "notice/past": _l("Passé"),
    "gate": _l("Trop tard pour les prérequis"),
    "horizon": _l("Au-delà de l'horizon de réservation (%(days)s jours)"),
    "holiday": _l("Jour férié"),
    "closed": _l("Fermé"),
    "no_consultant": _l("Aucun consultant"),
    "tier": _l("Hors de votre formule"),
    "full": _l("Complet"),
}


def day_label(code: str, variant: str | None = None, **params) -> str:
    """The word for a day without a slot: its rule's, or « Complet » when bookings, absences or caps took it."""
    template = _DAY_LABELS.get(f"{code}/{variant}") or _DAY_LABELS.get(code) or _DAY_LABELS["full"]
    return str(template) % params


@dataclass(frozen=True)
class Reason:
    """A named outcome: why this slot is not free."""

    code: str
    sentence: str  # in the language of the request that asked


def reason(code: str, variant: str | None = None, **params) -> Reason:
    """The outcome `code`, its sentence filled with `params` (instants become day and time)."""
    values = {}
    for name, value in params.items():
        if isinstance(value, datetime):
            values["day"], values["time"] = format_date(value, "EEEE d MMMM yyyy"), format_datetime(value, "HH:mm")
        else:
            values[name] = value
    template = _SENTENCES.get(f"{code}/{variant}") or _SENTENCES[code]
    return Reason(code, str(template) % values)


def refused(outcome: Reason) -> Conflict:
    """The refusal to raise: a 409 whose message is the sentence and whose code is the outcome's."""
    return Conflict(outcome.sentence, code=outcome.code)
