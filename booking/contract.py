"""The support contract as data: tiers, entitlements, ticket commitments, service catalogue."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

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
    """The contract file is unreadable or inconsistent."""


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
        tickets[priority] = {k: BusinessDuration.parse(v) for k, v in commitments.items()}
    prices = _prices(name, raw.get("prices", {}))
    try:
        return Tier(
            name=name, label=raw["label"], contacts=int(raw["contacts"]),
            maintained_versions=int(raw["maintained_versions"]),
            privileged_consultant=bool(raw["privileged_consultant"]),
            hour_bank_minutes=int(raw["hour_bank_minutes"]),
            services=services, tickets=tickets, prices=prices,
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


def parse(raw: dict) -> Contract:
    """Build and validate a contract from its TOML data."""
    services = {kind: _service(kind, data) for kind, data in raw.get("services", {}).items()}
    tiers = {name: _tier(name, data, set(services)) for name, data in raw.get("tiers", {}).items()}
    if not tiers or not services:
        raise ContractError("The contract needs at least one tier and one service")
    try:
        policy = BookingPolicy(**raw.get("booking", {}))
    except TypeError as exc:
        raise ContractError(f"booking: {exc}") from None
    return Contract(services=services, tiers=tiers, policy=policy)


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Contract:
    try:
        with open(path, "rb") as fh:
            return parse(tomllib.load(fh))
    except tomllib.TOMLDecodeError as exc:
        raise ContractError(f"{path}: {exc}") from None


def load(path: str | os.PathLike | None = None) -> Contract:
    """The contract from `path` (default: the packaged file); re-read when the file changes."""
    path = os.fspath(path or DEFAULT_FILE)
    return _load(path, os.stat(path).st_mtime)


def current() -> Contract:
    """The contract the running app uses (CONTRACT_FILE, else the packaged file)."""
    from flask import current_app

    return load(current_app.config.get("CONTRACT_FILE") or None)
