"""Messages in the reader's language: a refusal has one stable code and a sentence in French or English (API and
pages alike); codes stored in the database are shown through labels; nothing a person reads is left out of the
catalogue, in the code (refusals, flashes, problems) or in the templates."""

import ast
import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine

from booking.extensions import db
from booking.models import ApiToken
from booking.services import bookings, errors, reasons, tokens
from calendars.worktime import PARIS

from . import factories as f

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # a Wednesday, 09:00 in Paris
TUESDAY_10 = datetime(2026, 12, 8, 10, 0, tzinfo=PARIS)  # free, inside the horizon, past the notice


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _api(client, key: str, lang: str, method: str, path: str, **kw):
    headers = {"Authorization": f"Bearer {key}", "Accept-Language": lang}
    return client.open(f"/api/v1{path}", method=method, headers=headers, **kw)


def _client(tier: str, locale: str = "fr"):
    user = f.user("client", f.company(tier), locale=locale)
    db.session.commit()
    return user


# --- the API: one code, the sentence in the request's language --------------------------------------------------


def test_a_service_the_contract_excludes_is_refused_in_each_language_with_one_code(app, client, frozen):
    f.consultant(skills=("installation",))
    key = tokens.create(_client("standard"))
    db.session.commit()
    body = {"service": "minor_update", "start": TUESDAY_10.replace(hour=14).isoformat()}
    fr, en = (_api(client, key, lang, "POST", "/bookings", json=body) for lang in ("fr", "en"))
    assert fr.status_code == en.status_code == 403
    assert fr.json["code"] == en.json["code"] == "not_entitled"
    assert fr.json["detail"] == "La formule Standard n'inclut pas « Mise à jour mineure »."
    assert en.json["detail"] == "The Standard plan does not include “Minor update”."


def test_a_state_refusal_names_the_state_in_each_language(app, client, frozen):
    user = _client("serenite")
    cancelled = f.booking(f.consultant(), TUESDAY_10, company=user.company, status="cancelled")
    key = tokens.create(user)
    db.session.commit()
    fr, en = (
        _api(
            client,
            key,
            lang,
            "PATCH",
            f"/bookings/{cancelled.id}",
            json={"start": TUESDAY_10.replace(hour=11).isoformat()},
        )
        for lang in ("fr", "en")
    )
    assert fr.status_code == en.status_code == 409
    assert fr.json["code"] == en.json["code"] == "state_changed"
    assert fr.json["detail"] == "Ce rendez-vous est déjà annulé : le déplacement n'est plus possible."
    assert en.json["detail"] == "This booking is already cancelled: it can no longer be moved."


def test_a_revoked_token_is_refused_in_english_with_its_code(app, client, frozen):
    key = tokens.create(_client("serenite"))
    tokens.revoke(db.session.query(ApiToken).one())
    db.session.commit()
    r = _api(client, key, "en", "GET", "/me")
    assert r.status_code == 401 and r.json["code"] == "token_revoked"
    assert (
        r.json["detail"].startswith("This API token was revoked on ")
        and "Authorization: Bearer <token>" in r.json["detail"]
    )


def test_a_refused_request_body_is_described_in_english(app, client, frozen):
    key = tokens.create(_client("serenite"))
    db.session.commit()
    r = _api(client, key, "en", "POST", "/bookings", json={"service": "erplib", "start": "2026-12-08T10:00:00"})
    assert r.status_code == 422 and r.json["code"] == "invalid_request"
    assert r.json["detail"].startswith("Invalid request — ") and "Give the UTC offset" in r.json["detail"]


# --- pages: the same sentences, and codes through labels --------------------------------------------------------


def _page(client, auth, user, url: str, method: str = "GET", **kw):
    auth.login(user.email)
    r = client.open(url, method=method, **kw)
    return r.status_code, html.unescape(r.get_data(as_text=True))


@pytest.mark.parametrize(
    "locale, words, absent",
    [
        ("fr", "La formule Standard n'inclut pas « Mise à jour mineure ».", "does not include"),
        ("en", "The Standard plan does not include “Minor update”.", "n'inclut pas"),
    ],
)
def test_the_page_says_the_refusal_in_the_readers_language(app, client, auth, frozen, locale, words, absent):
    f.consultant(skills=("installation",))
    status, page = _page(
        client,
        auth,
        _client("standard", locale),
        "/portail/reserver/minor_update",
        "POST",
        data={"start": TUESDAY_10.replace(hour=14).isoformat()},
    )
    assert status == 403 and words in page and absent not in page


def test_the_services_page_says_why_in_english(app, client, auth, frozen):
    _, page = _page(client, auth, _client("serenite", "en"), "/portail/reserver")
    assert "Not available.</strong> Priority consulting is requested (duration, skill, description)" in page
    assert "Le conseil prioritaire" not in page


def test_the_services_page_says_why_as_a_sentence_of_its_own_in_french(app, client, auth, frozen):
    """The reason is a sentence of its own (capital letter and all), after « Non disponible. », not after a colon."""
    _, page = _page(client, auth, _client("serenite"), "/portail/reserver")
    assert "Non disponible.</strong> Le conseil prioritaire se demande" in html.unescape(page)


def test_the_hour_bank_shows_its_notes_in_english(app, client, auth, frozen):
    user = _client("serenite", "en")
    f.consultant()
    db.session.commit()
    bookings.cancel(user, bookings.book(user, "erplib", TUESDAY_10, NOW), NOW)
    db.session.commit()
    _, page = _page(client, auth, user, "/portail/banque-heures")
    assert "Yearly grant" in page and "Refund — Cancelled in time" in page
    assert "Dotation" not in page and "Annulation dans les délais" not in page


@pytest.mark.parametrize(
    "locale, shown",
    [("fr", ["Serveur redémarré", "Production"]), ("en", ["Server restarted", "Operating system updates done"])],
)
def test_the_prerequisites_checklist_is_in_the_readers_language(app, client, auth, frozen, locale, shown):
    user = _client("serenite", locale)
    found = f.booking(
        f.consultant(skills=("installation",)),
        TUESDAY_10,
        120,
        company=user.company,
        kind="minor_update",
        environment="production",
    )
    db.session.commit()
    status, page = _page(client, auth, user, f"/portail/rendez-vous/{found.id}")
    assert status == 200 and all(words in page for words in shown)
    if locale == "en":
        assert "Serveur redémarré" not in page and "Mises à jour du système" not in page


def test_codes_reach_pages_through_labels(app, client, auth, frozen):
    """Skills and ticket priorities are stored as codes (comptabilite, majeure): people read words."""
    planner = f.user("planner", locale="en")
    f.consultant(skills=("comptabilite", "paie"))
    db.session.commit()
    _, page = _page(client, auth, planner, "/planification/consultants/")
    assert "Accounting, Payroll" in page and "comptabilite" not in page


# --- nothing unmarked: the code and the templates ---------------------------------------------------------------


def _trees(*folders: str):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT), ast.parse(path.read_text())


def _refusal_classes() -> set[str]:
    """ServiceError and every class that derives from it, read from the source."""
    names, trees = {"ServiceError"}, [tree for _, tree in _trees("booking")]
    while True:
        more = {
            node.name
            for tree in trees
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            and any(getattr(base, "id", getattr(base, "attr", None)) in names for base in node.bases)
        }
        if more <= names:
            return names
        names |= more


def _literal(node) -> bool:
    """A sentence written in place (a string or an f-string), which no catalogue can translate."""
    return (
        isinstance(node, ast.JoinedStr)
        or (isinstance(node, ast.Constant) and isinstance(node.value, str))
        or (isinstance(node, ast.BinOp) and (_literal(node.left) or _literal(node.right)))
    )


def test_every_sentence_a_person_reads_is_marked_for_translation():
    """A refusal, a flash, a problem+json detail or a validation message takes `_()`/`_l()`, never a bare string."""
    shown = _refusal_classes() | {"flash", "ValidationError"}
    unmarked = []
    for path, tree in _trees("booking"):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            args = node.args[1:2] if name == "problem" else node.args[:1] if name in shown else []
            unmarked += [f"{path}:{node.lineno}" for arg in args if _literal(arg)]
            if name in ("_", "_l", "gettext", "lazy_gettext") and node.args and isinstance(node.args[0], ast.JoinedStr):
                unmarked.append(f"{path}:{node.lineno} (an f-string cannot be extracted)")
    assert not unmarked, unmarked


def test_every_refusal_code_is_catalogued():
    """The codes an API client may meet are the ones documented (errors.CODES and the slot reasons)."""
    known, used = set(errors.CODES) | set(reasons.CODES), {}
    for path, tree in _trees("booking"):
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "code" and isinstance(node.value, ast.Constant):
                used.setdefault(node.value.value, f"{path}:{node.value.lineno}")
            if (
                isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == ["code"]
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                used.setdefault(node.value.value, f"{path}:{node.lineno}")
    assert {code: at for code, at in used.items() if code not in known} == {}


class _Text(HTMLParser):
    """The words of a template that are neither markup nor inside a Jinja expression or statement."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.words, self.inside_script = [], False

    def handle_starttag(self, tag, attrs):
        self.inside_script = tag in ("script", "style")
        self.words += [
            w
            for name, value in attrs
            if name in ("title", "placeholder", "aria-label", "alt", "data-label")
            for w in re.findall(r"[A-Za-zÀ-ÿ][\w'’-]+", value or "")
        ]

    def handle_data(self, data):
        if not self.inside_script:
            self.words += re.findall(r"[A-Za-zÀ-ÿ][\w'’-]+", data)


def test_templates_show_no_text_outside_the_catalogue():
    """Every visible word of a template goes through `_()` (product names aside)."""
    names = {"ERP-Lib", "Planner", "CSV", "https"}
    jinja = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
    found = {}
    for path in sorted((ROOT / "booking" / "web" / "templates").rglob("*.html")):
        parser = _Text()
        parser.feed(jinja.sub(" ", path.read_text()))
        if set(parser.words) - names:
            found[str(path.relative_to(ROOT))] = sorted(set(parser.words) - names)
    assert not found, found


def test_every_sentence_marked_in_the_code_has_its_english():
    """Read from the syntax tree, not from pybabel's extraction, which misses a `_()` written inside another's
    arguments (two of the late cancellation's sentences reached English pages in French that way)."""
    from babel.messages.pofile import read_po

    po = ROOT / "booking" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    english = {m.id: m.string for m in read_po(po.open("rb")) if m.id}
    missing = []
    for path, tree in _trees("booking"):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            first = node.args[0]
            marked = name in ("_", "_l", "gettext", "lazy_gettext") and isinstance(first, ast.Constant)
            if marked and not english.get(first.value):
                missing.append(f"{path}:{node.lineno} {first.value!r}")
    assert not missing, missing
