"""Benchmark: one month of erplib slots at 50, 100, 200 and 400 consultants (40 bookings each), against a
minimal reference implementation on the same data (asserted to give the same answers), and the booking's
re-check under its locks (the chosen consultant alone) at each size.

Run: .venv/bin/python bench/availability.py [--sizes 50 100 200 400] [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("SECRET_KEY", "bench")

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, literal, null, or_, select, union_all  # noqa: E402
from timing import timed  # noqa: E402  (bench/timing.py)

from booking import contract, create_app  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.models import ACTIVE_STATUSES, Booking, Company, Consultant, User  # noqa: E402
from booking.services import availability  # noqa: E402
from calendars.worktime import PARIS, public_holidays  # noqa: E402

BOOKINGS_EACH = 40
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 08:00 in Paris
FIRST, LAST = date(2026, 12, 1), date(2026, 12, 28)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def seed(consultants_count: int, history_days: int = 0) -> Company:
    """A Sérénité company whose privileged consultant is the first one; 40 bookings per consultant, and a
    session done on each of the `history_days` days before the month (the years a service accumulates)."""
    rng = random.Random(7)
    company = Company(name="Bench", tier="serenite", contract_start=date(2026, 1, 1), erp_version="12")
    contact = User(email="bench@bench.example", name="Bench", role="client", company=company, password_hash="x")
    consultants = [
        Consultant(
            user=User(email=f"c{n}@bench.example", name=f"C{n}", role="consultant", password_hash="x"),
            skills=["comptabilite"],
            daily_cap=8,
        )
        for n in range(consultants_count)
    ]
    db.session.add_all([company, contact, *consultants])
    db.session.flush()
    company.privileged_consultant_id = consultants[0].id
    calendars = {c.id: availability.calendar_for(c) for c in consultants}
    taken: dict[int, list] = {c.id: [] for c in consultants}
    made = 0
    while made < BOOKINGS_EACH * consultants_count:
        consultant = rng.choice(consultants)
        day = NOW.date() + timedelta(days=rng.randrange(28))
        blocks = calendars[consultant.id].day_intervals(day)
        if not blocks:
            continue
        a, b = rng.choice(blocks)
        start = a + timedelta(minutes=15 * rng.randrange(int((b - a).total_seconds() // 900) - 2))
        end = start + timedelta(minutes=45)
        if any(start < e and s < end for s, e in taken[consultant.id]):
            continue
        taken[consultant.id].append((start, end))
        db.session.add(
            Booking(
                kind="erplib",
                status="confirmed",
                start_at=start,
                end_at=end,
                consultant_id=consultant.id,
                company=company,
                booked_at=NOW - timedelta(days=20),
            )
        )
        made += 1
    past = [
        {
            "kind": "erplib",
            "status": "completed",
            "start_at": start,
            "end_at": start + timedelta(minutes=45),
            "consultant_id": consultant.id,
            "company_id": company.id,
            "booked_at": start - timedelta(days=7),
            "ical_uid": f"past-{consultant.id}-{days}@bench",
        }
        for consultant in consultants
        for days in range(1, history_days + 1)
        for start in [datetime.combine(NOW.date() - timedelta(days=days), time(9), PARIS)]
    ]
    if past:
        db.session.execute(insert(Booking), past)
    db.session.commit()
    return company


# The reference: what the bench's data needs and nothing more (each consultant's weekly pattern, French
# holidays, bookings; no absences nor imported calendars, which the data has none of), in integer minutes
# since the epoch, from one query.
def _minutes(instant: datetime) -> int:
    return (instant - EPOCH) // MINUTE


def _ceil_minutes(instant: datetime) -> int:
    return -((EPOCH - instant) // MINUTE)


def reference(company: Company, start: datetime, end: datetime, now: datetime) -> list[tuple[int, int, int]]:
    """(start, end, consultant id) of each free erplib start, in minutes: the rules of `availability.slots`."""
    terms = contract.current()
    service, policy = terms.service("erplib"), terms.policy
    week_start = datetime.combine(FIRST - timedelta(days=FIRST.weekday()), time(), PARIS)
    week_end = datetime.combine(LAST - timedelta(days=LAST.weekday()) + timedelta(days=7), time(), PARIS)
    rows = db.session.execute(
        union_all(
            select(
                Consultant.id,
                Consultant.working_pattern,
                Consultant.holiday_region,
                Consultant.daily_cap,
                Consultant.skills,
                *[literal(None, Booking.start_at.type)] * 2,
            )
            .join(User, User.id == Consultant.user_id)
            .where(User.active.is_(True)),
            select(Booking.consultant_id, null(), null(), null(), null(), Booking.start_at, Booking.end_at).where(
                Booking.status.in_(ACTIVE_STATUSES),
                Booking.start_at < week_end,
                Booking.end_at > week_start,
                or_(Booking.status != "held", Booking.hold_expires_at > now),
            ),
        )
    )
    people: dict[int, tuple] = {}
    busy: dict[int, list[tuple[int, int]]] = {}
    for cid, pattern, region, cap, skills, b_start, b_end in rows:
        if b_start is not None:
            busy.setdefault(cid, []).append((_minutes(b_start), _ceil_minutes(b_end)))
        elif service.skill is None or service.skill in skills:
            people[cid] = (pattern, region, cap)
    low = max(_ceil_minutes(start), _ceil_minutes(availability.earliest(now, "erplib")))
    high = min(_minutes(end), _minutes(now + timedelta(days=policy.horizon_days)))
    length, grid = service.duration_minutes, policy.grid_minutes
    best: dict[int, tuple] = {}
    blocks: dict[tuple, list[tuple[int, int, int]]] = {}  # (opening hours, day): in minutes, and local midnight's
    for cid, (pattern, region, cap) in people.items():
        per_day: dict[date, list[tuple[int, int]]] = {}
        per_week: dict[date, int] = {}
        for a, b in busy.get(cid, []):
            day = (EPOCH + a * MINUTE).astimezone(PARIS).date()
            per_day.setdefault(day, []).append((a, b))
            monday = day - timedelta(days=day.weekday())
            per_week[monday] = per_week.get(monday, 0) + b - a
        day = FIRST
        while day <= LAST:
            taken = per_day.get(day, [])
            if day not in public_holidays(day.year, region) and len(taken) < cap:
                rank = (
                    cid != company.privileged_consultant_id,
                    per_week.get(day - timedelta(days=day.weekday()), 0),
                    cid,
                )
                hours = pattern.get(str(day.weekday()), [])
                key = (repr(hours), day)
                if key not in blocks:
                    blocks[key] = [
                        (
                            _minutes(datetime.combine(day, time.fromisoformat(a), PARIS)),
                            _minutes(datetime.combine(day, time.fromisoformat(b), PARIS)),
                            _minutes(datetime.combine(day, time.fromisoformat(a), PARIS))
                            - time.fromisoformat(a).hour * 60
                            - time.fromisoformat(a).minute,
                        )
                        for a, b in hours
                    ]
                for a, b, midnight in blocks[key]:
                    # the grid starts each booking rules out: those whose session would overlap it
                    blocked = set()
                    for x, y in taken:
                        first = x - length + 1
                        blocked.update(range(first + (midnight - first) % grid, y, grid))
                    first = max(a, low)
                    for s in range(first + (midnight - first) % grid, min(b, high) - length + 1, grid):
                        if s not in blocked:
                            held = best.get(s)
                            if held is None or rank < held[0]:
                                best[s] = (rank, s + length, cid)
            day += timedelta(days=1)
    return [(s, e, cid) for s, (_, e, cid) in sorted(best.items())]


def recheck(company: Company, slot: availability.Slot) -> availability.Slot:
    """What a booking runs under its locks: the chosen consultant read again, then `decide` for him alone."""
    service = contract.current().service("erplib")
    consultants = availability.eligible(service, only=slot.consultant_id, reread=True)
    found = availability.decide("erplib", company, slot.start, NOW, consultants=consultants)
    assert found == slot, (found, slot)
    return found


def fresh(company: Company) -> Company:
    """A new session, as each request has, and the company read again."""
    company_id = company.id
    db.session.remove()
    return db.session.get(Company, company_id)


def measure(size: int, runs: int, history_days: int = 0) -> dict:
    """The month's listing against the reference at one size; the app and a sample of its slots, for the
    per-booking timings that `per_booking` takes across every size at once."""
    path = Path(tempfile.mkdtemp()) / "bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
        company = seed(size, history_days)
        start, end = availability.local_range(FIRST, LAST)
        found = availability.slots("erplib", company, start, end, NOW)
        expected = reference(company, start, end, NOW)
        assert [(_minutes(s.start), _minutes(s.end), s.consultant_id) for s in found] == expected, (
            "slots and the reference disagree"
        )
        slots_ms, reference_ms = [], []
        for _ in range(runs):  # alternated, so that a burst of load on the shared machine falls on both
            slots_ms += timed(lambda: availability.slots("erplib", company, start, end, NOW), 1)  # noqa: B023  called at once
            reference_ms += timed(lambda: reference(company, start, end, NOW), 1)  # noqa: B023
        company_id = company.id
        db.session.remove()
    return {
        "size": size,
        "history": history_days,
        "starts": len(found),
        "slots": statistics.median(slots_ms),
        "reference": statistics.median(reference_ms),
        "app": app,
        "company_id": company_id,
        "sample": random.Random(size).sample(found, 20),
        "choose": [],
        "recheck": [],
    }


def per_booking(results: list[dict], rounds: int) -> None:
    """Choosing among the team and the re-check under the locks, in rounds that visit every size in turn:
    the sizes are compared with each other, and the machine's speed drifts over the minutes a size takes."""
    for _ in range(rounds):
        for r in results:
            with r["app"].app_context():
                company = db.session.get(Company, r["company_id"])
                for slot in r["sample"]:
                    company = fresh(company)  # as a request starts: nothing loaded yet
                    r["choose"] += timed(lambda: availability.decide("erplib", company, slot.start, NOW), 1)  # noqa: B023  called at once
                    company = fresh(company)
                    r["recheck"] += timed(lambda: recheck(company, slot), 1)  # noqa: B023
                db.session.remove()
    for r in results:
        r["choose"], r["recheck"] = statistics.median(r["choose"]), statistics.median(r["recheck"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200, 400])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--history-days", type=int, default=730, help="past sessions (one a day each) of the last row")
    parser.add_argument("--rounds", type=int, default=5, help="of the per-booking timings, over every size in turn")
    args = parser.parse_args()
    results = [measure(size, args.runs) for size in args.sizes]
    if args.history_days:  # the largest team again, with years of sessions behind it
        results.append(measure(args.sizes[-1], args.runs, args.history_days))
    per_booking(results, args.rounds)
    print(
        f"availability benchmark — one month of erplib slots ({FIRST} – {LAST}), {BOOKINGS_EACH} bookings per "
        f"consultant, listing: medians of {args.runs} runs; per booking: {args.rounds} rounds over every size in "
        f"turn; {os.cpu_count()} cores, SQLite; same answers as the reference"
    )
    print(
        f"{'consultants':>11}{'starts':>8}{'slots ms':>10}{'reference ms':>14}{'ratio':>7}  target ≤ 1.5"
        f"{'choice ms':>11}{'re-check ms':>13}"
    )
    for r in results:
        ratio = r["slots"] / r["reference"]
        size = f"{r['size']}+{r['history']}d" if r["history"] else str(r["size"])
        print(
            f"{size:>11}{r['starts']:>8}{r['slots']:>10.1f}{r['reference']:>14.1f}{ratio:>7.2f}  "
            f"{'met' if ratio <= 1.5 else 'NOT met':<12}{r['choose']:>11.2f}{r['recheck']:>13.2f}"
        )
    first, last = results[0], max((r for r in results if not r["history"]), key=lambda r: r["size"])
    print(
        f"re-check under the booking's locks (the chosen consultant alone): {first['recheck']:.2f} ms at "
        f"{first['size']}, {last['recheck']:.2f} ms at {last['size']} ({last['recheck'] / first['recheck']:.2f}×); "
        f"choosing among the whole team (outside the locks, only when the booking names no consultant): "
        f"{first['choose']:.2f} ms at {first['size']}, {last['choose']:.2f} ms at {last['size']}"
    )
    for old in (r for r in results if r["history"]):
        print(
            f"with a session a day for the {old['history']} days before (every consultant): re-check "
            f"{old['recheck']:.2f} ms ({old['recheck'] / last['recheck']:.2f}× without), listing "
            f"{old['slots']:.1f} ms ({old['slots'] / last['slots']:.2f}×)"
        )


if __name__ == "__main__":
    main()
