"""The journal's details in words: each key labelled and each value written for the reader (Paris time, labels for
codes, names for ids), in their language, whatever JSON the caller of audit.record stored."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property

from flask_babel import format_decimal, gettext, ngettext
from flask_babel import lazy_gettext as _l

from .. import contract, labels
from ..date_format import format_date, format_datetime, span
from ..inputs import INT_MAX
from ..models import AuditEntry
from ..services import audit_log, solver_ids
from ..services.webhooks import EVENTS
from .consultants import REGIONS, week_summary
from .money import eur

Line = tuple[str, str]
WHEN = "d MMM yyyy HH:mm"  # as the journal's "Quand" column
DIFF_LINES = 10  # a new contract's changed lines shown; the policy page has them all

KEYS = {
    "kind": _l("Prestation"),
    "start": _l("Début"),
    "end": _l("Fin"),
    "consultant": _l("Consultant"),
    "tier": _l("Formule"),
    "late": _l("Annulation tardive"),
    "label": _l("Nom"),
    "name": _l("Nom"),
    "before": _l("Avant"),
    "after": _l("Après"),
    "erp_version": _l("Version de l'ERP"),
    "environments": _l("Environnements"),
    "privileged_consultant_id": _l("Consultant privilégié"),
    "notes": _l("Notes"),
    "contract_start": _l("Début du contrat"),
    "starts_on": _l("Date d'effet"),
    "replaced": _l("Remplace"),
    "previous": _l("Formule précédente"),
    "based_on": _l("Version remplacée"),
    "changes": _l("Modifications"),
    "contract_year": _l("Année contractuelle"),
    "balance_minutes": _l("Solde"),
    "booking": labels.AUDIT_OBJECTS["booking"],
    "plan": labels.AUDIT_OBJECTS["reshuffleplan"],
    "absence": labels.AUDIT_OBJECTS["absence"],
    "quote_eur": _l("Devis"),
    "total_eur": _l("Total"),
    "was_eur": _l("Prix prévu"),
    "note": _l("Note"),
    "on_quote": _l("Sur devis"),
    "moved": _l("Rendez-vous déplacés"),
    "to": _l("Nouveau créneau"),
    "code": _l("Prérequis"),
    "done": _l("Coché"),
    "deadline": _l("Échéance"),
    "reason": _l("Motif"),
    "email": _l("Adresse e-mail"),
    "skills": _l("Compétences"),
    "pattern": _l("Horaires"),
    "daily_cap": _l("Rendez-vous par jour au plus"),
    "region": _l("Jours fériés"),
    "active": _l("Actif"),
    "intervals": _l("Plages importées"),
    "skipped": _l("Plages ignorées"),
    "company": _l("Entreprise"),
    "main_contact": _l("Contact principal"),
    "main": _l("Contact principal"),
    "role": _l("Rôle"),
    "asked_by": _l("Demandé par"),
    "via": _l("Par"),
    "url": _l("Adresse"),
    "events": _l("Événements"),
    "overlap": _l("Ancien secret encore accepté"),
    "contacts": _l("Contacts désactivés"),
    "cancelled_bookings": _l("Rendez-vous annulés"),
}
KEYS_BY_ACTION = {("company.create", "start"): _l("Début du contrat")}
CODES = {
    "self": _l("la personne elle-même"),  # user.reset_link: asked_by
    "invite": _l("lien d'invitation"),  # user.password: via
    "reset": _l("lien de réinitialisation"),
}
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


class Names:
    """Who the ids in the details are (`known`: one query per kind); every id looked up is noted in `asked`, so
    that a first pass over a page tells which names to read. The contract in force is read once too."""

    def __init__(self, known: dict[str, dict[int, str]] | None = None) -> None:
        self.known = known or {}
        self.asked: dict[str, set[int]] = {}

    def __call__(self, kind: str, ident: object) -> str:
        if isinstance(ident, bool) or not isinstance(ident, int) or not 0 < ident <= INT_MAX:
            return value(ident, self)
        self.asked.setdefault(kind, set()).add(ident)
        return self.known.get(kind, {}).get(ident) or labels.numbered(ident)

    @cached_property
    def contract(self) -> contract.Contract:
        return contract.current()


def for_page(entries: Iterable[AuditEntry]) -> dict[int, list[Line]]:
    """Each entry's lines by its id, the consultants, companies and users they name read once for the page."""
    entries, names = list(entries), Names()
    for entry in entries:  # a first pass for the ids alone
        lines(entry.action, entry.details, names)
    names.known = audit_log.names(names.asked)
    return {entry.id: lines(entry.action, entry.details, names) for entry in entries}


def lines(action: str, details: object, names: Names) -> list[Line]:
    """(label, text) lines for one entry; a company's `changed` fields one line each."""
    if not isinstance(details, dict):
        return [] if details in (None, {}, []) else [("", value(details, names))]
    found = []
    for key, raw in details.items():
        if key == "changed" and isinstance(raw, dict):
            found += [(_label(action, field), _change(action, field, pair, names)) for field, pair in raw.items()]
        else:
            found.append((_label(action, key), field_value(action, key, raw, names)))
    return found


def _label(action: str, key: str) -> str:
    return str(KEYS_BY_ACTION.get((action, key)) or KEYS.get(key, key))


def _change(action: str, field: str, pair: object, names: Names) -> str:
    """ "old → new" for a [before, after] pair."""
    if isinstance(pair, list) and len(pair) == 2:
        return " → ".join(field_value(action, field, item, names) for item in pair)
    return field_value(action, field, pair, names)


def field_value(action: str, key: str, raw: object, names: Names) -> str:
    """The value of `key`, written by the formatter its key (or action and key) names, or as its shape says."""
    if isinstance(raw, dict) and set(raw) == {"from", "to"}:  # consultant.update, consultant.absence_update
        return " → ".join(field_value(action, key, raw[end], names) for end in ("from", "to"))
    write = BY_ACTION.get((action, key)) or BY_KEY.get(key)
    if write is not None:
        try:
            return write(raw, names)
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError, InvalidOperation):
            pass  # a shape this key never had: shown as it is
    return value(raw, names)


def value(raw: object, names: Names) -> str:
    """Any JSON value, readable: Paris time for instants, Yes/No, lists and objects without JSON escapes."""
    if raw is None or raw == "":
        return "—"
    if isinstance(raw, bool):
        return gettext("Oui") if raw else gettext("Non")
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):  # babel rounds within 28 digits: 1e25 would raise
        return format_decimal(raw) if abs(raw) < 1e15 else str(raw)
    if isinstance(raw, str):
        return _text(raw)
    if isinstance(raw, list):
        return ", ".join(
            f"({value(item, names)})" if isinstance(item, list | dict) else value(item, names) for item in raw
        )
    if isinstance(raw, dict):
        return " · ".join(
            gettext("%(key)s\u00a0: %(value)s", key=_label("", k), value=field_value("", k, v, names))
            for k, v in raw.items()
        )
    return str(raw)


def _text(raw: str) -> str:
    """A string as it is, unless it is an ISO instant (→ Paris time) or an ISO date."""
    try:
        if _INSTANT.fullmatch(raw):
            return format_datetime(datetime.fromisoformat(raw), WHEN)
        if _DATE.fullmatch(raw):
            return format_date(date.fromisoformat(raw), "d MMM yyyy")
    except (ValueError, OverflowError):  # 2026-13-45 looks like a date and is none; year 9999 has no Paris time
        pass
    return raw


def _codes(mapping: dict) -> Callable[[object, Names], str]:
    """Codes (one, or a list) by their labels; a code not listed as it is."""

    def write(raw: object, names: Names) -> str:
        items = raw if isinstance(raw, list) else [raw]
        return ", ".join(
            str(mapping.get(item, item)) if isinstance(item, str) else value(item, names) for item in items
        )

    return write


def _tier(raw: object, names: Names) -> str:
    tier = names.contract.tiers.get(raw) if isinstance(raw, str) else None
    return tier.label if tier else value(raw, names)


def _consultant(raw: object, names: Names) -> str:
    """An id, or the solver's name for it ("c7", a plan's moves)."""
    return names("consultant", solver_ids.consultant_id(raw) if isinstance(raw, str) else raw)


def _slot(raw: object, names: Names) -> str:
    """A reschedule's [start, consultant]: "14 déc. 2026 09:15 · Camille Martin"."""
    if not isinstance(raw, list) or len(raw) != 2:
        raise ValueError(raw)
    return f"{value(raw[0], names)} · {_consultant(raw[1], names)}"


def _move(raw: object, names: Names) -> str:
    """A plan's move: {"consultant": "c7", "start": …, "end": …}."""
    if not isinstance(raw, dict):
        raise ValueError(raw)
    start, end = (datetime.fromisoformat(raw[key]) for key in ("start", "end"))
    return f"{span(start, end, WHEN)} · {_consultant(raw['consultant'], names)}"


def _pattern(raw: object, names: Names) -> str:
    """A working pattern {"0": [["09:00", "12:30"]], …}: "Lundi – Vendredi 09:00-12:30"."""
    if not isinstance(raw, dict) or not all(isinstance(v, list) for v in raw.values()):
        raise ValueError(raw)
    return " · ".join(f"{days} {hours}" for days, hours in week_summary(raw)) or "—"


def _region(raw: object, names: Names) -> str:
    """A consultant's holiday region: none is France's national holidays."""
    regions = {choice.value: choice.label for choice in REGIONS}
    return str(regions.get(raw or "", raw)) if raw is None or isinstance(raw, str) else value(raw, names)


def _money(raw: object, names: Names) -> str:
    amount = Decimal(str(raw)) if isinstance(raw, int | float | str) and not isinstance(raw, bool) else None
    if amount is None or not amount.is_finite() or abs(amount) >= 10**12:  # babel would write out 1E+999999
        raise ValueError(raw)
    return eur(amount)


def _users(raw: object, names: Names) -> str:
    if not isinstance(raw, list):
        raise ValueError(raw)
    return ", ".join(names("user", ident) for ident in raw)


def _diff(raw: object, names: Names) -> str:
    """A new contract's changed lines ("+…", "-…"), the first DIFF_LINES of them."""
    if not isinstance(raw, list):
        raise ValueError(raw)
    shown = [value(line, names) for line in raw[:DIFF_LINES]]
    rest = len(raw) - len(shown)
    return "\n".join(
        shown + ([ngettext("… et %(num)d autre ligne", "… et %(num)d autres lignes", rest)] if rest else [])
    )


def _prerequisite(raw: object, names: Names) -> str:
    known = {code: label for service in names.contract.services.values() for code, label in service.prerequisites}
    label = known.get(raw) if isinstance(raw, str) else None
    return labels.prerequisite_label(label) if label else value(raw, names)


def _minutes(raw: object, names: Names) -> str:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(raw)
    return labels.minutes_label(raw)


def _number(raw: object, names: Names) -> str:
    return labels.numbered(raw) if isinstance(raw, int) and not isinstance(raw, bool) else value(raw, names)


BY_KEY: dict[str, Callable[[object, Names], str]] = {
    "kind": _codes(labels.KINDS),
    "tier": _tier,
    "previous": _tier,
    "replaced": _tier,
    "consultant": _consultant,
    "privileged_consultant_id": _consultant,
    "company": lambda raw, names: names("company", raw),
    "contacts": _users,
    "environments": _codes(labels.ENVIRONMENTS),
    "skills": _codes(labels.SKILLS),
    "role": _codes(labels.ROLES),
    "events": _codes(EVENTS),
    "asked_by": _codes(CODES),
    "via": _codes(CODES),
    "pattern": _pattern,
    "region": _region,
    "balance_minutes": _minutes,
    "quote_eur": _money,
    "total_eur": _money,
    "was_eur": _money,
    "code": _prerequisite,
    "changes": _diff,
    "plan": _number,
    "booking": _number,
    "absence": _number,
    "based_on": _number,
}
BY_ACTION: dict[tuple[str, str], Callable[[object, Names], str]] = {
    ("booking.reschedule", "before"): _slot,
    ("booking.reschedule", "after"): _slot,
    ("booking.reshuffle", "to"): _move,
    ("user.role", "before"): _codes(labels.ROLES),
    ("user.role", "after"): _codes(labels.ROLES),
}
