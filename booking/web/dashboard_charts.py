"""The dashboard's figures as drawings: positions, sizes, colours and labels of the server-drawn SVG charts
(no script: the CSP allows none). Units are CSS pixels; charts too wide for a phone scroll inside their card."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

from babel import Locale
from flask_babel import format_currency, format_decimal, format_percent, get_locale, ngettext
from flask_babel import gettext as _

from ..date_format import format_date
from ..labels import minutes_label
from ..services import dashboard

NAME_WIDTH, CELL_WIDTH, CELL_HEIGHT, HEAD_HEIGHT = 124, 62, 30, 34
# Heat map: light to dark with the share of working time booked; red above 100 % (booked over an absence).
SHADES = (
    (0.25, "#e3edfb", "#1d2733"),
    (0.5, "#b9d0f1", "#1d2733"),
    (0.75, "#7fa7e0", "#1d2733"),
    (1.0, "#2f64b3", "#ffffff"),
)
OVER, EMPTY = ("#b42318", "#ffffff"), ("#f1f3f6", "#5b6b7c")
WITHIN, AFTER, WITHOUT = "#2f8f57", "#d9822b", "#a3adb8"


@dataclass
class Mark:
    """One rectangle (cell, bar, segment) with its text and its tooltip."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    text: str = ""
    text_fill: str = "#1d2733"
    title: str = ""


@dataclass
class Drawing:
    width: float
    height: float
    marks: list[Mark] = field(default_factory=list)
    labels: list[tuple[float, float, str, str]] = field(default_factory=list)  # x, y, anchor, text
    lines: list[tuple[float, float, float, float, str]] = field(default_factory=list)  # x1, y1, x2, y2, class


def hours_label(minutes: int) -> str:
    """Hours and minutes ("18 h 30"); nothing booked reads "0 h" beside the hours available."""
    return minutes_label(minutes) if minutes else _("0 h")


def _short(name: str, size: int = 18) -> str:
    return name if len(name) <= size else name[: size - 1] + "…"


def _shade(ratio: float | None) -> tuple[str, str]:
    if ratio is None:
        return EMPTY
    if ratio > 1:
        return OVER
    return next((fill, ink) for limit, fill, ink in SHADES if ratio <= limit)


def heat_map(rows: list[dashboard.LoadRow], period: dashboard.Period) -> tuple[Drawing, Drawing]:
    """One row per consultant, one column per week; each cell the share of working time booked. Names and cells
    are two drawings, so that on a phone the cells scroll sideways while the names stay in view."""
    height = HEAD_HEIGHT + CELL_HEIGHT * len(rows) + 2
    names, cells = Drawing(NAME_WIDTH, height), Drawing(CELL_WIDTH * period.weeks + 2, height)
    for week in range(period.weeks):
        monday = period.first_monday + timedelta(weeks=week)
        cells.labels.append((CELL_WIDTH * (week + 0.5), 14, "middle", format_date(monday, "d MMM")))
        cells.labels.append((CELL_WIDTH * (week + 0.5), 28, "middle", _("S%(week)s", week=monday.isocalendar().week)))
    for n, row in enumerate(rows):
        y = HEAD_HEIGHT + CELL_HEIGHT * n
        names.labels.append((NAME_WIDTH - 8, y + CELL_HEIGHT / 2 + 4, "end", _short(row.name)))
        for week in range(period.weeks):
            ratio = row.ratio(week)
            fill, ink = _shade(ratio)
            monday = period.first_monday + timedelta(weeks=week)
            title = _(
                "%(name)s, semaine du %(day)s : %(booked)s réservées sur %(available)s disponibles",
                name=row.name,
                day=format_date(monday, "d MMMM"),
                booked=hours_label(row.booked[week]),
                available=hours_label(row.available[week]),
            )
            cells.marks.append(
                Mark(
                    CELL_WIDTH * week + 1,
                    y + 1,
                    CELL_WIDTH - 2,
                    CELL_HEIGHT - 2,
                    fill,
                    "—" if ratio is None else format_percent(ratio),
                    ink,
                    title,
                )
            )
    return names, cells


def _nice(value: float) -> float:
    """A round maximum for an axis (1, 2, 5 × a power of ten) at least `value`."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _ticks(top: float) -> list[float]:
    """The axis' grid values up to a round top: its half as well when that is a whole number, else every unit
    (top 5: 0 to 5), so that whole-number labels are exact and distinct (a half of 1 or 5 read as 0 or 2)."""
    half = top / 2
    if half == int(half):
        return [0, half, top]
    return [float(n) for n in range(int(top) + 1)]


BAR_SLOT, PLOT_HEIGHT, AXIS_WIDTH, TOP, BOTTOM = 44, 120, 52, 18, 38


def bars(months: list, stacks: list[list[tuple[float, str, str]]], top: float, value_label) -> Drawing:
    """Vertical bars, one per month, each a stack of (value, colour, tooltip) from the axis up."""
    drawing = Drawing(AXIS_WIDTH + BAR_SLOT * len(months) + 4, TOP + PLOT_HEIGHT + BOTTOM)
    top = max(_nice(top), 2)  # whole-number labels: 0, 1, 2 at least
    base = TOP + PLOT_HEIGHT
    for tick in _ticks(top):
        y = base - PLOT_HEIGHT * tick / top
        drawing.lines.append((AXIS_WIDTH, y, drawing.width, y, "grid"))
        drawing.labels.append((AXIS_WIDTH - 6, y + 4, "end", value_label(tick)))
    for n, (month, stack) in enumerate(zip(months, stacks, strict=True)):
        x, y = AXIS_WIDTH + BAR_SLOT * n + 8, base
        for value, colour, title in stack:
            height = PLOT_HEIGHT * value / top
            if height:
                drawing.marks.append(Mark(x, y - height, BAR_SLOT - 16, height, colour, title=title))
            y -= height
        total = sum(value for value, _colour, _title in stack)
        if total:
            drawing.labels.append((x + (BAR_SLOT - 16) / 2, y - 4, "middle", value_label(total)))
        drawing.labels.append((x + (BAR_SLOT - 16) / 2, base + 16, "middle", format_date(month, "MMM")))
        if n == 0 or month.month == 1:  # the year under the first month and under each January
            drawing.labels.append((x + (BAR_SLOT - 16) / 2, base + 31, "middle", format_date(month, "yyyy")))
    return drawing


def callback_bars(counts: list[dashboard.CallbackCounts], period: dashboard.Period) -> list[tuple[str, Drawing]]:
    """Per tier, callbacks per month: within the commitment, after it, and without one; each tier on its own
    scale (their volumes differ by an order of magnitude: a shared one flattens the smaller tiers)."""
    months = period.months_list()
    result = []
    for tier in counts:
        stacks = [
            [
                (tier.within[n], WITHIN, _("%(count)s dans l'engagement", count=tier.within[n])),
                (tier.after[n], AFTER, _("%(count)s après l'engagement", count=tier.after[n])),
                (tier.without[n], WITHOUT, _("%(count)s sans engagement", count=tier.without[n])),
            ]
            for n in range(period.months)
        ]
        top = max(tier.within[n] + tier.after[n] + tier.without[n] for n in range(period.months))
        result.append((tier.label, bars(months, stacks, max(top, 4), lambda v: format_decimal(round(v)))))
    return result


def whole_euros(value: float) -> str:
    """An axis or bar label: euros without cents, where the page's language puts the sign (1 150 € / €1,150)."""
    pattern = Locale.parse(get_locale()).currency_formats["standard"].pattern.replace(".00", "")
    return format_currency(round(value), "EUR", format=pattern, currency_digits=False)


def compensation_bars(paid: list[dashboard.MonthPaid]) -> Drawing:
    stacks = [
        [
            (
                float(m.amount),
                "#7a5cc2",
                ngettext(
                    "%(amount)s pour %(num)d rendez-vous déplacé",
                    "%(amount)s pour %(num)d rendez-vous déplacés",
                    m.moved,
                    amount=format_currency(m.amount, "EUR"),
                ),
            )
        ]
        for m in paid
    ]
    return bars([m.month for m in paid], stacks, max([float(m.amount) for m in paid] or [0]), whole_euros)


ROW_HEIGHT, DAYS_WIDTH, HEAD = 44, 250, 22


def placements(rows: list[dashboard.Placement], status_label) -> Drawing:
    """One row per request, its client and day above a bar from its acceptance to its start, in days, against the
    7-day promise (dashed); a request not placed yet says where it stands instead."""
    days = max([7.0, *(p.days_to_start for p in rows if p.days_to_start is not None)])
    scale = DAYS_WIDTH / math.ceil(days + 1)
    drawing = Drawing(DAYS_WIDTH + 60, HEAD + ROW_HEIGHT * len(rows))
    promise = 7 * scale
    drawing.lines.append((promise, HEAD - 4, promise, drawing.height, "promise"))
    drawing.labels.append((promise, HEAD - 8, "middle", _("7 jours")))
    for n, p in enumerate(rows):
        y = HEAD + ROW_HEIGHT * n
        label = f"{_short(p.company, 24)} · {format_date(p.requested_at, 'd MMM')}"
        if p.days_to_start is None:
            drawing.labels.append((0, y + 16, "start", f"{label} · {status_label(p.status)}"))
            continue
        drawing.labels.append((0, y + 16, "start", label))
        width = max(p.days_to_start * scale, 2)
        days_text = format_decimal(round(p.days_to_start, 1))
        drawing.marks.append(
            Mark(
                0,
                y + 22,
                width,
                14,
                WITHIN if p.within_promise else OVER[0],
                title=_("Commence %(days)s j après l'acceptation", days=days_text),
            )
        )
        drawing.labels.append((width + 6, y + 34, "start", _("%(days)s j", days=days_text)))
    return drawing
