"""Input that no view should see: NUL bytes, lone surrogates, runaway JSON, ids beyond the database's integers, dates
out of range.
Screened once before every request; the parsers below turn a query or form value into a bounded id, day or instant."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app, request
from flask_babel import format_number
from flask_babel import gettext as _
from sqlalchemy.exc import DataError
from werkzeug.routing import IntegerConverter

from calendars.worktime import PARIS

from .contract import CENT
from .extensions import db
from .services.errors import NotFound, ServiceError

log = logging.getLogger(__name__)

# PostgreSQL's integer: a larger id cannot exist, and merely comparing with one is an error there.
INT_MAX = 2**31 - 1
# Days outside these years are typing mistakes, and would overflow once moved to UTC or a week away.
FIRST_DAY, LAST_DAY = date(2000, 1, 2), date(2099, 12, 30)
# A ticket's opening time may come from a client clock slightly ahead of ours; further ahead is a mistake.
CLOCK_SKEW = timedelta(minutes=5)
# Half of a UTF-16 pair, alone: JSON may escape one ("\ud800"), but it has no UTF-8 form, so neither database can
# be sent it. A whole pair ("\ud83d\ude00") is decoded by the JSON parser into its one character: never matched.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# A price shown before consent and sent back with the click (the pages' hidden field, the API's expected_price_eur),
# as the API documents it: ASCII digits, then at most two decimals after a point. Up to MAX_PRICE euros: far above
# any session's price, so that a typo is refused, not compared.
PRICE_PATTERN = r"^\d{1,8}(\.\d{1,2})?$"
MAX_PRICE = 10_000_000
_PRICE = re.compile(PRICE_PATTERN.strip("^$"), re.ASCII)  # fullmatch: `$` would let "82.50\n" through


class BadInput(ServiceError):
    """A value no rule can read: 400, with what is accepted."""

    status = 400
    code = "bad_input"


class DatabaseInt(IntegerConverter):
    """`<int:…>` in a route, documented as 0 to INT_MAX. A larger id still matches its route and the screen answers
    404: a failed match would answer 405 to a PATCH whose path a GET route shares."""

    def __init__(self, map, fixed_digits=0, min=None, max=INT_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        try:
            return int(value)
        except ValueError:  # more digits than Python converts: beyond INT_MAX all the same
            return INT_MAX + 1


def init_app(app) -> None:
    """Before any route is added: bounded `<int:…>`; before every request: the screen; after it, the last line."""
    app.url_map.converters["int"] = DatabaseInt
    app.before_request(screen)
    app.register_error_handler(DataError, _refused_by_database)


def screen() -> None:
    """Refuse NUL bytes and lone surrogates anywhere (text no database can store), JSON that does not parse (too
    deep, too big), and ids in the path that no row can have (PostgreSQL errs on comparing its integers with them)."""
    data = request.get_data(cache=True) if request.is_json else b""
    if data:
        try:
            body = json.loads(data)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep; ValueError: not JSON at all
            raise BadInput(
                _("Corps de requête illisible : envoyez un document JSON valide (UTF-8, imbrication raisonnable).")
            ) from None
        _refuse_unstorable(_json_texts(body))
    texts = [
        *request.args.items(multi=True),
        *request.form.items(multi=True),
        *request.headers,
        *(request.view_args or {}).items(),
    ]
    # Werkzeug never decodes a surrogate in forms, queries or paths (bad UTF-8 is replaced or left escaped): only
    # a NUL arrives there today. Screened alike all the same, so that no text reaches a view unscreened.
    _refuse_unstorable(text for pair in texts for text in pair if isinstance(text, str))
    if any(isinstance(value, int) and value > INT_MAX for value in (request.view_args or {}).values()):
        raise NotFound(_("Identifiant inconnu : aucun ne dépasse %(max)s.", max=INT_MAX))


def _refused_by_database(error: DataError):
    """The last line: a value that the screen let through and the database refuses (PostgreSQL: a NUL byte in text
    read from a file, a string beyond its column, a number beyond its type) is the sender's 400, not our 500; nothing
    was written, since the transaction is rolled back. Logged, since a parser or a length check is then missing."""
    db.session.rollback()
    log.warning("value refused by the database on %s %s: %s", request.method, request.path, error.orig)
    refusal = BadInput(
        _(
            "Une valeur envoyée ne peut pas être enregistrée (trop longue, hors limites ou avec un "
            "caractère interdit) : corrigez-la et réessayez."
        )
    )
    return current_app.handle_user_exception(refusal)  # answered as every refusal is (page or problem+json)


def _refuse_unstorable(texts: Iterable[str]) -> None:
    """BadInput for the first text holding a NUL (PostgreSQL refuses it) or a lone surrogate (no UTF-8 form)."""
    for text in texts:
        if "\x00" in text:
            raise BadInput(_("Caractère nul (\\u0000) refusé : retirez-le du texte envoyé."))
        if not text.isascii() and LONE_SURROGATE.search(text):  # isascii: a flag, most texts are
            raise BadInput(
                _(
                    "Caractère invalide refusé : une moitié de paire UTF-16 seule (\\ud800 à \\udfff) n'est pas "
                    "du texte ; envoyez la paire entière ou retirez-la."
                )
            )


def _json_texts(body) -> Iterator[str]:
    """Every string of the document, keys and values; iterative, since the document may still be deep."""
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def day(text: str, what: str) -> date:
    """A YYYY-MM-DD day inside the managed years."""
    try:
        value = date.fromisoformat(text)
    except (TypeError, ValueError):
        value = None
    if value is None or not FIRST_DAY <= value <= LAST_DAY:
        raise BadInput(_("%(what)s : indiquez un jour AAAA-MM-JJ entre 2000 et 2099.", what=what))
    return value


def month(text: str, what: str) -> date:
    """A YYYY-MM month inside the managed years, as its first day."""
    try:
        value = date.fromisoformat(f"{text}-01") if len(text or "") == 7 else None
    except ValueError:
        value = None
    if value is None or not FIRST_DAY <= value.replace(day=2) <= LAST_DAY:
        raise BadInput(_("%(what)s : indiquez un mois AAAA-MM entre 2000 et 2099.", what=what))
    return value


def local_instant(text: str, what: str) -> datetime:
    """A date and time from a form (Paris wall time unless it says its offset) inside the managed years."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        value = None
    if value is None or not FIRST_DAY <= value.date() <= LAST_DAY:
        raise BadInput(_("%(what)s : indiquez une date et une heure entre 2000 et 2099.", what=what))
    return value if value.tzinfo else value.replace(tzinfo=PARIS)


def identifier(text: str | None, what: str) -> int:
    """A positive id that the database's integers can hold."""
    try:
        value = int(text or "")
    except ValueError:
        value = 0
    if not 1 <= value <= INT_MAX:
        raise BadInput(_("%(what)s : choisissez une valeur de la liste.", what=what))
    return value


def instant(text: str | None) -> datetime:
    """A slot's start from a form: ISO 8601 with its offset, inside the managed years (the API's rule)."""
    try:
        value = datetime.fromisoformat(text or "")
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or not FIRST_DAY <= value.date() <= LAST_DAY:
        raise BadInput(
            _(
                "Créneau invalide : choisissez-en un dans la liste (une date entre 2000 et 2099, "
                "avec son décalage horaire)."
            )
        )
    return value


def euros(value: object) -> Decimal:
    """A price in euros from 0 to MAX_PRICE, exact: a string as PRICE_PATTERN writes it ("82.50", "150"; not "82.500",
    "1E+2", "-0", " 82.50", "٨٢"), or a JSON number that denotes one with at most two decimals (97.5; 1e2 is 100:
    the parser keeps the number, not how it was written; a float's shortest decimal is read, so 82.505 is refused;
    -0.0, NaN and infinities are refused). Anything else, true included: BadInput saying what is expected.
    The one rule of the pages' hidden price and of the API's."""
    price = None
    if isinstance(value, str):
        price = Decimal(value) if _PRICE.fullmatch(value) else None
    elif isinstance(value, int) and not isinstance(value, bool):
        price = Decimal(value)
    elif isinstance(value, float) and math.isfinite(value) and math.copysign(1, value) > 0:
        price = Decimal(repr(value))  # its shortest decimal: what the client most likely wrote
    # the range first: quantizing a number far beyond it would overflow the context's precision
    if price is None or not 0 <= price <= MAX_PRICE or price != price.quantize(CENT):
        raise BadInput(
            _(
                "Prix en euros attendu : un nombre de 0 à %(max)s, avec au plus deux décimales après un point, "
                'par exemple "82.50".',
                max=format_number(MAX_PRICE),
            )
        )
    return price
