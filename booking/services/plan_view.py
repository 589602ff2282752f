"""What a reshuffle plan changes, as the planner and the requester read it: the moved bookings with their
compensation, the priority consulting's placements, and before/after bars per consultant and day.
A fixed number of queries however many bookings the plan moves."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from solver.check import final_positions
from solver.instance import Plan, read_instance, read_plan
from solver.timeline import Timeline

from ..extensions import db
from ..models import Booking, Consultant, ReshufflePlan, User
from . import solver_ids
from .day_bars import Bar, day_bars

MAX_TIMELINES = 40  # consultant-days shown: a plan touching more is read in its table of moves


@dataclass(frozen=True)
class Placement:
    consultant: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Move:
    booking: Booking  # its company loaded
    from_consultant: str
    moved_from: datetime
    to_consultant: str
    moved_to: datetime
    compensation_eur: float


@dataclass(frozen=True)
class DayLine:
    consultant: str
    day: date
    before: list[Bar]
    after: list[Bar]


@dataclass(frozen=True)
class PlanView:
    status: str
    reason: str
    objective: dict
    placements: list[Placement]
    moves: list[Move]
    per_client: list[tuple[str, float]]  # compensation per moved client, by name
    timelines: list[DayLine]


def consultant_names() -> dict[str, str]:
    """Every consultant's name under their solver id, in one query."""
    return {
        solver_ids.consultant(i): name
        for i, name in db.session.execute(select(Consultant.id, User.name).join(User, Consultant.user_id == User.id))
    }


def placements(plan: Plan, names: dict[str, str]) -> list[Placement]:
    return [Placement(names.get(p.consultant, p.consultant), p.start, p.end) for p in plan.placements]


def moves(plan: Plan, names: dict[str, str]) -> list[Move]:
    """The plan's moves in its order, their bookings (and companies) loaded in one query."""
    ids = [solver_ids.booking_id(m.id) for m in plan.moves]
    bookings = (
        {
            b.id: b
            for b in db.session.scalars(select(Booking).options(joinedload(Booking.company)).where(Booking.id.in_(ids)))
        }
        if ids
        else {}
    )
    return [
        Move(
            bookings[i],
            names.get(m.from_consultant, m.from_consultant),
            m.from_start,
            names.get(m.consultant, m.consultant),
            m.start,
            m.compensation_eur,
        )
        for i, m in zip(ids, plan.moves, strict=True)
    ]


def describe(plan: ReshufflePlan) -> PlanView | None:
    """The plan page's content; None while the plan has no result."""
    if not plan.plan:
        return None
    result, names = read_plan(plan.plan), consultant_names()
    moved = moves(result, names)
    per_client: dict[str, float] = defaultdict(float)
    for move in moved:
        per_client[move.booking.company.name] += move.compensation_eur
    return PlanView(
        result.status,
        result.reason,
        result.objective,
        placements(result, names),
        moved,
        sorted(per_client.items()),
        timelines(plan, result, names),
    )


def timelines(plan: ReshufflePlan, result: Plan, names: dict[str, str]) -> list[DayLine]:
    """Before/after bars for each consultant and day the plan touches: where each booking was (the instance)
    and where it ends up (the solver's own reading of the plan, placements included)."""
    instance = read_instance(plan.instance)
    timeline = Timeline(instance)
    kinds = {b.id: b.kind for b in instance.bookings} | {p.id: "priority_consulting" for p in result.placements}
    changed = {m.id for m in result.moves} | {p.id for p in result.placements}
    before, after, touched = defaultdict(list), defaultdict(list), set()
    for booking in instance.bookings:
        end = timeline.end_of(booking, booking.consultant, booking.start)
        for day, bar in day_bars(booking.kind, booking.start, end):
            before[(booking.consultant, day)].append(bar)
            if booking.id in changed:
                touched.add((booking.consultant, day))
    for item in final_positions(instance, result, timeline):
        for day, bar in day_bars(kinds[item.item], item.start, item.end):
            after[(item.consultant, day)].append(bar)
            if item.item in changed:
                touched.add((item.consultant, day))
    return [
        DayLine(names.get(c, c), d, before[(c, d)], after[(c, d)])
        for c, d in sorted(touched, key=lambda k: (k[1], k[0]))
    ][:MAX_TIMELINES]


# The solver says why it found no plan in English (solver/ knows nothing of the pages' languages); the
# planner reads it in theirs. Reasons written by the app itself are kept as they were written.
_SOLVER_REASONS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"a booking that no longer fits its consultant's working time has nowhere to go$"),
        lambda _m: _("un rendez-vous qui ne tient plus dans les heures de son consultant n'a nulle part où aller."),
    ),
    (
        re.compile(r"a pinned or frozen booking lies in time its consultant no longer works$"),
        lambda _m: _("un rendez-vous épinglé, ou trop proche pour bouger, tombe hors des heures de son consultant."),
    ),
    (
        re.compile(r"\S+: no consultant with skill '(?P<skill>[^']*)' has working time for it in its window$"),
        lambda m: _(
            "aucun consultant ayant la compétence « %(skill)s » n'est libre dans la fenêtre.", skill=m["skill"]
        ),
    ),
    (
        re.compile(r"\S+: the greedy found no placement whose displaced bookings could all move$"),
        lambda _m: _("aucune place où les rendez-vous à déplacer en trouveraient tous une autre."),
    ),
    (
        re.compile(r"INFEASIBLE$"),
        lambda _m: _("aucun plan ne respecte toutes les règles : élargissez la demande ou libérez du temps."),
    ),
    (
        re.compile(r"(.*no plan places every priority job|UNKNOWN|MODEL_INVALID)$"),
        lambda _m: _("aucun plan trouvé dans le temps de calcul : relancez le calcul ou élargissez la demande."),
    ),
]


def why_failed(error: str | None) -> str:
    """A failed plan's reason in the reader's language."""
    for pattern, say in _SOLVER_REASONS:
        found = pattern.match(error or "")
        if found is not None:
            return say(found)
    return error or ""
