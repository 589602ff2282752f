"""External calendars in: read what can be read, expand recurrences over a bounded window, and
turn them into busy time.

The file is cut into its components by a line scan before any of it is parsed, so that:
- one broken component (a VEVENT without DTSTART, a bad date, an alarm with a broken trigger)
  is skipped and named, and the others are imported — a file is refused only when nothing in
  it can be read;
- a component that cannot touch the window (a one-off event long past, say) is never parsed:
  a 50,000-event feed costs its scan, not 50,000 parsed components.
Recurrences are expanded by recurring-ical-events, lazily and only over the window, with a cap
on instances; a rule without COUNT that starts long before the window is re-anchored close to
it first (whole periods of its INTERVAL — fixed lengths up to a week, calendar months and years
— so the same instances), because the library walks every instance from DTSTART and cannot be
interrupted (a rule every second since last year, or one naming every day and minute of the
year since 1900, would otherwise take minutes and gigabytes). A rule that would still make it
walk too far (a counted one, a period holding too many instances) is skipped and named.

Transparent and cancelled occurrences are not busy; VFREEBUSY periods of type BUSY are; an
all-day event blocks its whole local day(s), even written with a TZID; a floating time, or one
in an unknown zone (which is said), is read in the consultant's zone.

Every refusal, skip and warning is a `Note`: a stable code, the line it concerns and a French
sentence marked for translation (the booking layer translates it). Nothing of the file's text
is echoed except a sanitised zone name.
"""

from __future__ import annotations

import math
import re
import time as clock
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

import recurring_ical_events
import x_wr_timezone
from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr
from icalendar import Calendar, Component, vDDDTypes, vRecur

from .invite import PRODID
from .worktime import PARIS, Interval

UTC = UTC
MAX_BYTES = 10 * 1024 * 1024
MAX_INSTANCES = 10_000  # occurrences expanded per calendar and window
MAX_SPANS = 5_000  # busy rows stored per calendar, after merging
# instances a rule may make the parser walk through before the window (it walks from DTSTART and
# cannot be interrupted): about half a second
MAX_WALK = 1_000_000
# instances a counted rule may make it keep before the window (it keeps them, and reads them all
# again for each slice of the window)
MAX_COUNT = 100_000
SUB_DAILY = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600}
PERIOD = {**SUB_DAILY, "DAILY": 86400, "WEEKLY": 7 * 86400}
LENGTH_DAYS = {"WEEKLY": 7, "MONTHLY": 31, "YEARLY": 366, **{f: s / 86400 for f, s in SUB_DAILY.items()}}
TIMING = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "FREEBUSY")
BUSY_TYPES = ("BUSY", "BUSY-UNAVAILABLE", "BUSY-TENTATIVE")


def _l(text: str) -> str:
    """Marks a sentence for translation (extracted by pybabel); the booking layer translates it."""
    return text


MESSAGES = {
    # refusals: nothing is imported
    "too_big": _l("Fichier trop volumineux (%(count)s Kio) : 10 Mio au plus."),
    "empty": _l("Le fichier est vide."),
    "not_ical": _l(
        "Ce fichier n'est pas un calendrier iCalendar (.ics) : il ne contient ni BEGIN:VCALENDAR ni BEGIN:VEVENT."
    ),
    "nothing_readable": _l(
        "Aucun événement lisible dans ce fichier : %(count)s élément(s) illisible(s), le premier à la ligne %(line)s."
    ),
    "own_feed": _l(
        "Ce calendrier est un flux ou une invitation d'ERP-Lib Planner : ses rendez-vous sont déjà dans "
        "votre planning, l'importer les bloquerait une seconde fois."
    ),
    "too_slow": _l(
        "Lecture interrompue au bout de %(count)s secondes : ce calendrier est trop volumineux ou trop complexe."
    ),
    "unclosed_empty": _l(
        "Fichier incomplet (END:VCALENDAR manquant, téléchargement interrompu ?) : aucun événement n'a pu y être lu."
    ),
    "unexpected": _l("Erreur inattendue pendant l'import ; réessayez plus tard."),
    # skipped components: the others are imported
    "unreadable": _l("%(component)s ligne %(line)s ignoré : son texte est illisible."),
    "truncated": _l("%(component)s ligne %(line)s ignoré : le fichier s'arrête avant sa fin."),
    "no_start": _l("%(component)s ligne %(line)s ignoré : il n'a pas de date de début (DTSTART)."),
    "bad_value": _l("%(component)s ligne %(line)s ignoré : sa valeur %(detail)s est illisible."),
    "expansion": _l("%(component)s ligne %(line)s ignoré : ses répétitions ne peuvent pas être calculées."),
    "huge_count": _l(
        "%(component)s ligne %(line)s ignoré : sa répétition, trop fréquente et trop longue, ne peut pas être calculée."
    ),
    # warnings: imported, with a caveat
    "bad_exdate": _l(
        "%(component)s ligne %(line)s : ses exceptions (EXDATE) sont illisibles, toutes ses répétitions sont comptées."
    ),
    "unknown_tz": _l("Fuseau horaire inconnu « %(detail)s » (ligne %(line)s) : heures lues à l'heure de Paris."),
    "empty_tz": _l("Fuseau horaire vide (ligne %(line)s) : heures lues à l'heure de Paris."),
    "capped_instances": _l(
        "Plus de %(count)s occurrences dans la période : les suivantes sont ignorées "
        "(événement répété trop souvent, ligne %(line)s)."
    ),
    "capped_spans": _l("Plus de %(count)s plages occupées : seules les %(count)s premières sont gardées."),
    "unclosed": _l("Fichier incomplet (END:VCALENDAR manquant) : les événements complets ont été lus."),
    # an address refused before anything is fetched (calendars/fetch.py; webhooks' receivers too)
    "url_malformed": _l("Adresse invalide : le port ou le nom du serveur est mal écrit."),
    "url_scheme": _l("Adresse invalide : elle doit commencer par http:// ou https:// (ou webcal://)."),
    "url_no_host": _l("Adresse invalide : le nom du serveur manque."),
    "url_credentials": _l(
        "Adresse refusée : les identifiants dans l'adresse ne sont pas pris en charge ; "
        "utilisez l'adresse secrète de partage du calendrier."
    ),
    "address_refused": _l(
        "Adresse refusée : « %(detail)s » est une %(component)s ; seuls les serveurs publics d'Internet sont acceptés."
    ),
    "host_refused": _l(
        "Adresse refusée : « %(detail)s » désigne une %(component)s ; seuls les serveurs publics d'Internet sont "
        "acceptés."
    ),
    "redirect_refused": _l(
        "Redirection refusée : « %(detail)s » désigne une %(component)s ; seuls les serveurs publics d'Internet "
        "sont acceptés."
    ),
    "dns_unknown": _l("Serveur introuvable : le nom « %(detail)s » n'existe pas (DNS)."),
    "dns_empty": _l("Serveur introuvable : le nom « %(detail)s » n'a pas d'adresse (DNS)."),
    # the network failed or the server said no (calendars/fetch.py): the host and the limit, never its words
    "timeout": _l("Délai dépassé : le serveur « %(detail)s » n'a pas envoyé le calendrier complet en %(count)s s."),
    "tls_failed": _l(
        "Connexion sécurisée impossible avec « %(detail)s » : certificat refusé ou chiffrement incompatible."
    ),
    "connection_refused": _l("Calendrier injoignable : « %(detail)s » refuse la connexion."),
    "connection_failed": _l(
        "Calendrier injoignable : la connexion avec « %(detail)s » a échoué ou sa réponse n'est pas du HTTP valide."
    ),
    "http_not_public": _l(
        "Le serveur du calendrier a répondu %(count)s (%(detail)s) : le calendrier n'est pas public."
    ),
    "http_gone": _l("Le serveur du calendrier a répondu %(count)s (%(detail)s) : le calendrier a été supprimé."),
    "http_retry": _l("Le serveur du calendrier a répondu %(count)s (%(detail)s) : réessayez plus tard."),
    "http_address": _l("Le serveur du calendrier a répondu %(count)s (%(detail)s) : vérifiez l'adresse."),
    "download_too_big": _l("Calendrier trop volumineux : plus de %(size)s."),
    "too_many_redirects": _l("Trop de redirections : plus de %(count)s à partir de l'adresse donnée."),
    # a webhook's POST (fetch.post): the same failures, said of the receiver
    "receiver_timeout": _l("Délai dépassé : le serveur « %(detail)s » n'a pas répondu en %(count)s s."),
    "receiver_refused": _l("Destinataire injoignable : « %(detail)s » refuse la connexion."),
    "receiver_failed": _l(
        "Destinataire injoignable : la connexion avec « %(detail)s » a échoué ou sa réponse n'est pas du HTTP valide."
    ),
}
# A limit in bytes said in the larger unit that holds it whole (`size`), inside `%(size)s` above.
UNITS = {"mib": _l("%(count)s Mio"), "kib": _l("%(count)s Kio")}
# A status without a standard phrase (the server's own is never repeated), inside `%(detail)s` above.
UNKNOWN_STATUS = _l("code inconnu")
# The kinds of address a refusal names (`fetch.refusal`), said inside the sentences above (their `component`).
ADDRESS_KINDS = {
    "metadata": _l("adresse de métadonnées d'hébergeur cloud"),
    "loopback": _l("adresse de boucle locale (le serveur lui-même)"),
    "link_local": _l("adresse lien-local"),
    "multicast": _l("adresse de multidiffusion"),
    "cgnat": _l("adresse partagée d'opérateur (CGNAT)"),
    "ula": _l("adresse locale unique (réseau privé IPv6)"),
    "reserved": _l("adresse réservée, non publique"),
    "private": _l("adresse de réseau privé"),
}


@dataclass(frozen=True)
class Note:
    """One refusal, skipped component or warning: a stable code and where it is in the file."""

    code: str
    line: int | None = None
    component: str = ""
    detail: str = ""
    count: int | float | None = None  # a number of things, a status, a limit (seconds may have decimals)

    def params(self) -> dict:
        return {"line": self.line, "component": self.component, "detail": self.detail, "count": self.count}

    def size(self) -> tuple[str, int] | None:
        """A limit in bytes (`download_too_big`) as (unit of UNITS, whole number of it); else None."""
        if self.code != "download_too_big" or not isinstance(self.count, int):
            return None
        return ("mib", self.count // (1024 * 1024)) if self.count >= 1024 * 1024 else ("kib", self.count // 1024)

    def status_unknown(self) -> bool:
        """An HTTP status without a standard phrase: UNKNOWN_STATUS is said in its place."""
        return self.code.startswith("http_") and not self.detail

    def __str__(self) -> str:
        """In French (logs, the command line, a webhook delivery's log); pages translate (calendar_sync.sentence)."""
        params = self.params()
        if isinstance(self.count, (int, float)):
            params["count"] = _french_number(self.count)
        if self.component in ADDRESS_KINDS:
            params["component"] = ADDRESS_KINDS[self.component]
        if size := self.size():
            params["size"] = UNITS[size[0]] % {"count": _french_number(size[1])}
        if self.status_unknown():
            params["detail"] = UNKNOWN_STATUS
        return MESSAGES[self.code] % params

    def to_json(self) -> dict:
        return {k: v for k, v in {"code": self.code, **self.params()}.items() if v not in (None, "")}

    @classmethod
    def from_json(cls, data: dict) -> Note:
        return cls(**{k: data[k] for k in ("code", "line", "component", "detail", "count") if k in data})


def _french_number(number: int | float) -> str:
    """12 345 and 2,5 (French grouping and decimal comma)."""
    if isinstance(number, int):
        return f"{number:,}".replace(",", "\u202f")
    return f"{number:,g}".replace(",", "\u202f").replace(".", ",")


@dataclass(frozen=True)
class Deadline:
    """When reading must stop (time.monotonic()), and its length for the message."""

    seconds: float
    at: float = 0.0

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds, clock.monotonic() + seconds)

    def check(self) -> None:
        if clock.monotonic() > self.at:
            raise CalendarImportError(Note("too_slow", count=round(self.seconds)))


class CalendarImportError(ValueError):
    """The calendar cannot be read at all; `note` says why, in words a person can act on."""

    def __init__(self, note: Note | str, skipped: list[Note] | None = None):
        self.note = note if isinstance(note, Note) else None
        self.skipped = skipped or []
        super().__init__(" ".join([str(note), *(str(n) for n in self.skipped[:3])]))


@dataclass
class Imported:
    spans: list[Interval]  # merged busy time (UTC) inside the window
    events: int = 0  # components read (VEVENT, VFREEBUSY)
    instances: int = 0  # VEVENT occurrences in the window, busy or not
    skipped: list[Note] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)


# ---------------------------------------------------------------- the text, cut into components


def _text(data: bytes) -> str:
    """Bytes to text whatever the producer's encoding: UTF-8 (with or without BOM), UTF-16 (Outlook,
    Notes), else Windows-1252. NUL bytes never survive."""
    sample = data[:400]
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = data.decode("utf-16", errors="replace")
    elif sample[1::2].count(0) > len(sample) // 5:  # ASCII in UTF-16 without BOM: every other byte NUL
        text = data.decode("utf-16-le", errors="replace")
    elif sample[0::2].count(0) > len(sample) // 5:
        text = data.decode("utf-16-be", errors="replace")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    return text.lstrip("\ufeff").replace("\x00", "")


@dataclass
class _Piece:
    name: str  # VEVENT, VTIMEZONE, VFREEBUSY…
    line: int  # of its BEGIN
    lines: list[str]
    closed: bool = True


def _pieces(text: str) -> tuple[list[str], list[_Piece], bool, bool]:
    """(calendar-level property lines, top-level components, any calendar or event seen, file complete)."""
    header: list[str] = []
    pieces: list[_Piece] = []
    seen = in_calendar = False
    current, depth = None, 0
    for number, line in enumerate(text.splitlines(), 1):
        begin, end = line[:6].upper() == "BEGIN:", line[:4].upper() == "END:"
        if current is not None:
            current.lines.append(line)
            depth += begin - end
            if depth == 0:
                pieces.append(current)
                current = None
        elif begin and line[6:].strip().upper() == "VCALENDAR":
            seen = in_calendar = True
        elif begin:  # a component inside a calendar, or a bare VEVENT some tools export
            name = line[6:].strip().upper()
            seen = seen or name in ("VEVENT", "VFREEBUSY")
            current, depth = _Piece(name, number, [line]), 1
        elif end and line[4:].strip().upper() == "VCALENDAR":
            in_calendar = False
        elif in_calendar and line[:1] in (" ", "\t") and header:
            header[-1] += line[1:]
        elif in_calendar and line.strip():
            header.append(line.rstrip())
    if current is not None:
        current.closed = False
        pieces.append(current)
    return header, pieces, seen, not in_calendar and current is None


def _unfold(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and out:
            out[-1] += line[1:]
        elif line.strip():
            out.append(line.rstrip())  # a trailing space after a DURATION is not worth a refusal
    return out


_DATE_ONLY = re.compile(r"(?i)^((?:DTSTART|DTEND|RDATE|EXDATE|RECURRENCE-ID)(?:;[^:]*)?;VALUE=DATE(?:;[^:]*)?:)")
_TZID = re.compile(r'(?i);TZID=("[^"]*"|[^;:]*)')
_DIGITS = re.compile(r"(\d{8})")


def _cleaned(piece: _Piece) -> list[str]:
    """The component's lines as it means them: unfolded, without nested components (alarms have
    nothing to do with busy time, and a broken TRIGGER must not cost the event), RRULEs unescaped
    (Exchange writes `FREQ=DAILY\\;UNTIL=…`), no TZID on a date (it is the local day)."""
    if piece.name == "VTIMEZONE":
        return _unfold(piece.lines)
    out, depth = [], 0
    for line in _unfold(piece.lines):
        upper = line[:6].upper()
        if upper == "BEGIN:":
            depth += 1
            if depth > 1:
                continue
        elif line[:4].upper() == "END:":
            depth -= 1
            if depth > 0:
                continue
        elif depth > 1:
            continue
        if upper in ("RRULE:", "RRULE;", "EXRULE") and "\\" in line:
            line = line.replace("\\;", ";").replace("\\,", ",")
        elif _DATE_ONLY.match(line):
            line = _TZID.sub("", line)
        out.append(line)
    return out


_WRITTEN = re.compile(r"(?i)^(DTSTART|DTEND|RRULE|RDATE|RECURRENCE-ID|DURATION|EXRULE)[;:]")


def _may_touch(lines: list[str], first_day: str, last_day: str) -> bool:
    """False only for a one-off event whose written dates are clearly outside the window (days as
    YYYYMMDD, with two days of margin for any zone); anything recurring, overridden, folded or odd
    is parsed."""
    found: dict[str, str] = {}
    for line in lines:
        match = _WRITTEN.match(line)
        if match is None:
            continue
        name = match.group(1).upper()
        if name not in ("DTSTART", "DTEND"):
            return True
        digits = _DIGITS.search(line, line.find(":"))
        if digits is None or line.find(":") < 0:
            return True
        found.setdefault(name, digits.group(1))
    if "DTSTART" not in found:
        return True
    return found["DTSTART"] <= last_day and found.get("DTEND", found["DTSTART"]) >= first_day


# ---------------------------------------------------------------- reading the components


def _broken(component: Component) -> str | None:
    """The name of the first timing property icalendar could not read, if any."""
    for error in getattr(component, "errors", ()):
        name = str(error[0] if isinstance(error, tuple) else error).upper()
        if name in TIMING and name in component:
            return name
    for name in TIMING:
        for value in _all(component, name):
            try:
                if name == "RRULE":  # dateutil, which expands it, must understand its words too
                    text = value.to_ical().decode()
                    if text:  # an empty RRULE (Calendar Labs) means no repetition
                        _rule_words(text)
                elif name in ("RDATE", "EXDATE", "FREEBUSY"):
                    _ = value.dts if hasattr(value, "dts") else value
                else:
                    _ = value.dt
            except Exception:  # icalendar raises its own errors on broken values
                return name
    return None


def _rule_words(text: str) -> None:
    """Raises if dateutil cannot read the rule with either kind of DTSTART (UNTIL's form depends on it),
    or if its INTERVAL is not a positive number (RFC 5545; dateutil takes 0 and loops on it)."""
    interval = re.search(r"(?i)(?:^|;)INTERVAL=([^;]*)", text)
    if interval and not (interval.group(1).strip().isdigit() and int(interval.group(1)) > 0):
        raise ValueError("INTERVAL")
    try:
        rrulestr(text, dtstart=datetime(2026, 1, 1))
    except ValueError:
        rrulestr(text, dtstart=datetime(2026, 1, 1, tzinfo=UTC))


def _all(component: Component, name: str) -> list:
    value = component.get(name)
    return [] if value is None else value if isinstance(value, list) else [value]


def _zone_notes(piece: _Piece, component: Component) -> list[Note]:
    notes = []
    for name in ("DTSTART", "DTEND"):
        prop = component.get(name)
        if prop is None or isinstance(prop, list) or "TZID" not in prop.params:
            continue
        tzid, value = str(prop.params["TZID"]), getattr(prop, "dt", None)
        if isinstance(value, datetime) and value.tzinfo is None:
            clean = re.sub(r"[^A-Za-z0-9 /_+.:()-]", "", tzid)[:50]
            notes.append(
                Note("unknown_tz", piece.line, piece.name, clean)
                if clean.strip()
                else Note("empty_tz", piece.line, piece.name)
            )
            break
    return notes


def _date_property(component: Component, name: str) -> vDDDTypes:
    """DTSTART or DTEND: a date or a date-time (icalendar types `component[name]` as any property class)."""
    return cast(vDDDTypes, component[name])


def _anchored(component: Component, start: datetime, end: datetime) -> Component | None:
    """The component with its DTSTART (and DTEND) moved forward by whole periods of its rule to
    shortly before `start`, when that keeps the same instances in the window (a rule without COUNT);
    None when its rule would still make the parser walk more than MAX_WALK instances."""
    rules = [rule for rule in _all(component, "RRULE") if rule]
    if not rules:
        return component
    if len(rules) > 1:  # several rules (deprecated) cannot move together: each is walked from DTSTART
        since = _instant(_date_property(component, "DTSTART").dt, UTC)
        return None if any(_walk(rule, since, end) > MAX_WALK for rule in rules) else component
    rule = rules[0]
    first = cast(date, _date_property(component, "DTSTART").dt)
    first_utc = _instant(first, UTC)
    if rule.get("COUNT"):  # every instance from DTSTART counts: walked to the window's end or to COUNT
        return None if min(int(rule["COUNT"][0]), _walk(rule, first_utc, end)) > MAX_COUNT else component
    length = timedelta(0)
    if "DTEND" in component:
        length = max(length, _instant(_date_property(component, "DTEND").dt, UTC) - first_utc)
    # the moved DTSTART, an instance of its own even off the rule, ends before the window (two
    # hours: a change of daylight saving time)
    target = start - length - timedelta(hours=2)
    moved = _forward(rule, first, target)
    if moved is not None and (closer := _within_period(component, rule, first + moved, target)) is not None:
        moved += closer
    if moved is not None:
        for name in ("DTSTART", "DTEND"):
            if name in component:
                prop = _date_property(component, name)
                shifted = type(prop)(cast(date, prop.dt) + moved)
                shifted.params.update(prop.params)
                component[name] = shifted
        first_utc = _instant(_date_property(component, "DTSTART").dt, UTC)
    return None if _walk(rule, first_utc, start) > MAX_WALK else component


def _interval(rule) -> int:
    return int((rule.get("INTERVAL") or [1])[0])


def _forward(rule, first: date, target: datetime) -> timedelta | None:
    """How far (wall time) DTSTART moves by whole periods of the rule — fixed lengths up to a
    week, whole months and years by the calendar — to the latest start at least a period before
    `target` (fixed) or at `target` at the latest (months and years keep DTSTART's day, which the
    rule may take its own from: a day that month lacks is passed over); None: it stays."""
    frequency = (rule.get("FREQ") or [None])[0]
    first_utc = _instant(first, UTC)
    if frequency in PERIOD:
        step = timedelta(seconds=PERIOD[frequency] * _interval(rule))
        # one period more: the moved DTSTART, off the rule, may start a period of its own
        periods = (target - step - first_utc) // step
        return step * periods if periods > 0 else None
    months = {"MONTHLY": 1, "YEARLY": 12}.get(frequency)
    if months is None or first_utc >= target:
        return None
    months *= _interval(rule)
    local = target.astimezone(first.tzinfo) if isinstance(first, datetime) and first.tzinfo else target
    count = ((local.year - first.year) * 12 + local.month - first.month) // months
    for back in range(min(count, 60)):  # the 31st or a 29 February: a few periods back at most
        moved = first + relativedelta(months=(count - back) * months)
        if moved.day == first.day and _instant(moved, UTC) <= target:
            return _naive(moved) - _naive(first)
    return None


def _naive(value: date) -> date:
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value


def _within_period(component: Component, rule, moved: date, target: datetime) -> timedelta | None:
    """For a monthly or yearly rule moved to its last period before `target`: how much further
    DTSTART moves inside that period, up to `target` (the parser walks a period from its start, but
    keeps only what follows DTSTART). The days and times the rule took from DTSTART are written in
    it first, so that its instances stay the same."""
    frequency = (rule.get("FREQ") or [None])[0]
    if frequency not in ("MONTHLY", "YEARLY"):
        return None
    last_day = date(moved.year, 12, 31) if frequency == "YEARLY" else _month_end(moved)
    if isinstance(moved, datetime):
        local = target.astimezone(moved.tzinfo) if moved.tzinfo else target
        until: date = min(local.replace(tzinfo=None, microsecond=0), datetime.combine(last_day, time(23, 59, 59)))
    else:
        until = min(target.date() - timedelta(days=1), last_day)
    closer = until - _naive(moved)
    if closer <= timedelta(0):
        return None
    explicit = vRecur(rule)
    at = moved if isinstance(moved, datetime) else datetime.combine(moved, time())
    for part, value in (("BYHOUR", at.hour), ("BYMINUTE", at.minute), ("BYSECOND", at.second)):
        explicit.setdefault(part, [value])
    if not any(rule.get(part) for part in ("BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO")):
        if frequency == "YEARLY":
            explicit.setdefault("BYMONTH", [at.month])
        explicit["BYMONTHDAY"] = [at.day]
    component["RRULE"] = explicit
    return closer


def _month_end(day: date) -> date:
    return (date(day.year, day.month, 1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _walk(rule, first: datetime, until: datetime) -> float:
    """At most how many instances the parser walks through from `first` to `until` for this rule:
    whole periods of its frequency, each with as many instances as its BY… parts can name."""
    frequency = (rule.get("FREQ") or ["DAILY"])[0]
    periods = max(math.ceil((until - first) / (timedelta(days=LENGTH_DAYS.get(frequency, 1)) * _interval(rule))), 1)

    def many(part: str, default: int = 1) -> int:
        return len(rule.get(part) or []) or default

    within = {"SECONDLY": 1, "MINUTELY": many("BYSECOND"), "HOURLY": many("BYMINUTE") * many("BYSECOND")}
    if frequency in within:
        return periods * within[frequency]
    days: float = 1  # no day given: DTSTART's own (and, yearly, one per BYMONTH)
    if any(rule.get(part) for part in ("BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO")):
        bounds = [LENGTH_DAYS.get(frequency, 1)]
        bounds += [many("BYMONTH", 12) * 31] if rule.get("BYMONTH") and frequency == "YEARLY" else []
        bounds += [many("BYMONTHDAY") * (many("BYMONTH", 12) if frequency == "YEARLY" else 1)] * bool(
            rule.get("BYMONTHDAY")
        )
        bounds += [many("BYYEARDAY")] * bool(rule.get("BYYEARDAY"))
        bounds += [7 * many("BYWEEKNO")] * bool(rule.get("BYWEEKNO"))
        bounds += [many("BYDAY") * LENGTH_DAYS.get(frequency, 1) / 7 + many("BYDAY")] * bool(rule.get("BYDAY"))
        days = min(bounds)
    elif frequency == "YEARLY":
        days = many("BYMONTH")
    return periods * math.ceil(days) * many("BYHOUR") * many("BYMINUTE") * many("BYSECOND")


@dataclass
class _Read:
    calendars: list[Calendar]
    events: int
    skipped: list[Note]
    warnings: list[Note]
    lines: dict[int, int]  # id(component) → its line
    complete: bool = True


def _read(data: bytes, start: datetime, end: datetime, deadline: Deadline | None) -> _Read:
    if not data or not data.strip():
        raise CalendarImportError(Note("empty"))
    if len(data) > MAX_BYTES:
        raise CalendarImportError(Note("too_big", count=len(data) // 1024))
    header, pieces, seen, complete = _pieces(_text(data))
    if not seen:
        raise CalendarImportError(Note("not_ical"))
    for line in header:
        if line.upper().startswith("PRODID") and line.split(":", 1)[-1].strip() == PRODID:
            raise CalendarImportError(Note("own_feed"))
    skipped, warnings, lines = [], [], {}
    if not complete:
        warnings.append(Note("unclosed"))
    kept, events = [], 0
    first_day, last_day = f"{start - timedelta(days=2):%Y%m%d}", f"{end + timedelta(days=2):%Y%m%d}"
    for piece in pieces:
        if deadline is not None:
            deadline.check()
        if piece.name not in ("VEVENT", "VTIMEZONE", "VFREEBUSY"):
            continue  # VTODO, VJOURNAL…: nothing to do with busy time
        if not piece.closed:
            skipped.append(Note("truncated", piece.line, piece.name))
            continue
        if piece.name == "VEVENT" and not _may_touch(piece.lines, first_day, last_day):
            events += 1  # read, and outside the window
            continue
        kept.append((piece, _cleaned(piece)))
    calendar, kept = _together(header, kept, skipped)
    for piece, component in kept:
        if piece.name == "VTIMEZONE":
            continue
        if deadline is not None:
            deadline.check()
        problem = _problem(piece, component, start, end, warnings)
        if problem is None:
            lines[id(component)] = piece.line
            events += 1
        else:
            skipped.append(problem)
            calendar.subcomponents.remove(component)
    skipped.sort(key=lambda note: note.line or 0)
    return _Read([calendar], events, skipped, warnings, lines, complete)


def _problem(piece: _Piece, component: Component, start: datetime, end: datetime, warnings: list[Note]) -> Note | None:
    """Why a parsed component cannot be used (None: it can), adding the warnings it deserves."""
    if piece.name == "VEVENT" and component.get("DTSTART") is None:
        return Note("no_start", piece.line, piece.name)
    broken = _broken(component)
    if broken == "EXDATE":  # rather more busy time than none: every instance counts
        del component["EXDATE"]
        warnings.append(Note("bad_exdate", piece.line, piece.name))
        broken = _broken(component)
    if broken:
        return Note("bad_value", piece.line, piece.name, broken)
    if piece.name == "VEVENT":
        if _anchored(component, start, end) is None:
            return Note("huge_count", piece.line, piece.name)
        warnings += [n for n in _zone_notes(piece, component) if n not in warnings]
    return None


def _together(header: list[str], kept: list[tuple[_Piece, list[str]]], skipped: list[Note]):
    """One calendar of the kept components, parsed together (a zone defined in the file applies to
    the events using it); a component icalendar cannot parse at all is found alone and skipped."""

    def text(parts):
        body = ["BEGIN:VCALENDAR", *[h for h in header if ":" in h]]
        for _piece, cleaned in parts:
            body += cleaned
        return "\r\n".join([*body, "END:VCALENDAR"]) + "\r\n"

    try:
        calendar = Calendar.from_ical(text(kept))
    except Exception:  # icalendar raises ValueError, KeyError, IndexError… on malformed text
        readable = []
        for piece, cleaned in kept:
            try:
                Component.from_ical("\r\n".join(cleaned) + "\r\n")
            except Exception:  # this component only (a broken zone: its events are read in Paris time, said)
                skipped.append(Note("unreadable", piece.line, piece.name))
                continue
            readable.append((piece, cleaned))
        kept = readable
        try:
            calendar = Calendar.from_ical(text(kept))
        except Exception:  # the calendar-level lines themselves: read the components without them
            header = []
            calendar = Calendar.from_ical(text(kept))
    return calendar, [
        (piece, component) for (piece, _), component in zip(kept, list(calendar.subcomponents), strict=False)
    ]


def _instant(value, tz) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    return datetime.combine(value, time(), tz).astimezone(UTC)  # a date: local midnight


def _span(event: Component, tz) -> Interval | None:
    start = event.get("DTSTART")
    if start is None:
        return None
    begin = start.dt
    end_prop, duration = event.get("DTEND"), event.get("DURATION")
    if end_prop is not None:
        finish = end_prop.dt
    elif duration is not None:
        finish = begin + duration.dt
    else:  # RFC 5545: a date lasts one day, a date-time is an instant
        finish = begin + timedelta(days=1) if not isinstance(begin, datetime) else begin
    if not isinstance(begin, datetime) and isinstance(finish, datetime):
        finish = finish.date()
    if not isinstance(begin, datetime) and finish <= begin:
        finish = begin + timedelta(days=1)  # an all-day event blocks at least its day
    a, b = _instant(begin, tz), _instant(finish, tz)
    return (min(a, b), max(a, b)) if a != b else None


def _freebusy(component: Component, tz) -> Iterator[Interval]:
    """The BUSY periods of a VFREEBUSY (FBTYPE defaults to BUSY; FREE is not busy)."""
    for prop in _all(component, "FREEBUSY"):
        if str(prop.params.get("FBTYPE", "BUSY")).upper() not in BUSY_TYPES:
            continue
        for period in getattr(prop, "dts", [prop]):
            value = period.dt
            if isinstance(value, tuple):
                a, b = value
                b = a + b if isinstance(b, timedelta) else b
                yield _instant(a, tz), _instant(b, tz)


def _density(component: Component) -> tuple[float, int]:
    """(at most how many instances a day, how many more on given dates) for one VEVENT: an upper
    bound from the rule's frequency and the BY… parts that multiply it."""
    extra = sum(len(getattr(value, "dts", [])) for value in _all(component, "RDATE"))
    per_day, counted = 0.0, 0
    for rule in _all(component, "RRULE"):
        if not rule:
            continue
        frequency = (rule.get("FREQ") or ["DAILY"])[0]
        interval = max(int((rule.get("INTERVAL") or [1])[0]), 1)
        times = len(rule.get("BYHOUR") or [1]) * len(rule.get("BYMINUTE") or [1]) * len(rule.get("BYSECOND") or [1])
        days = len(rule.get("BYDAY") or [])
        if rule.get("COUNT"):  # a counted rule is bounded by its count whatever its frequency
            counted += int(rule["COUNT"][0])
            continue
        if frequency in SUB_DAILY:
            per_day += 86400 / (SUB_DAILY[frequency] * interval)
        elif frequency == "DAILY":
            per_day += times / interval
        elif frequency == "WEEKLY":
            per_day += times * max(days, 1) / (7 * interval)
        elif frequency == "MONTHLY":
            per_day += times * max(days * 5, len(rule.get("BYMONTHDAY") or []), 1) / (28 * interval)
        else:  # YEARLY: every day it could name
            per_day += (
                times
                * max(
                    days * 53,
                    len(rule.get("BYMONTHDAY") or []) * 12,
                    len(rule.get("BYYEARDAY") or []),
                    len(rule.get("BYWEEKNO") or []) * 7,
                    len(rule.get("BYMONTH") or []),
                    1,
                )
                / (365 * interval)
            )
    return per_day, extra + counted + 1


def _expand(
    calendar: Calendar, start: datetime, end: datetime, deadline: Deadline | None, limit: int
) -> tuple[list[Component], Component | None]:
    """VEVENT occurrences overlapping [start, end): at most `limit`, and the busiest series when
    there were more. The window is read in one query when its instances surely fit, else in
    slices sized for the densest rule, so that memory stays bounded whatever the rule says."""
    query = recurring_ical_events.of(x_wr_timezone.to_standard(calendar), components=["VEVENT"])
    days = max((end - start) / timedelta(days=1), 1.0)
    events = calendar.walk("VEVENT")
    densities = [_density(c) for c in events]
    estimate = sum(per_day * days + extra for per_day, extra in densities)
    if estimate <= limit:
        return query.between(start, end), None
    # slices sized for the rules that never end (counted ones are bounded already)
    slice_ = max((end - start) * (limit / 4) / max(estimate, 1), timedelta(minutes=1))
    busiest = events[max(range(len(events)), key=lambda i: densities[i][0])]
    found: list[Component] = []
    seen, at = set(), start
    while at < end:
        if deadline is not None:
            deadline.check()
        stop = min(at + slice_, end)
        for occurrence in query.between(at, stop):
            first, last = occurrence.get("DTSTART"), occurrence.get("DTEND")
            key = (str(occurrence.get("UID", "")), first and first.to_ical(), last and last.to_ical())
            if key in seen:  # overlapping two slices
                continue
            if len(found) >= limit:
                return found, busiest
            seen.add(key)
            found.append(occurrence)
        at = stop
    return found, None


def _series(calendar: Calendar) -> list[Calendar]:
    """One calendar per UID (with every VTIMEZONE): a series that cannot be expanded costs itself only."""
    zones = calendar.walk("VTIMEZONE")
    groups: dict[str, Calendar] = {}
    for number, component in enumerate(calendar.subcomponents):
        if component.name != "VEVENT":
            continue
        uid = str(component.get("UID") or f"no-uid-{number}")
        if uid not in groups:
            groups[uid] = Calendar()
            for name, value in calendar.property_items(recursive=False):
                if name not in ("BEGIN", "END"):
                    groups[uid].add(name, value, encode=False)
            for zone in zones:
                groups[uid].add_component(zone)
        groups[uid].add_component(component)
    return list(groups.values())


def read(data: bytes, start: datetime, end: datetime, tz=PARIS, deadline: Deadline | None = None) -> Imported:
    """Busy time of a calendar file inside [start, end), with what was skipped and why. Raises
    CalendarImportError only when nothing can be read, or when the deadline passes."""
    got = _read(data, start, end, deadline)
    result = Imported([], events=got.events, skipped=got.skipped, warnings=got.warnings)
    spans: list[Interval] = []
    for calendar in got.calendars:
        for component in calendar.walk("VFREEBUSY"):
            spans += [(max(a, start), min(b, end)) for a, b in _freebusy(component, tz) if a < end and b > start]
        if not calendar.walk("VEVENT"):
            continue
        try:
            found, capped = _expand(calendar, start, end, deadline, MAX_INSTANCES)
        except CalendarImportError:
            raise
        except Exception:  # the library raises many kinds of error on a broken series: expand each alone
            found, capped = _one_by_one(calendar, start, end, deadline, got, result)
        if capped is not None:
            result.warnings.append(Note("capped_instances", got.lines.get(id(capped)), "VEVENT", count=MAX_INSTANCES))
        result.instances += len(found)
        for event in found:
            if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            if str(event.get("STATUS", "")).upper() == "CANCELLED":
                continue
            try:
                span = _span(event, tz)
            except Exception:  # a broken DTEND in one override: that occurrence only
                continue
            if span and span[1] > start and span[0] < end:
                spans.append((max(span[0], start), min(span[1], end)))
    if not got.complete and result.events == 0 and not spans and not got.skipped:
        raise CalendarImportError(Note("unclosed_empty"))
    if got.skipped and result.events == 0 and not spans:
        first = got.skipped[0]
        raise CalendarImportError(Note("nothing_readable", first.line, count=len(got.skipped)), result.skipped)
    result.spans = merge(spans)
    if len(result.spans) > MAX_SPANS:
        result.spans = result.spans[:MAX_SPANS]
        result.warnings.append(Note("capped_spans", count=MAX_SPANS))
    return result


def _one_by_one(
    calendar: Calendar, start, end, deadline, got: _Read, result: Imported
) -> tuple[list[Component], Component | None]:
    found: list[Component] = []
    for series in _series(calendar):
        try:
            more, capped = _expand(series, start, end, deadline, MAX_INSTANCES - len(found))
        except CalendarImportError:
            raise
        except Exception:  # this series only
            result.skipped.append(Note("expansion", _line(series, got), "VEVENT"))
            result.events -= len(series.walk("VEVENT"))
            continue
        found += more
        if capped is not None:
            return found, capped
    return found, None


def _line(series: Calendar, got: _Read) -> int | None:
    return min((got.lines[id(c)] for c in series.walk("VEVENT") if id(c) in got.lines), default=None)


def merge(spans: list[Interval]) -> list[Interval]:
    merged: list[list[datetime]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def busy_from_bytes(data: bytes, start: datetime, end: datetime, tz=PARIS) -> list[Interval]:
    """Merged busy intervals (UTC) inside [start, end) (what `read` finds, without its report)."""
    return read(data, start, end, tz).spans
