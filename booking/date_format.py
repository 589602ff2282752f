"""Dates in words, as flask-babel writes them, with the French ordinal of a month's first day: « lundi 1er juin »,
« à partir du 1er avril 2027 » (French typography writes 1er; Babel's patterns have no ordinal).
Every page, mail and refusal formats dates through here (or `in_french`, for mails composed in French)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import flask_babel
from babel import dates

# A day number written before the month's name (3 letters or more); not `dd`, and not a `d` inside a quoted literal
# such as 'de'. Abbreviated months take it too: « 1er avr. ».
_DAY_BEFORE_MONTH = re.compile(r"(?<![A-Za-z'])d(?=\s+M{3,4}(?!M))")


def ordinal_pattern(pattern: str, day: int, locale) -> str:
    """`pattern` with « 1er » for the first of the month in French; unchanged otherwise."""
    if day == 1 and str(locale).startswith("fr"):
        return _DAY_BEFORE_MONTH.sub("d'er'", pattern)
    return pattern


def format_date(value: date | datetime | None, pattern: str = "medium") -> str:
    """flask_babel.format_date, with « 1er »."""
    if value is None:  # flask-babel's reading: now
        value = datetime.now(UTC)
    day = flask_babel.to_user_timezone(value).day if isinstance(value, datetime) else value.day
    return flask_babel.format_date(value, ordinal_pattern(pattern, day, flask_babel.get_locale()))


def format_datetime(value: datetime | None, pattern: str = "medium", rebase: bool = True) -> str:
    """flask_babel.format_datetime, with « 1er »."""
    if value is None:
        value = datetime.now(UTC)
    day = (flask_babel.to_user_timezone(value) if rebase else value).day
    return flask_babel.format_datetime(value, ordinal_pattern(pattern, day, flask_babel.get_locale()), rebase)


def span(start: datetime, end: datetime, pattern: str = "EEE d MMM HH:mm", *, day_shown: bool = False) -> str:
    """`start – end` in Paris time, the end's day written only when it differs from the start's; the start's
    neither when `day_shown` (a column or a heading says it) and both fall on it. An en dash, spaced when either
    side has spaces (« 11:15–11:45 », « lun. 7 déc. 11:15 – 11:45 »)."""
    same_day = flask_babel.to_user_timezone(start).date() == flask_babel.to_user_timezone(end).date()
    first = format_datetime(start, "HH:mm" if same_day and day_shown else pattern)
    last = format_datetime(end, "HH:mm" if same_day else pattern)
    return f"{first}{' – ' if ' ' in first + last else '–'}{last}"


def in_french(value: datetime, pattern: str, tzinfo) -> str:
    """For mails, which are written in French whatever the page's language."""
    if value.tzinfo is None:  # as Babel reads it
        value = value.replace(tzinfo=UTC)
    return dates.format_datetime(
        value, ordinal_pattern(pattern, value.astimezone(tzinfo).day, "fr"), tzinfo=tzinfo, locale="fr"
    )
