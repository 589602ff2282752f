"""The support contract as data: tiers, entitlements, ticket commitments, service catalogue."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

from calendars.worktime import BusinessDuration

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
    """The contract file is unreadable or inconsistent: the message names the key, for whoever edits the file. A rule
    that the admin page edits may add a sentence in the reader's language, a stable code and the form field."""

    def __init__(self, message: str, sentence=None, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.sentence, self.code, self.field = sentence, code, field


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
            raise ContractError(f"Formule inconnue : {name!r}") from None

    def service(self, kind: str) -> Service:
        try:
            return self.services[kind]
        except KeyError:
            raise ContractError(f"Prestation inconnue : {kind!r}") from None


def _service(kind: str, raw: dict) -> Service:
    data = dict(raw)
    if data.get("span") not in SPANS:
        raise ContractError(f"services.{kind}.span must be one of {SPANS}")
    data["environments"] = tuple(data.get("environments", ()))
    data["prerequisites"] = tuple(tuple(item) for item in data.get("prerequisites", ()))
    try:
        return Service(kind=kind, **data)
    except TypeError as exc:
        raise ContractError(f"services.{kind}: {exc}") from None


def _tier(name: str, raw: dict, kinds: set[str]) -> Tier:
    services = dict(raw.get("services", {}))
    for kind, level in services.items():
        if kind not in kinds:
            raise ContractError(f"tiers.{name}.services: unknown service {kind!r}")
        if level not in ACCESS_LEVELS:
            raise ContractError(f"tiers.{name}.services.{kind}: {level!r} is not one of {ACCESS_LEVELS}")
    tickets = {}
    for priority, commitments in raw.get("tickets", {}).items():
        if priority not in TICKET_PRIORITIES:
            raise ContractError(f"tiers.{name}.tickets: unknown priority {priority!r}")
        unknown = set(commitments) - set(COMMITMENTS)
        if unknown:
            raise ContractError(f"tiers.{name}.tickets.{priority}: unknown {sorted(unknown)}")
        try:
            tickets[priority] = {k: BusinessDuration.parse(v) for k, v in commitments.items()}
        except ValueError as exc:
            raise ContractError(f"tiers.{name}.tickets.{priority}: {exc}") from None
    prices = _prices(name, raw.get("prices", {}))
    try:
        return Tier(
            name=name,
            label=raw["label"],
            contacts=int(raw["contacts"]),
            maintained_versions=int(raw["maintained_versions"]),
            privileged_consultant=bool(raw["privileged_consultant"]),
            hour_bank_minutes=int(raw["hour_bank_minutes"]),
            services=services,
            tickets=tickets,
            prices=prices,
        )
    except KeyError as exc:
        raise ContractError(f"tiers.{name}: missing {exc.args[0]!r}") from None


def _prices(name: str, raw: dict) -> dict[str, Decimal]:
    prices = {}
    for item, amount in raw.items():
        if item not in PRICE_ITEMS:
            raise ContractError(f"tiers.{name}.prices: unknown item {item!r} (one of {PRICE_ITEMS})")
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            raise ContractError(f"tiers.{name}.prices.{item}: {amount!r} is not an amount") from None
        if isinstance(amount, bool) or not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
            raise ContractError(f"tiers.{name}.prices.{item}: {amount!r} must be euros, at most two decimals, >= 0")
        prices[item] = value.quantize(Decimal("0.01"))
    return prices


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
SERVICE_HOURS = ("prerequisites_gate_hours", "prerequisites_reminder_hours")
# The start grid is counted in minutes past each hour (availability, why-not, the solver's timeline): a step that
# divides the hour puts a start on every whole hour, so on the 09:00 and 14:00 openings; 7 would give 09:06.
GRID_STEPS = (5, 6, 10, 12, 15, 20, 30, 60)  # from POLICY_BOUNDS' 5 up: every divisor of 60


def _policy(raw: dict, strict: bool = True) -> BookingPolicy:
    try:
        policy = BookingPolicy(**raw)
    except TypeError as exc:
        raise ContractError(f"booking: {exc}") from None
    for name, (low, high) in POLICY_BOUNDS.items():
        value = getattr(policy, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ContractError(f"booking.{name}: {value!r} must be a whole number from {low} to {high}")
    if strict:
        _check_grid(policy.grid_minutes, "booking.grid_minutes", "grid_minutes")
    return policy


def _check_grid(value, where: str, field: str | None = None) -> None:
    """A start grid divides the hour (GRID_STEPS), else every start would drift off the whole hours."""
    if isinstance(value, int) and not isinstance(value, bool) and value in GRID_STEPS:
        return
    raise ContractError(
        f"{where}: {value!r} must divide the hour: one of {', '.join(map(str, GRID_STEPS))} minutes",
        _l(
            "une grille de %(minutes)s minutes ne divise pas l'heure, et les débuts ne tomberaient plus tous sur les "
            "heures pleines (9 h 00, 14 h 00). Choisissez 5, 6, 10, 12, 15, 20, 30 ou 60 minutes.",
            minutes=value,
        ),
        code="invalid_grid",
        field=field,
    )


# A booking lasts at most a day's minutes or MAX_DAYS business days: overlap queries look back no further than
# the longest booking (models.bookings.LONGEST, 21 days, which 10 business days and their weekends fit in).
MAX_MINUTES, MAX_DAYS = 24 * 60, 10


def _check_service_hours(service: Service) -> None:
    for name in SERVICE_HOURS:
        value = getattr(service, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 400):
            raise ContractError(f"services.{service.kind}.{name}: {value!r} must be a whole number from 0 to 400")
    for name, high in (("duration_minutes", MAX_MINUTES), ("duration_days", MAX_DAYS)):
        value = getattr(service, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high):
            raise ContractError(f"services.{service.kind}.{name}: {value!r} must be a whole number from 1 to {high}")


RESHUFFLE_WEIGHTS = ("moved", "consultant_change", "displacement_hour")


def _number(value, where: str, low: float, high: float, *, whole: bool = False) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)) or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        raise ContractError(f"{where}: {value!r} must be {kind} from {low} to {high}")
    return value


def _reshuffle(raw: dict | None, kinds: set[str]) -> ReshufflePolicy:
    """The [reshuffle] table: required, because a priority quote is priced from it."""
    if not isinstance(raw, dict):
        raise ContractError("reshuffle: the table is missing (the compensation policy of priority consulting)")
    unknown = set(raw) - {
        "freeze_hours",
        "compensated_if_booked_days_before",
        "compensation_eur",
        "short_notice_factor",
        "weights",
    }
    if unknown:
        raise ContractError(f"reshuffle: unknown {sorted(unknown)}")
    try:
        compensation, rows, weights = raw["compensation_eur"], raw["short_notice_factor"], raw["weights"]
        freeze = _number(raw["freeze_hours"], "reshuffle.freeze_hours", 0, 720, whole=True)
        booked = _number(
            raw["compensated_if_booked_days_before"], "reshuffle.compensated_if_booked_days_before", 0, 730, whole=True
        )
    except KeyError as exc:
        raise ContractError(f"reshuffle: missing {exc.args[0]!r}") from None
    for kind in compensation:
        if kind not in kinds:
            raise ContractError(f"reshuffle.compensation_eur: unknown service {kind!r}")
    amounts = {kind: _number(v, f"reshuffle.compensation_eur.{kind}", 0, 100_000) for kind, v in compensation.items()}
    if not isinstance(rows, list) or any(not isinstance(row, list) or len(row) != 2 for row in rows):
        raise ContractError("reshuffle.short_notice_factor: a list of [business days, factor] pairs")
    factors = tuple(
        (
            _number(d, "reshuffle.short_notice_factor", 1, 400, whole=True),
            _number(f, "reshuffle.short_notice_factor", 1, 100),
        )
        for d, f in rows
    )
    if [d for d, _f in factors] != sorted({d for d, _f in factors}):
        raise ContractError("reshuffle.short_notice_factor: business days must increase from row to row")
    if set(weights) != set(RESHUFFLE_WEIGHTS):
        raise ContractError(f"reshuffle.weights: exactly {list(RESHUFFLE_WEIGHTS)}")
    weighted = {name: _number(weights[name], f"reshuffle.weights.{name}", 0, 1_000_000) for name in RESHUFFLE_WEIGHTS}
    return ReshufflePolicy(freeze, booked, amounts, factors, weighted)


def parse(raw: dict, strict: bool = True) -> Contract:
    """Build and validate a contract from its TOML data. `strict`: also the rules added since a version may have
    been stored (a grid that divides the hour); a stored version is read as it was accepted, else one applied before
    a rule existed would make every request fail."""
    services = {kind: _service(kind, data) for kind, data in raw.get("services", {}).items()}
    for service in services.values():
        _check_service_hours(service)
        if strict and service.grid_minutes is not None:
            _check_grid(service.grid_minutes, f"services.{service.kind}.grid_minutes")
    tiers = {name: _tier(name, data, set(services)) for name, data in raw.get("tiers", {}).items()}
    if not tiers or not services:
        raise ContractError("The contract needs at least one tier and one service")
    return Contract(
        services=services,
        tiers=tiers,
        reshuffle=_reshuffle(raw.get("reshuffle"), set(services)),
        policy=_policy(raw.get("booking", {}), strict),
    )


def parse_text(text: str, origin: str, strict: bool = True) -> Contract:
    """A contract from its TOML text: the one check of the file and of the admin page's edits (`parse`'s `strict`
    for a version already stored)."""
    try:
        return parse(tomllib.loads(text), strict)
    except tomllib.TOMLDecodeError as exc:
        raise ContractError(f"{origin}: {exc}") from None


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
