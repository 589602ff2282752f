"""The sentences that say, before and after a destructive step, what it does to minutes and money."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import format_currency
from flask_babel import gettext as _

from .. import contract
from ..date_format import format_datetime
from ..labels import minutes_label
from ..services.costs import Cancellation


def money(amount: Decimal | None) -> str:
    """French money format: « 1 234,50 € »."""
    return "" if amount is None else format_currency(amount, "EUR")


def limit(instant) -> str:
    """« mardi 3 décembre à 9 h 15 » (no leading zero, as French writes hours), "Thursday 3 December at 09:15"."""
    return format_datetime(instant, _("EEEE d MMMM 'à' H 'h' mm"))


def _cutoff_hours() -> int:
    return contract.current().policy.cancel_cutoff_hours  # editable on the contract page: never written here


def will_happen(told: Cancellation, held: bool) -> list[str]:
    """What cancelling will do, said before the client agrees."""
    if held:
        return [_("Rien n'a encore été compté : le créneau sera rendu aux autres clients.")]
    lines = []
    if told.late and not (told.included_minutes or told.billable_minutes):
        # an included service: nothing to consume or bill, as its page said before (`cancel_limit`)
        return [
            _(
                "Moins de %(hours)s heures ouvrées avant le rendez-vous : l'annulation sera enregistrée comme tardive.",
                hours=_cutoff_hours(),
            ),
            _("Rien ne vous sera décompté ni facturé."),
        ]
    if told.late:
        lines.append(
            _(
                "Moins de %(hours)s heures ouvrées avant le rendez-vous : la séance est décomptée.",
                hours=_cutoff_hours(),
            )
        )
        if told.included_minutes:
            lines.append(
                _(
                    "%(minutes)s restent décomptées de votre banque d'heures.",
                    minutes=minutes_label(told.included_minutes),
                )
            )
        if told.billable_minutes:
            lines.append(
                _(
                    "%(minutes)s restent facturées (%(price)s HT).",
                    minutes=minutes_label(told.billable_minutes),
                    price=money(told.price_eur),
                )
            )
        return lines
    if told.included_minutes:
        lines.append(
            _("%(minutes)s seront rendues à votre banque d'heures.", minutes=minutes_label(told.included_minutes))
        )
    if told.billable_minutes:
        lines.append(
            _(
                "%(minutes)s facturables (%(price)s HT) ne seront pas facturées.",
                minutes=minutes_label(told.billable_minutes),
                price=money(told.price_eur),
            )
        )
    return lines or [_("Rien ne vous sera facturé.")]


def happened(told: Cancellation, was_held: bool) -> str:
    """What the cancellation did, said on the result page."""
    if was_held:
        return _("Créneau libéré : rien ne vous est compté.")
    if told.late:
        # each part a sentence of its own in the catalogue (a `_()` inside another's arguments is not extracted)
        consumed = []
        if told.included_minutes:
            consumed.append(_("%(minutes)s de votre banque d'heures", minutes=minutes_label(told.included_minutes)))
        if told.billable_minutes:
            consumed.append(
                _(
                    "%(minutes)s facturées, %(price)s HT",
                    minutes=minutes_label(told.billable_minutes),
                    price=money(told.price_eur),
                )
            )
        if not consumed:
            return _(
                "Rendez-vous annulé ; l'annulation est enregistrée comme tardive, rien ne vous est décompté ni facturé."
            )
        return _("Rendez-vous annulé tardivement : la séance est décomptée (%(what)s).", what=_listed(consumed))
    parts = []
    if told.included_minutes:
        parts.append(_("%(minutes)s rendues à votre banque d'heures", minutes=minutes_label(told.included_minutes)))
    if told.billable_minutes:
        parts.append(
            _("%(minutes)s facturables qui ne seront pas facturées", minutes=minutes_label(told.billable_minutes))
        )
    what = _listed(parts) if parts else _("rien ne vous est facturé")
    return _("Rendez-vous annulé : %(what)s.", what=what)


def _listed(parts: list[str]) -> str:
    """Parts of one sentence, with the reader's punctuation between them (« ; » in French, "; " in English)."""
    return _(" ; ").join(parts)
