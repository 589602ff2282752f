"""Realistic instances: French holidays, absences, about 70 % load, a mix of kinds, 1–3 priority jobs."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import holidays

from calendars.worktime import PARIS, WorkCalendar

from .instance import INSTANCE_FORMAT

SKILLS = ("finance", "migration", "logistics", "production", "purchasing")
KINDS = [
    ("erplib", 45, "block", 6),
    ("callback", 30, "block", 3),
    ("minor_update", 120, "block", 1),
    ("major_install_test", 450, "days", 0.15),
    ("major_install", 450, "days", 0.1),
]
HOURS = [["09:00", "12:30"], ["14:00", "18:00"]]


def _iso(instant: datetime) -> str:
    return instant.astimezone(PARIS).isoformat()


def generate(
    consultants: int = 10,
    weeks: int = 4,
    seed: int = 1,
    load: float = 0.7,
    jobs: int | None = None,
    start: date = date(2027, 3, 1),
    cascade: bool = False,
) -> dict:
    """With `cascade`, a busier schedule where whole-day installs are common and every booking has a
    short window: a displaced install rarely finds a free day, so good plans move chains of bookings
    (A to B's place, B to C's...), which a greedy that places one displaced booking at a time misses."""
    rng = random.Random(seed)
    if cascade:
        load = max(load, 0.85)
    monday = start - timedelta(days=start.weekday())
    now = datetime.combine(monday, time(9), PARIS)
    end = datetime.combine(monday + timedelta(weeks=weeks), time(0), PARIS)
    french = sorted(d for d in holidays.France(years=range(monday.year, end.year + 1)) if monday <= d < end.date())
    calendar = WorkCalendar(extra_holidays=frozenset(french), public_holidays=False)
    people: list[dict] = []
    for n in range(consultants):
        skills = rng.sample(SKILLS, rng.randint(1, 3))
        unavailable = []
        if rng.random() < 0.3:  # a day or two off
            day = monday + timedelta(days=rng.randrange(weeks * 7))
            unavailable.append(
                {
                    "start": _iso(datetime.combine(day, time(0), PARIS)),
                    "end": _iso(datetime.combine(day + timedelta(days=rng.randint(1, 2)), time(0), PARIS)),
                }
            )
        if rng.random() < 0.3:  # a dentist appointment from an external calendar
            day = monday + timedelta(days=rng.randrange(weeks * 7))
            unavailable.append(
                {
                    "start": _iso(datetime.combine(day, time(15), PARIS)),
                    "end": _iso(datetime.combine(day, time(16), PARIS)),
                }
            )
        people.append({"id": f"c{n + 1:03d}", "skills": skills, "unavailable": unavailable})
    bookings = []
    for person in people:
        absent = WorkCalendar(
            extra_holidays=frozenset(french),
            public_holidays=False,
            absences=tuple(
                (datetime.fromisoformat(u["start"]), datetime.fromisoformat(u["end"])) for u in person["unavailable"]
            ),
        )
        day = monday
        while day < end.date():
            blocks = absent.day_intervals(day)
            if blocks and blocks == calendar.day_intervals(day) and rng.random() < (0.2 if cascade else 0.05) * load:
                kind = rng.choices(KINDS[3:], [k[3] for k in KINDS[3:]])[0]
                bookings.append(_booking(rng, kind, person, people, blocks[0][0], blocks[-1][1], now, end, cascade))
                day += timedelta(days=1)
                continue
            for a, b in blocks:
                cursor = a
                while True:
                    kind = rng.choices(KINDS[:3], [k[3] for k in KINDS[:3]])[0]
                    length = timedelta(minutes=kind[1])
                    if cursor + length > b:
                        break
                    if rng.random() < load:
                        bookings.append(_booking(rng, kind, person, people, cursor, cursor + length, now, end, cascade))
                        cursor += length
                    else:
                        cursor += timedelta(minutes=15 * rng.randint(1, 3))
            day += timedelta(days=1)
    for n, booking in enumerate(sorted(bookings, key=lambda b: (b["start"], b["consultant"]))):
        booking["id"] = f"b{n + 1:05d}"
    priority = []
    for n in range(jobs if jobs is not None else rng.randint(1, 3)):
        days = rng.randint(1, 3)
        priority.append(
            {
                "id": f"p{n + 1}",
                "client": f"urgent{n + 1}",
                "kind": "priority_consulting",
                "duration_minutes": 450 * days,
                "span": "days",
                "skill": rng.choice(SKILLS),
                "window": {"start": _iso(now + timedelta(hours=2)), "end": _iso(now + timedelta(days=7))},
            }
        )
    return {
        "format": INSTANCE_FORMAT,
        "now": _iso(now),
        "calendar": {
            "timezone": "Europe/Paris",
            "weekdays": [0, 1, 2, 3, 4],
            "hours": HOURS,
            "holidays": [d.isoformat() for d in french],
            "grid_minutes": 15,
        },
        "horizon": {"start": _iso(now), "end": _iso(end)},
        "consultants": people,
        "bookings": bookings,
        "priority_jobs": priority,
        "policy": {
            "freeze_hours": 48,
            "compensated_if_booked_days_before": 14,
            "compensation_eur": {
                "erplib": 60,
                "callback": 0,
                "minor_update": 250,
                "major_install": 900,
                "major_install_test": 600,
            },
            "short_notice_factor": [[2, 3.0], [5, 2.0], [10, 1.5]],
            "weights": {"moved": 100, "consultant_change": 20, "displacement_hour": 1},
        },
    }


def _booking(rng, kind, person, people, start, end, now, horizon_end, cascade=False) -> dict:
    name, minutes, span, _ = kind
    others = [p["id"] for p in people if p is not person and set(p["skills"]) & set(person["skills"])]
    eligible = [person["id"]] + rng.sample(others, min(len(others), rng.randint(0, 2)))
    window_end = min(horizon_end, start + timedelta(days=rng.randint(3, 7) if cascade else rng.randint(3, 14)))
    return {
        "id": "",
        "client": f"client{rng.randint(1, 60)}",
        "kind": name,
        "duration_minutes": minutes,
        "span": span,
        "consultant": person["id"],
        "start": _iso(start),
        "eligible": eligible,
        "window": {"start": _iso(now), "end": _iso(max(window_end, end))},
        "pinned": rng.random() < 0.03,
        "booked_at": _iso(now - timedelta(days=rng.randint(1, 60))),
    }
