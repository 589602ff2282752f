"""Reshuffle instance and plan types, read and written exactly as docs/solver-format.md says."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

INSTANCE_FORMAT = "erplib-reshuffle/1"
PLAN_FORMAT = "erplib-reshuffle-plan/1"


class InstanceError(ValueError):
    """The instance is not of the documented format; the message says where."""


def _instant(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise InstanceError(f"{where}: {text!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise InstanceError(f"{where}: {text!r} has no offset")
    # One tzinfo object everywhere: comparing instants that share it skips utcoffset() calls,
    # which otherwise dominate the solver's bisections.
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @classmethod
    def read(cls, raw: dict, where: str) -> Window:
        return cls(_instant(raw["start"], f"{where}.start"), _instant(raw["end"], f"{where}.end"))


@dataclass(frozen=True)
class CalendarSpec:
    timezone: str
    weekdays: tuple[int, ...]
    hours: tuple[tuple[time, time], ...]
    holidays: frozenset[date]
    grid_minutes: int


@dataclass(frozen=True)
class Consultant:
    id: str
    skills: frozenset[str]
    unavailable: tuple[Window, ...] = ()


@dataclass(frozen=True)
class Booking:
    id: str
    client: str
    kind: str
    duration_minutes: int
    span: str
    consultant: str
    start: datetime
    eligible: tuple[str, ...]
    window: Window
    pinned: bool
    booked_at: datetime


@dataclass(frozen=True)
class PriorityJob:
    id: str
    client: str
    kind: str
    duration_minutes: int
    span: str
    skill: str
    window: Window


@dataclass(frozen=True)
class Policy:
    freeze_hours: float
    compensated_if_booked_days_before: float
    compensation_eur: dict[str, float]
    short_notice_factor: tuple[tuple[float, float], ...]
    weights: dict[str, float]


@dataclass(frozen=True)
class Instance:
    now: datetime
    calendar: CalendarSpec
    horizon: Window
    consultants: tuple[Consultant, ...]
    bookings: tuple[Booking, ...]
    priority_jobs: tuple[PriorityJob, ...]
    policy: Policy
    raw: dict = field(default_factory=dict, compare=False, repr=False)


def read_instance(raw: dict) -> Instance:
    """Validate and type an instance; an InstanceError names the first problem."""
    if raw.get("format") != INSTANCE_FORMAT:
        raise InstanceError(f"format must be {INSTANCE_FORMAT!r}")
    try:
        cal = raw["calendar"]
        calendar = CalendarSpec(
            timezone=cal["timezone"],
            weekdays=tuple(cal["weekdays"]),
            hours=tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in cal["hours"]),
            holidays=frozenset(date.fromisoformat(d) for d in cal.get("holidays", [])),
            grid_minutes=int(cal.get("grid_minutes", 15)),
        )
        consultants = tuple(
            Consultant(
                c["id"],
                frozenset(c.get("skills", [])),
                tuple(Window.read(u, f"consultants[{c['id']}].unavailable") for u in c.get("unavailable", [])),
            )
            for c in raw["consultants"]
        )
        bookings = tuple(
            Booking(
                b["id"],
                b.get("client", ""),
                b["kind"],
                int(b["duration_minutes"]),
                b["span"],
                b["consultant"],
                _instant(b["start"], f"bookings[{b['id']}].start"),
                tuple(b.get("eligible", [b["consultant"]])),
                Window.read(b["window"], f"bookings[{b['id']}].window"),
                bool(b.get("pinned", False)),
                _instant(b["booked_at"], f"bookings[{b['id']}].booked_at"),
            )
            for b in raw["bookings"]
        )
        jobs = tuple(
            PriorityJob(
                j["id"],
                j.get("client", ""),
                j.get("kind", "priority_consulting"),
                int(j["duration_minutes"]),
                j["span"],
                j["skill"],
                Window.read(j["window"], f"priority_jobs[{j['id']}].window"),
            )
            for j in raw["priority_jobs"]
        )
        pol = raw["policy"]
        policy = Policy(
            float(pol["freeze_hours"]),
            float(pol["compensated_if_booked_days_before"]),
            {k: float(v) for k, v in pol["compensation_eur"].items()},
            tuple((float(a), float(b)) for a, b in pol["short_notice_factor"]),
            {k: float(v) for k, v in pol["weights"].items()},
        )
        instance = Instance(
            _instant(raw["now"], "now"),
            calendar,
            Window.read(raw["horizon"], "horizon"),
            consultants,
            bookings,
            jobs,
            policy,
            raw,
        )
    except KeyError as missing:
        raise InstanceError(f"missing field {missing.args[0]!r}") from None
    except (TypeError, ValueError) as error:
        if isinstance(error, InstanceError):
            raise
        raise InstanceError(str(error)) from None
    ids = [c.id for c in consultants]
    for booking in bookings:
        unknown = {booking.consultant, *booking.eligible} - set(ids)
        if unknown:
            raise InstanceError(f"bookings[{booking.id}] names unknown consultants {sorted(unknown)}")
        if booking.span not in ("block", "days"):
            raise InstanceError(f"bookings[{booking.id}].span must be 'block' or 'days'")
    return instance


def load_instance(path: str) -> Instance:
    with open(path, encoding="utf-8") as handle:
        try:
            raw = json.load(handle)
        except json.JSONDecodeError as error:
            raise InstanceError(f"{path}: not JSON ({error})") from None
    return read_instance(raw)


@dataclass
class Placement:
    id: str
    consultant: str
    start: datetime
    end: datetime


@dataclass
class Move:
    id: str
    from_consultant: str
    from_start: datetime
    consultant: str
    start: datetime
    end: datetime
    compensation_eur: float


@dataclass
class Plan:
    status: str
    solver: str
    placements: list[Placement] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    objective: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    reason: str = ""  # why INFEASIBLE or UNKNOWN, or what the bound covers

    def to_json(self) -> dict[str, Any]:
        data = {
            "format": PLAN_FORMAT,
            "status": self.status,
            "solver": self.solver,
            "placements": [
                {"id": p.id, "consultant": p.consultant, "start": p.start.isoformat(), "end": p.end.isoformat()}
                for p in self.placements
            ],
            "moves": [
                {
                    "id": m.id,
                    "from": {"consultant": m.from_consultant, "start": m.from_start.isoformat()},
                    "to": {"consultant": m.consultant, "start": m.start.isoformat(), "end": m.end.isoformat()},
                    "compensation_eur": m.compensation_eur,
                }
                for m in self.moves
            ],
            "objective": self.objective,
            "seconds": round(self.seconds, 3),
        }
        if self.reason:
            data["reason"] = self.reason
        return data


def read_plan(raw: dict) -> Plan:
    """A plan written by us or another tool (for `check`)."""
    if raw.get("format") != PLAN_FORMAT:
        raise InstanceError(f"plan format must be {PLAN_FORMAT!r}")
    return Plan(
        status=raw.get("status", "UNKNOWN"),
        solver=raw.get("solver", ""),
        placements=[
            Placement(p["id"], p["consultant"], _instant(p["start"], "placement"), _instant(p["end"], "placement"))
            for p in raw.get("placements", [])
        ],
        moves=[
            Move(
                m["id"],
                m["from"]["consultant"],
                _instant(m["from"]["start"], "move"),
                m["to"]["consultant"],
                _instant(m["to"]["start"], "move"),
                _instant(m["to"]["end"], "move"),
                float(m.get("compensation_eur", 0)),
            )
            for m in raw.get("moves", [])
        ],
        objective=raw.get("objective", {}),
        seconds=float(raw.get("seconds", 0)),
        reason=raw.get("reason", ""),
    )
