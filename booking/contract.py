"""The support contract as data: tiers, entitlements, ticket commitments, service catalogue."""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import NoReturn

from flask_babel import lazy_gettext as _l

from calendars.worktime import BusinessDuration

from .labels import ENVIRONMENTS, SKILLS

DEFAULT_FILE = Path(__file__).with_name("contract.toml")
ACCESS_LEVELS = ("no", "yes", "billable", "quote", "hour_bank")
TICKET_PRIORITIES = ("bloquante", "majeure", "mineure", "basse")
COMMITMENTS = ("acknowledge", "take_charge", "resolve")
SPANS = ("block", "days", "days_or_hours")
# What a tier's price list may name (euros excluding VAT): billable ERP-Lib time per hour, and priority
# consulting per day or per hour where the tier gets it on quote. An item a tier does not list has no
# price in the contract: the service is included, or priced by a quote.
PRICE_ITEMS = ("erplib_hour", "priority_consulting_day", "priority_consulting_hour")


class ContractError(ValueError):
    """The contract text is unreadable or inconsistent: a sentence naming the key and what it accepts (lazy: in the
    reader's language, French outside a request), a stable code, and the admin page's form field where it has one."""

    def __init__(self, sentence, code: str = "invalid_contract", field: str | None = None):
        super().__init__(sentence)
        self.sentence, self.code, self.field = sentence, code, field

    def __str__(self) -> str:
        return str(self.sentence)


@dataclass(frozen=True)
class Service:
    kind: str
    span: str
    duration_minutes: int | None = None
    duration_days: int | None = None
    grid_minutes: int | None = None
    environments: tuple[str, ...] = ()
    needs_ticket: bool = False
    one_per_version: bool = False
    prerequisites_gate_hours: int | None = None
    prerequisites_reminder_hours: int | None = None
    prerequisites: tuple[tuple[str, str], ...] = ()
    min_units: int | None = None
    max_units: int | None = None
    start_within_days: int | None = None
    skill: str | None = None


@dataclass(frozen=True)
class BookingPolicy:
    notice_hours: int = 4
    horizon_days: int = 60
    buffer_minutes: int = 0
    grid_minutes: int = 15
    cancel_cutoff_hours: int = 24
    hold_minutes: int = 10
    follow_up_hold_hours: int = 48
    reminder_hours: int = 24
    low_balance_minutes: int = 120
    callback_risk_hours: int = 2


@dataclass(frozen=True)
class ReshufflePolicy:
    """What moving other clients' bookings costs, for priority consulting and absence repair: the solver
    instance's `policy` (docs/solver-format.md)."""

    freeze_hours: int  # bookings starting sooner than this never move
    compensated_if_booked_days_before: int  # only bookings made at least this long ago are compensated
    compensation_eur: dict[str, int | float]  # per service kind moved; a kind not listed costs nothing
    short_notice_factor: tuple[tuple[int, int | float], ...]  # (business days of notice under, factor)
    weights: dict[str, int | float]  # moved, consultant_change, displacement_hour

    def to_instance(self) -> dict:
        return {
            "freeze_hours": self.freeze_hours,
            "compensated_if_booked_days_before": self.compensated_if_booked_days_before,
            "compensation_eur": dict(self.compensation_eur),
            "short_notice_factor": [list(row) for row in self.short_notice_factor],
            "weights": dict(self.weights),
        }


@dataclass(frozen=True)
class Tier:
    name: str
    label: str
    contacts: int
    maintained_versions: int
    privileged_consultant: bool
    hour_bank_minutes: int
    services: dict[str, str]
    tickets: dict[str, dict[str, BusinessDuration]]
    prices: dict[str, Decimal] = field(default_factory=dict)

    def price(self, item: str) -> Decimal | None:
        """The contract's price of one item (PRICE_ITEMS), or None when this tier lists none."""
        return self.prices.get(item)

    def access(self, kind: str) -> str:
        """Access level of this tier to a service kind."""
        return self.services.get(kind, "no")

    def may_book(self, kind: str) -> bool:
        return self.access(kind) in ("yes", "billable", "hour_bank")

    def commitment(self, priority: str, what: str) -> BusinessDuration | None:
        """Ticket commitment (e.g. take_charge for 'bloquante'), or None when the tier has none."""
        return self.tickets.get(priority, {}).get(what)


@dataclass(frozen=True)
class Contract:
    services: dict[str, Service]
    tiers: dict[str, Tier]
    reshuffle: ReshufflePolicy
    policy: BookingPolicy = BookingPolicy()

    def tier(self, name: str) -> Tier:
        try:
            return self.tiers[name]
        except KeyError:
            raise ContractError(_l("Formule inconnue : %(name)s", name=name)) from None

    def service(self, kind: str) -> Service:
        try:
            return self.services[kind]
        except KeyError:
            raise ContractError(_l("Prestation inconnue : %(kind)s", kind=kind)) from None


# --- reading the text: every refusal names its key (the path in the text) and what the key accepts ----------------

# The catalogue the code and the database serve (the CHECK constraints ck_bookings_kind and ck_companies_tier, the
# admin's company form, pages and jobs that name a kind): a new text keeps each of them and adds none.
KINDS = ("erplib", "callback", "minor_update", "major_install", "major_install_test", "priority_consulting")
TIERS = ("standard", "confort", "serenite")
SECTIONS = ("booking", "reshuffle", "services", "tiers")
TIER_KEYS = (
    "label",
    "contacts",
    "maintained_versions",
    "privileged_consultant",
    "hour_bank_minutes",
    "services",
    "tickets",
    "prices",
)
SERVICE_KEYS = tuple(f.name for f in fields(Service) if f.name != "kind")
RESHUFFLE_KEYS = (
    "freeze_hours",
    "compensated_if_booked_days_before",
    "compensation_eur",
    "short_notice_factor",
    "weights",
)
RESHUFFLE_WEIGHTS = ("moved", "consultant_change", "displacement_hour")
# What each span needs: a block lasts minutes, a days service whole days, priority consulting units chosen in a range.
SPAN_NEEDS = {
    "block": ("duration_minutes",),
    "days": ("duration_days",),
    "days_or_hours": ("min_units", "max_units", "start_within_days"),
}
# A booking lasts at most a day's minutes or MAX_DAYS business days: overlap queries look back no further than
# the longest booking (models.bookings.LONGEST, 21 days, which 10 business days and their weekends fit in).
MAX_MINUTES, MAX_DAYS = 24 * 60, 10
# (lowest, highest) of a service's numbers: the first four in any version, the others in a new text.
SERVICE_BOUNDS = {
    "prerequisites_gate_hours": (0, 400),
    "prerequisites_reminder_hours": (0, 400),
    "duration_minutes": (1, MAX_MINUTES),
    "duration_days": (1, MAX_DAYS),
    "min_units": (1, MAX_DAYS),
    "max_units": (1, MAX_DAYS),
    "start_within_days": (1, 60),
}
SERVICE_ALWAYS = ("prerequisites_gate_hours", "prerequisites_reminder_hours", "duration_minutes", "duration_days")
TIER_BOUNDS = {"contacts": (1, 100), "maintained_versions": (1, 10), "hour_bank_minutes": (0, 100_000)}
MAX_LABEL = 60
MAX_PRICE = 100_000  # euros excluding VAT, at most two decimals
MAX_COMMITMENT = {"h": 400, "j": 60}
HOURS_PER_DAY = Decimal("7.5")  # a business day of the default pattern, to order "1j" against "4h"
CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _shown(value) -> str:
    """A value as the text wrote it, shortened: a refusal never echoes more than 40 characters of it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        text = repr(type(value).__name__)
    return text if len(text) <= 40 else text[:39] + "…"


def _refuse(sentence, code: str = "invalid_contract", field: str | None = None) -> NoReturn:
    raise ContractError(sentence, code, field)


def _whole(value, where: str, low: int, high: int, field: str | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _refuse(
            _l(
                "%(field)s : %(value)s n'est pas accepté ; indiquez un nombre entier de %(low)s à %(high)s.",
                field=where,
                value=_shown(value),
                low=low,
                high=high,
            ),
            field=field,
        )
    return value


def _number(value, where: str, low: int, high: int) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        _refuse(
            _l(
                "%(field)s : %(value)s n'est pas accepté ; indiquez un nombre de %(low)s à %(high)s.",
                field=where,
                value=_shown(value),
                low=low,
                high=high,
            )
        )
    return value


def _choice(value, where: str, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        _refuse(
            _l(
                "%(field)s : %(value)s n'est pas accepté ; valeurs possibles : %(choices)s.",
                field=where,
                value=_shown(value),
                choices=", ".join(choices),
            )
        )
    return value


def _not_after(where: str, value, limit_where: str, limit) -> NoReturn:
    _refuse(
        _l(
            "%(field)s (%(value)s) ne peut pas dépasser %(limit_field)s (%(limit)s).",
            field=where,
            value=value,
            limit_field=limit_where,
            limit=limit,
        )
    )


def _table(raw, where: str, known, required=(), strict: bool = True) -> dict:
    """A table of the text: its unknown keys refused in a new text, its required ones always."""
    if not isinstance(raw, dict):
        _refuse(_l("%(field)s : une table est attendue ici ([%(field)s] ou { … }).", field=where))
    for key in raw if strict else ():
        if key not in known:
            _refuse(
                _l(
                    "%(field)s n'est pas une clé connue ; clés acceptées ici : %(choices)s.",
                    field=f"{where}.{key}" if where else key,
                    choices=", ".join(known),
                )
            )
    for key in required:
        if key not in raw:
            _refuse(_l("%(field)s manque : cette clé est obligatoire.", field=f"{where}.{key}" if where else key))
    return raw


def _service(kind: str, raw: dict, strict: bool) -> Service:
    where = f"services.{kind}"
    data = _table(raw, where, SERVICE_KEYS, ("span",), strict)
    span = _choice(data["span"], f"{where}.span", SPANS)
    if strict:
        _table(data, where, SERVICE_KEYS, SPAN_NEEDS[span])
    for name, (low, high) in SERVICE_BOUNDS.items():
        if data.get(name) is not None and (strict or name in SERVICE_ALWAYS):
            _whole(data[name], f"{where}.{name}", low, high)
    if strict:
        _check_service(where, data)
    known = {name: data[name] for name in SERVICE_KEYS if name in data}
    known["environments"] = tuple(data.get("environments", ()))
    known["prerequisites"] = tuple(tuple(item) for item in data.get("prerequisites", ()))
    return Service(kind=kind, **known)


def _check_service(where: str, data: dict) -> None:
    """What a new text's service must say besides its bounds: known codes, true or false, ranges in order."""
    for name in ("needs_ticket", "one_per_version"):
        if name in data and not isinstance(data[name], bool):
            _refuse(
                _l(
                    "%(field)s : %(value)s n'est pas accepté ; indiquez true ou false.",
                    field=f"{where}.{name}",
                    value=_shown(data[name]),
                )
            )
    if "skill" in data:
        _choice(data["skill"], f"{where}.skill", tuple(SKILLS))
    envs = data.get("environments", [])
    if (
        not isinstance(envs, list)
        or any(not isinstance(e, str) or e not in ENVIRONMENTS for e in envs)
        or len(set(envs)) != len(envs)
    ):
        _refuse(
            _l(
                "%(field)s : %(value)s n'est pas accepté ; indiquez une liste parmi %(choices)s, chacun au plus une fois.",
                field=f"{where}.environments",
                value=_shown(envs),
                choices=", ".join(sorted(ENVIRONMENTS)),
            )
        )
    _check_prerequisites(f"{where}.prerequisites", data.get("prerequisites", []))
    if (
        data.get("min_units") is not None
        and data.get("max_units") is not None
        and data["min_units"] > data["max_units"]
    ):
        _not_after(f"{where}.min_units", data["min_units"], f"{where}.max_units", data["max_units"])


def _check_prerequisites(where: str, items) -> None:
    seen: set[str] = set()
    for item in items if isinstance(items, list) else [items]:
        pair = isinstance(item, list) and len(item) == 2 and all(isinstance(part, str) for part in item)
        if not pair or not CODE.fullmatch(item[0]) or not 0 < len(item[1].strip()) <= 200:
            _refuse(
                _l(
                    "%(field)s : %(value)s n'est pas accepté ; chaque prérequis est une paire [code, libellé] : un "
                    "code de lettres minuscules, chiffres et _, puis un libellé non vide de 200 caractères au plus.",
                    field=where,
                    value=_shown(item),
                )
            )
        if item[0] in seen:
            _refuse(
                _l(
                    "%(field)s : le code %(value)s apparaît plusieurs fois ; chaque prérequis a son propre code.",
                    field=where,
                    value=_shown(item[0]),
                )
            )
        seen.add(item[0])


def _tier(name: str, raw: dict, kinds: set[str], strict: bool) -> Tier:
    where = f"tiers.{name}"
    required = ("label", "contacts", "maintained_versions", "privileged_consultant", "hour_bank_minutes")
    _table(raw, where, TIER_KEYS, required, strict)
    services = dict(_table(raw.get("services", {}), f"{where}.services", sorted(kinds), strict=False))
    for kind, level in services.items():
        if kind not in kinds:
            _choice(kind, f"{where}.services", sorted(kinds))
        _choice(level, f"{where}.services.{kind}", ACCESS_LEVELS)
    if strict:
        _check_tier(where, raw)
    return Tier(
        name=name,
        label=raw["label"],
        contacts=int(raw["contacts"]),
        maintained_versions=int(raw["maintained_versions"]),
        privileged_consultant=bool(raw["privileged_consultant"]),
        hour_bank_minutes=int(raw["hour_bank_minutes"]),
        services=services,
        tickets=_tickets(where, raw.get("tickets", {}), strict),
        prices=_prices(name, _table(raw.get("prices", {}), f"{where}.prices", PRICE_ITEMS, strict=False), strict),
    )


def _check_tier(where: str, raw: dict) -> None:
    label = raw["label"]
    if not isinstance(label, str) or not 0 < len(label.strip()) <= MAX_LABEL:
        _refuse(
            _l(
                "%(field)s : indiquez un texte non vide de %(high)s caractères au plus.",
                field=f"{where}.label",
                high=MAX_LABEL,
            )
        )
    for key, (low, high) in TIER_BOUNDS.items():
        _whole(raw[key], f"{where}.{key}", low, high)
    if not isinstance(raw["privileged_consultant"], bool):
        _refuse(
            _l(
                "%(field)s : %(value)s n'est pas accepté ; indiquez true ou false.",
                field=f"{where}.privileged_consultant",
                value=_shown(raw["privileged_consultant"]),
            )
        )


def _tickets(where: str, raw, strict: bool) -> dict[str, dict[str, BusinessDuration]]:
    tickets = {}
    for priority, commitments in _table(raw, f"{where}.tickets", TICKET_PRIORITIES, strict=False).items():
        _choice(priority, f"{where}.tickets", TICKET_PRIORITIES)
        place = f"{where}.tickets.{priority}"
        for what in _table(commitments, place, COMMITMENTS, strict=False):
            _choice(what, place, COMMITMENTS)
        tickets[priority] = {what: _duration(value, f"{place}.{what}", strict) for what, value in commitments.items()}
        if strict:  # acknowledged, then taken charge of, then resolved
            named = [(what, tickets[priority][what]) for what in COMMITMENTS if what in tickets[priority]]
            for (first, early), (then, late) in zip(named, named[1:], strict=False):
                if _hours(early) > _hours(late):
                    _not_after(f"{place}.{first}", early, f"{place}.{then}", late)
    return tickets


def _duration(value, where: str, strict: bool) -> BusinessDuration:
    try:
        duration = BusinessDuration.parse(value) if isinstance(value, str) else None
    except ValueError:
        duration = None
    if duration is None or (strict and not 1 <= duration.amount <= MAX_COMMITMENT[duration.unit]):
        _refuse(
            _l(
                "%(field)s : %(value)s n'est pas accepté ; indiquez une durée ouvrée en heures, de « 1h » à "
                "« %(hours)sh », ou en jours, de « 1j » à « %(days)sj ».",
                field=where,
                value=_shown(value),
                hours=MAX_COMMITMENT["h"],
                days=MAX_COMMITMENT["j"],
            )
        )
    return duration


def _hours(duration: BusinessDuration) -> Decimal:
    return Decimal(duration.amount) * (HOURS_PER_DAY if duration.unit == "j" else 1)


def _prices(name: str, raw: dict, strict: bool = True) -> dict[str, Decimal]:
    prices = {}
    for item, amount in raw.items():
        where = f"tiers.{name}.prices.{item}"
        _choice(item, f"tiers.{name}.prices", PRICE_ITEMS)
        try:
            numeric = isinstance(amount, (int, float)) or (not strict and isinstance(amount, str))  # "120" once read
            value = Decimal(str(amount)) if numeric and not isinstance(amount, bool) else None
            if value is not None and (
                not value.is_finite() or value < 0 or (strict and value > MAX_PRICE) or value != value.quantize(CENT)
            ):
                value = None
        except InvalidOperation:  # more digits than a quantised Decimal holds: 1e30, thirty nines
            value = None
        if value is None:
            _refuse(
                _l(
                    "%(field)s : %(value)s n'est pas accepté ; indiquez un prix en euros de 0 à %(high)s, avec au "
                    "plus deux décimales.",
                    field=where,
                    value=_shown(amount),
                    high=MAX_PRICE,
                )
            )
        prices[item] = value.quantize(CENT)
    return prices


CENT = Decimal("0.01")


# (lowest, highest) of each booking rule: a value outside would break the slot list (a zero grid, a
# negative notice) or make no sense (a hold of a week); the same bounds for the file and the admin page.
POLICY_BOUNDS = {
    "notice_hours": (0, 400),
    "horizon_days": (1, 730),
    "buffer_minutes": (0, 240),
    "grid_minutes": (5, 240),  # what any stored version may hold; a new text's grid must divide the hour (GRID_STEPS)
    "cancel_cutoff_hours": (0, 400),
    "hold_minutes": (1, 1440),
    "follow_up_hold_hours": (1, 720),
    "reminder_hours": (0, 720),
    "low_balance_minutes": (0, 100_000),
    "callback_risk_hours": (0, 400),
}
# The start grid is counted in minutes past each hour (availability, why-not, the solver's timeline): a step that
# divides the hour puts a start on every whole hour, so on the 09:00 and 14:00 openings; 7 would give 09:06.
GRID_STEPS = (5, 6, 10, 12, 15, 20, 30, 60)  # from POLICY_BOUNDS' 5 up: every divisor of 60


def _policy(raw, strict: bool = True) -> BookingPolicy:
    _table(raw, "booking", tuple(POLICY_BOUNDS), strict=True)  # unknown rules were always refused
    for name, (low, high) in POLICY_BOUNDS.items():
        if name in raw:  # the form shows the refusal beside its field (the rules form names them alike)
            _whole(raw[name], f"booking.{name}", low, high, field=name)
    policy = BookingPolicy(**raw)
    if strict:
        _check_grid(policy.grid_minutes, "booking.grid_minutes", "grid_minutes")
    return policy


def _check_grid(value, where: str, field: str | None = None) -> None:
    """A start grid divides the hour (GRID_STEPS), else every start would drift off the whole hours."""
    if isinstance(value, int) and not isinstance(value, bool) and value in GRID_STEPS:
        return
    _refuse(
        _l(
            "%(field)s : une grille de %(minutes)s minutes ne divise pas l'heure, et les débuts ne tomberaient plus "
            "tous sur les heures pleines (9 h 00, 14 h 00). Choisissez 5, 6, 10, 12, 15, 20, 30 ou 60 minutes.",
            field=where,
            minutes=_shown(value),
        ),
        code="invalid_grid",
        field=field,
    )


def _reshuffle(raw, kinds: set[str], strict: bool) -> ReshufflePolicy:
    """The [reshuffle] table: required, because a priority quote is priced from it."""
    if raw is None:
        _refuse(_l("%(field)s manque : cette clé est obligatoire.", field="reshuffle"))
    _table(raw, "reshuffle", RESHUFFLE_KEYS, RESHUFFLE_KEYS)
    compensation = _table(raw["compensation_eur"], "reshuffle.compensation_eur", sorted(kinds), strict=False)
    for kind in compensation:
        _choice(kind, "reshuffle.compensation_eur", sorted(kinds))
    freeze = _whole(raw["freeze_hours"], "reshuffle.freeze_hours", 0, 720)
    booked = _whole(raw["compensated_if_booked_days_before"], "reshuffle.compensated_if_booked_days_before", 0, 730)
    amounts = {kind: _number(v, f"reshuffle.compensation_eur.{kind}", 0, 100_000) for kind, v in compensation.items()}
    rows = raw["short_notice_factor"]
    factors = tuple(_factor(row) for row in (rows if isinstance(rows, list) else [rows]))
    if [d for d, _f in factors] != sorted({d for d, _f in factors}):
        _factor(None)
    weights = _table(raw["weights"], "reshuffle.weights", RESHUFFLE_WEIGHTS, RESHUFFLE_WEIGHTS)
    weighted = {name: _number(weights[name], f"reshuffle.weights.{name}", 0, 1_000_000) for name in RESHUFFLE_WEIGHTS}
    return ReshufflePolicy(freeze, booked, amounts, factors, weighted)


def _factor(row) -> tuple[int, int | float]:
    """One [business days, factor] row of reshuffle.short_notice_factor (None: rows out of order)."""
    where = "reshuffle.short_notice_factor"
    if not isinstance(row, list) or len(row) != 2:
        _refuse(
            _l(
                "%(field)s : indiquez des paires [jours ouvrés, coefficient], les jours en ordre croissant de 1 à "
                "400, les coefficients de 1 à 100.",
                field=where,
            )
        )
    return _whole(row[0], where, 1, 400), _number(row[1], where, 1, 100)


def parse(raw: dict, strict: bool = True) -> Contract:
    """Build and validate a contract from its TOML data. `strict`: also the rules added since a version may have
    been stored (a grid that divides the hour, the catalogue kept, sensible tiers and services, no unknown key); a
    stored version is read as it was accepted, else one applied before a rule existed would make every request fail."""
    _table(raw, "", SECTIONS, strict=strict)
    services_raw = _table(raw.get("services", {}), "services", KINDS, strict=False)
    tiers_raw = _table(raw.get("tiers", {}), "tiers", TIERS, strict=False)
    if strict:
        _check_catalogue(services_raw, tiers_raw)
    services = {kind: _service(kind, data, strict) for kind, data in services_raw.items()}
    for service in services.values():
        if strict and service.grid_minutes is not None:
            _check_grid(service.grid_minutes, f"services.{service.kind}.grid_minutes")
    tiers = {name: _tier(name, data, set(services), strict) for name, data in tiers_raw.items()}
    if not tiers or not services:
        _refuse(_l("tiers, services : le contrat a besoin d'au moins une formule et d'une prestation."))
    return Contract(
        services=services,
        tiers=tiers,
        reshuffle=_reshuffle(raw.get("reshuffle"), set(services), strict),
        policy=_policy(raw.get("booking", {}), strict),
    )


def _check_catalogue(services: dict, tiers: dict) -> None:
    """A new text serves the kinds and tiers the database knows, no fewer (bookings, companies and their periods
    name them: pages would fail) and no more (nothing could book or hold them)."""
    for kind in services:
        if kind not in KINDS:
            _refuse(
                _l(
                    "%(field)s : prestation inconnue ; le planning et sa base de données ne servent que %(choices)s.",
                    field=f"services.{kind}",
                    choices=", ".join(KINDS),
                )
            )
    for name in tiers:
        if name not in TIERS:
            _refuse(
                _l(
                    "%(field)s : formule inconnue ; une entreprise ne peut avoir que %(choices)s.",
                    field=f"tiers.{name}",
                    choices=", ".join(TIERS),
                )
            )
    for kind in KINDS:
        if kind not in services:
            _refuse(
                _l(
                    "[services.%(kind)s] manque : le planning sert cette prestation et des rendez-vous la nomment. "
                    "Pour ne plus la proposer, gardez sa section et mettez « no » dans les services de chaque formule.",
                    kind=kind,
                ),
                code="service_required",
            )
    for name in TIERS:
        if name not in tiers:
            _refuse(
                _l(
                    "[tiers.%(name)s] manque : des entreprises, leurs périodes de contrat et la fiche d'une entreprise "
                    "nomment cette formule. Gardez sa section ; vous pouvez changer son libellé et ce qu'elle inclut.",
                    name=name,
                ),
                code="tier_required",
            )


SYNTAX_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_text(text: str, origin: str, strict: bool = True) -> Contract:
    """A contract from its TOML text: the one check of the file and of the admin page's edits (`parse`'s `strict`
    for a version already stored; `origin` names it in the log when a stored one no longer reads)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = SYNTAX_AT.search(str(exc))
        if at:
            _refuse(
                _l(
                    "le texte n'est pas du TOML lisible, ligne %(line)s, colonne %(column)s : vérifiez les crochets, "
                    "les guillemets et les « = » à cet endroit.",
                    line=at.group(1),
                    column=at.group(2),
                ),
                code="contract_syntax",
            )
        _refuse(
            _l("le texte n'est pas du TOML lisible : vérifiez les crochets, les guillemets et les « = »."),
            code="contract_syntax",
        )
    except RecursionError:  # the parser recurses once per nested list or table
        _refuse(
            _l(
                "le texte imbrique trop de listes ou de tables pour être lu ; un contrat n'en imbrique que deux ou trois."
            ),
            code="contract_syntax",
        )
    return parse(raw, strict)


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Contract:
    with open(path, "rb") as fh:
        return parse_text(fh.read().decode("utf-8"), path)


def load(path: str | os.PathLike | None = None) -> Contract:
    """The contract from `path` (default: the packaged file); re-read when the file changes."""
    path = os.fspath(path or DEFAULT_FILE)
    return _load(path, os.stat(path).st_mtime)


def file_path() -> str:
    """The contract file the app starts from (CONTRACT_FILE, else the packaged file)."""
    from flask import current_app

    return os.fspath(current_app.config.get("CONTRACT_FILE") or DEFAULT_FILE)


# Set by the app (services.contract_store.in_force): the version an admin applied from the page, or None
# when there is none; injected so that this module knows nothing of the database.
def _no_edited_version() -> Contract | None:
    return None


_edited: Callable[[], Contract | None] = _no_edited_version


def use_edited(source: Callable[[], Contract | None]) -> None:
    global _edited
    _edited = source


def current() -> Contract:
    """The contract the running app uses: the newest version applied from the admin page, else the file."""
    return _edited() or load(file_path())
