"""What a client is told they consent to or consumed, as sentences: the cost lines and until when cancelling is free
(the booking mails'; the pages' cost box `book/_cost.html` lays the same facts out as a table of its own), what
cancelling will do and what it did (the cancellation's pages and its mail). In the current language: pages in the
reader's, mails in French (`notify` says them under `force_locale("fr")`, as every booking mail is written)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol

from flask_babel import format_currency
from flask_babel import gettext as _

from .. import contract
from ..date_format import format_datetime
from ..labels import minutes_label

COUNTED = ("hour_bank", "billable")  # the bases whose sessions a late cancellation consumes


class Cost(Protocol):
    """What a booking costs, as `costs.for_booking` answers (a held one: its preview; else its ledger lines)."""

    basis: str
    included_minutes: int
    billable_minutes: int
    price_eur: Decimal | None
    free_cancel_until: datetime | None


class Consumed(Protocol):
    """What cancelling does to minutes and money, as `costs.cancellation` answers (`late`: after the cut-off)."""

    late: bool
    included_minutes: int
    billable_minutes: int
    price_eur: Decimal | None


def money(amount: Decimal | None) -> str:
    """Money in the current language's format: « 1 234,50 € »."""
    return "" if amount is None else format_currency(amount, "EUR")


def limit(instant: datetime) -> str:
    """« mardi 3 décembre à 9 h 15 » (no leading zero, as French writes hours), "Thursday 3 December at 09:15"."""
    return format_datetime(instant, _("EEEE d MMMM 'à' H 'h' mm"))


def cutoff_hours() -> int:
    return contract.current().policy.cancel_cutoff_hours  # editable on the contract page: never written here


def cost_lines(cost: Cost) -> list[str]:
    """The cost as the booking page lists it (`book/_cost.html`, `cost_facts`), a « label : value » a line."""
    if cost.basis == "hour_bank":
        included = _("%(minutes)s incluses", minutes=minutes_label(cost.included_minutes))
        billable = _billable(cost) if cost.billable_minutes else _("rien")
        return [_line(_("Banque d'heures"), included), _line(_("Facturable"), billable)]
    if cost.basis == "billable":
        return [_line(_("Facturable"), _billable(cost))]
    return [_line(_("Coût"), _("sur devis") if cost.basis == "quote" else _("inclus dans votre contrat"))]


def _line(label: str, value: str) -> str:
    return f"{label} : {value}"  # mails only, written in French (its spaced colon)


def _billable(cost: Cost) -> str:
    if cost.price_eur is not None:
        return minutes_label(cost.billable_minutes) + _(", soit %(price)s HT", price=money(cost.price_eur))
    return minutes_label(cost.billable_minutes) + _(", au tarif convenu avec votre planificateur")


def cancel_limit(cost: Cost, now: datetime) -> str:
    """Until when cancelling is free, at `now` (the change's time: a mail says what its page did, whenever the
    clock reads it), as the booking page says it (`book/_cost.html`, `cancel_limit`)."""
    counted = cost.basis in COUNTED
    if cost.free_cancel_until is not None and cost.free_cancel_until > now:
        when = limit(cost.free_cancel_until)
        if counted:
            return _("Annulation gratuite jusqu'au %(when)s ; après, la séance est décomptée.", when=when)
        return _("Annulation possible jusqu'au %(when)s ; après, elle est enregistrée comme tardive.", when=when)
    if counted:
        return _(
            "Moins de %(hours)s heures ouvrées avant le rendez-vous : une annulation sera décomptée.",
            hours=cutoff_hours(),
        )
    return _(
        "Moins de %(hours)s heures ouvrées avant le rendez-vous : une annulation sera enregistrée comme tardive.",
        hours=cutoff_hours(),
    )


def will_happen(told: Consumed, held: bool) -> list[str]:
    """What cancelling will do, said before the client agrees."""
    if held:
        return [_("Rien n'a encore été compté : le créneau sera rendu aux autres clients.")]
    lines = []
    if told.late and not (told.included_minutes or told.billable_minutes):
        # an included service: nothing to consume or bill, as its page said before (`cancel_limit`)
        return [
            _(
                "Moins de %(hours)s heures ouvrées avant le rendez-vous : l'annulation sera enregistrée comme tardive.",
                hours=cutoff_hours(),
            ),
            _("Rien ne vous sera décompté ni facturé."),
        ]
    if told.late:
        lines.append(
            _(
                "Moins de %(hours)s heures ouvrées avant le rendez-vous : la séance est décomptée.",
                hours=cutoff_hours(),
            )
        )
        if told.included_minutes:
            lines.append(
                _(
                    "%(minutes)s restent décomptées de votre banque d'heures.",
                    minutes=minutes_label(told.included_minutes),
                )
            )
        if told.billable_minutes and told.price_eur is None:  # a rate agreed with the planner: the minutes alone
            lines.append(_("%(minutes)s restent facturées.", minutes=minutes_label(told.billable_minutes)))
        elif told.billable_minutes:
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
    if told.billable_minutes and told.price_eur is None:
        lines.append(
            _("%(minutes)s facturables ne seront pas facturées.", minutes=minutes_label(told.billable_minutes))
        )
    elif told.billable_minutes:
        lines.append(
            _(
                "%(minutes)s facturables (%(price)s HT) ne seront pas facturées.",
                minutes=minutes_label(told.billable_minutes),
                price=money(told.price_eur),
            )
        )
    return lines or [_("Rien ne vous sera facturé.")]


def consumed(told: Consumed | Cost) -> str:
    """What a late cancellation consumed (its result page and its mail)."""
    # each part a sentence of its own in the catalogue (a `_()` inside another's arguments is not extracted)
    parts = []
    if told.included_minutes:
        parts.append(_("%(minutes)s de votre banque d'heures", minutes=minutes_label(told.included_minutes)))
    if told.billable_minutes:
        minutes = minutes_label(told.billable_minutes)
        if told.price_eur is None:  # no price recorded (a rate agreed with the planner): the minutes alone
            parts.append(_("%(minutes)s facturées", minutes=minutes))
        else:
            parts.append(_("%(minutes)s facturées, %(price)s HT", minutes=minutes, price=money(told.price_eur)))
    if not parts:
        return _(
            "Rendez-vous annulé ; l'annulation est enregistrée comme tardive, rien ne vous est décompté ni facturé."
        )
    return _("Rendez-vous annulé tardivement : la séance est décomptée (%(what)s).", what=_listed(parts))


def happened(told: Consumed, was_held: bool) -> str:
    """What the cancellation did, said on the result page."""
    if was_held:
        return _("Créneau libéré : rien ne vous est compté.")
    if told.late:
        return consumed(told)
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
