"""The Sérénité hour bank's burn-down for the client's home page: minutes left through the contract year,
against the share of the year elapsed, as numbers and as the points of a small server-drawn chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from calendars.worktime import PARIS

from .. import contract
from ..models import Company
from . import hour_bank

WIDTH, HEIGHT = 300, 120  # the chart's own units (the SVG scales to its box)


@dataclass
class BurnDown:
    year_start: date
    year_end: date  # the next anniversary (excluded)
    included: int  # minutes granted for the year
    left: int  # minutes left today
    elapsed_percent: int  # of the contract year
    used_percent: int  # of the included minutes
    points: str  # the SVG polyline of minutes left, step by step
    today_x: float

    @property
    def used(self) -> int:
        return self.included - self.left


def burn_down(company: Company, today: date) -> BurnDown | None:
    """None when the company's tier has no hour bank."""
    included = contract.current().tier(company.tier).hour_bank_minutes
    if not included:
        return None
    start = hour_bank.contract_year(company, today)
    end = hour_bank.year_end(company, start)
    days = max((end - start).days, 1)

    def x(day: date) -> float:
        return round(WIDTH * min(max((day - start).days, 0), days) / days, 1)

    def y(minutes: int) -> float:
        return round(HEIGHT * (1 - max(min(minutes, included), 0) / included), 1)

    left, points = included, [(0.0, y(included))]
    for entry in hour_bank.entries(company.id, start):
        if entry.kind == "grant":
            continue
        day = entry.created_at.astimezone(PARIS).date()
        if day > today:
            break
        left += entry.minutes
        points += [(x(day), points[-1][1]), (x(day), y(left))]
    left = hour_bank.balance(company, start)
    points.append((x(today), y(left)))
    return BurnDown(
        start,
        end,
        included,
        left,
        round(100 * (today - start).days / days),
        round(100 * (included - left) / included),
        " ".join(f"{a},{b}" for a, b in points),
        x(today),
    )
