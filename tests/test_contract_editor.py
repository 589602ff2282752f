"""The admin's contract editor against an adversarial tester (fifteenth session): a text that would break pages or
state nonsense is refused at preview and at apply, with a sentence naming the key and what it accepts, in the
reader's language; stored versions keep loading as they were accepted."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from booking import contract
from booking.extensions import db
from booking.models import ContractVersion
from booking.models.bookings import KINDS
from booking.models.companies import TIERS
from booking.services import contract_store
from booking.services.errors import Invalid

from . import factories as f

FILE = contract_store.normalise(contract.DEFAULT_FILE.read_text(encoding="utf-8"))


def _edit(old: str, new: str, text: str = FILE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _without_serenite() -> str:
    return FILE[: FILE.index("[tiers.serenite]")]


def _without_priority_consulting() -> str:
    text = re.sub(r"\[services\.priority_consulting\]\n(?:.+\n)+\n", "", FILE)
    text = re.sub(r', priority_consulting = "\w+"', "", text)
    return _edit("priority_consulting = 900\n", "", text)


def _nested(depth: int) -> str:
    return FILE + "\n[tiers.standard.nested]\nv = " + "[" * depth + "]" * depth + "\n"


# (the text, its code, the French sentence's words, the English sentence's words)
REFUSED = {
    "tier removed": (
        _without_serenite(),
        "tier_required",
        "[tiers.serenite] manque : des entreprises, leurs périodes de contrat et la fiche d'une entreprise nomment",
        "[tiers.serenite] is missing: companies, their contract periods and a company's form name this plan",
    ),
    "service removed": (
        _without_priority_consulting(),
        "service_required",
        "[services.priority_consulting] manque : le planning sert cette prestation",
        "[services.priority_consulting] is missing: the planner serves this service",
    ),
    "negative hour bank": (
        _edit("hour_bank_minutes = 600", "hour_bank_minutes = -600"),
        "invalid_contract",
        "tiers.serenite.hour_bank_minutes : -600 n'est pas accepté ; indiquez un nombre entier de 0 à 100000.",
        "tiers.serenite.hour_bank_minutes: -600 is not accepted; give a whole number from 0 to 100000.",
    ),
    "negative contacts": (
        _edit("contacts = 5", "contacts = -1"),
        "invalid_contract",
        "tiers.serenite.contacts : -1 n'est pas accepté ; indiquez un nombre entier de 1 à 100.",
        "tiers.serenite.contacts: -1 is not accepted; give a whole number from 1 to 100.",
    ),
    "no contact": (
        _edit("contacts = 1", "contacts = 0"),
        "invalid_contract",
        "tiers.standard.contacts : 0 n'est pas accepté ; indiquez un nombre entier de 1 à 100.",
        "tiers.standard.contacts: 0 is not accepted",
    ),
    "min over max": (
        _edit("min_units = 1", "min_units = 9"),
        "invalid_contract",
        "services.priority_consulting.min_units (9) ne peut pas dépasser services.priority_consulting.max_units (5).",
        "services.priority_consulting.min_units (9) cannot exceed services.priority_consulting.max_units (5).",
    ),
    "start in the past": (
        _edit("start_within_days = 7", "start_within_days = -7"),
        "invalid_contract",
        "services.priority_consulting.start_within_days : -7 n'est pas accepté ; indiquez un nombre entier de 1 à 60.",
        "services.priority_consulting.start_within_days: -7 is not accepted; give a whole number from 1 to 60.",
    ),
    "unknown environment": (
        _edit('environments = ["test"]', 'environments = ["moon"]'),
        "invalid_contract",
        'services.major_install_test.environments : ["moon"] n\'est pas accepté ; indiquez une liste parmi production, '
        "test, chacun au plus une fois.",
        'services.major_install_test.environments: ["moon"] is not accepted; give a list among production, test',
    ),
    "huge take charge": (
        _edit('take_charge = "20j"', 'take_charge = "999999999j"'),
        "invalid_contract",
        'tiers.serenite.tickets.basse.take_charge : "999999999j" n\'est pas accepté ; indiquez une durée ouvrée',
        'tiers.serenite.tickets.basse.take_charge: "999999999j" is not accepted; give a business duration',
    ),
    "take charge before acknowledge": (
        _edit(
            'bloquante = { acknowledge = "1h", take_charge = "4h" }',
            'bloquante = { acknowledge = "1j", take_charge = "4h" }',
        ),
        "invalid_contract",
        "tiers.confort.tickets.bloquante.acknowledge (1j) ne peut pas dépasser "
        "tiers.confort.tickets.bloquante.take_charge (4h).",
        "tiers.confort.tickets.bloquante.acknowledge (1j) cannot exceed tiers.confort.tickets.bloquante.take_charge",
    ),
    "empty label": (
        _edit('label = "Confort"', 'label = ""'),
        "invalid_contract",
        "tiers.confort.label : indiquez un texte non vide de 60 caractères au plus.",
        "tiers.confort.label: give a non-empty text of at most 60 characters.",
    ),
    "duplicate prerequisite": (
        _edit('["system_patches", ', '["os_updates", '),
        "invalid_contract",
        'services.minor_update.prerequisites : le code "os_updates" apparaît plusieurs fois',
        'services.minor_update.prerequisites: the code "os_updates" appears more than once',
    ),
    "unknown section": (
        FILE + "\n[evil]\nx = 1\n",
        "invalid_contract",
        "evil n'est pas une clé connue ; clés acceptées ici : booking, reshuffle, services, tiers.",
        "evil is not a known key; keys accepted here: booking, reshuffle, services, tiers.",
    ),
    "unknown service": (
        FILE + '\n[services.teleportation]\nduration_minutes = 30\nspan = "block"\n',
        "invalid_contract",
        "services.teleportation : prestation inconnue ; le planning et sa base de données ne servent que erplib,",
        "services.teleportation: unknown service; the planner and its database serve only erplib,",
    ),
    "unknown service key": (
        _edit("needs_ticket = true", "needs_ticket = true\nprerequisites_x = 1"),
        "invalid_contract",
        "services.callback.prerequisites_x n'est pas une clé connue ; clés acceptées ici : ",
        "services.callback.prerequisites_x is not a known key; keys accepted here: ",
    ),
    "unknown tier key": (
        _edit("contacts = 3", "contacts = 3\ncontact = 4"),
        "invalid_contract",
        "tiers.confort.contact n'est pas une clé connue",
        "tiers.confort.contact is not a known key",
    ),
    "negative notice": (
        _edit("notice_hours = 4 ", "notice_hours = -4 "),
        "invalid_contract",
        "booking.notice_hours : -4 n'est pas accepté ; indiquez un nombre entier de 0 à 400.",
        "booking.notice_hours: -4 is not accepted; give a whole number from 0 to 400.",
    ),
    "price 1e30": (
        _edit("erplib_hour = 120", "erplib_hour = 1e30"),
        "invalid_contract",
        "tiers.standard.prices.erplib_hour : 1e+30 n'est pas accepté ; indiquez un prix en euros de 0 à 100000, avec "
        "au plus deux décimales.",
        "tiers.standard.prices.erplib_hour: 1e+30 is not accepted; give a price in euros from 0 to 100000, with at "
        "most two decimals.",
    ),
    "price 1e308": (
        _edit("erplib_hour = 120", "erplib_hour = 1e308"),
        "invalid_contract",
        "tiers.standard.prices.erplib_hour : 1e+308 n'est pas accepté",
        "tiers.standard.prices.erplib_hour: 1e+308 is not accepted",
    ),
    "price of 30 digits": (
        _edit("erplib_hour = 120", "erplib_hour = " + "9" * 30),
        "invalid_contract",
        "tiers.standard.prices.erplib_hour : 999999999999999999999999999999 n'est pas accepté",
        "tiers.standard.prices.erplib_hour: 999999999999999999999999999999 is not accepted",
    ),
    "nested 5000 deep": (
        _nested(5000),
        "contract_syntax",
        "le texte imbrique trop de listes ou de tables pour être lu",
        "the text nests too many lists or tables to be read",
    ),
    "not TOML": (
        FILE + "\n[tiers.standard\n",
        "contract_syntax",
        "le texte n'est pas du TOML lisible, ligne 137, colonne 16 :",
        "the text is not readable TOML, line 137, column 16:",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_text_that_breaks_or_makes_no_sense_is_refused_with_its_key_in_each_language(app, case):
    text, code, french, english = REFUSED[case]
    for locale, words in (("fr", french), ("en", english)):
        with app.test_request_context(), force_locale(locale):
            with pytest.raises(Invalid) as refused:
                contract_store.check(text)
            message = refused.value.message
        assert (refused.value.status, refused.value.code) == (422, code)
        assert words in message, message
        assert not re.search(r"__init__|Error|\bmust\b" if locale == "fr" else r"__init__|Error", message), message


@pytest.mark.parametrize("case", ["tier removed", "negative hour bank", "price 1e30", "nested 5000 deep"])
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_page_refuses_it_at_preview_and_at_apply_and_pages_keep_working(app, client, auth, case, locale):
    text, _code, french, english = REFUSED[case]
    admin = f.user("admin", locale=locale)
    contact = f.user("client", f.company("serenite"))
    db.session.commit()
    auth.login(admin.email)
    preview = client.post("/admin/contrat/apercu", data={"source": "texte", "text": text})
    assert preview.status_code == 422
    page = unescape(preview.get_data(as_text=True))
    assert (french if locale == "fr" else english) in page and 'data-testid="diff"' not in page
    applied = client.post("/admin/contrat/appliquer", data={"apply-text": text, "apply-based_on": ""})
    assert applied.status_code == 302
    shown = unescape(client.get("/admin/contrat/").get_data(as_text=True))
    assert (french if locale == "fr" else english) in shown
    assert db.session.scalar(select(func.count()).select_from(ContractVersion)) == 0
    for path in ("/admin/", "/planification/"):
        assert client.get(path).status_code == 200
    auth.logout()
    auth.login(contact.email)
    assert client.get("/portail/").status_code == 200


def test_a_version_stored_with_values_now_refused_is_still_read_as_it_was_accepted(app, client, auth):
    """A stored version is read with strict=False: one applied before these checks must not make every page fail."""
    stored = _edit("hour_bank_minutes = 600", "hour_bank_minutes = -600", _edit("contacts = 1", "contacts = 0"))
    stored += "\n[evil]\nx = 1\n"
    terms = contract.parse_text(stored, "contract_versions #1", strict=False)
    assert (terms.tier("serenite").hour_bank_minutes, terms.tier("standard").contacts) == (-600, 0)
    db.session.add(ContractVersion(text=stored, created_at=datetime.now(UTC)))
    contact = f.user("client", f.company("serenite"))
    db.session.commit()
    auth.login(contact.email)
    assert client.get("/portail/").status_code == 200


def test_a_price_with_more_than_two_decimals_or_none_is_refused_and_a_round_one_kept():
    with pytest.raises(contract.ContractError, match=r"prices\.erplib_hour : 1\.234 n'est pas accepté"):
        contract._prices("standard", {"erplib_hour": 1.234})
    with pytest.raises(contract.ContractError, match=r'prices\.erplib_hour : "abc" n\'est pas accepté'):
        contract._prices("standard", {"erplib_hour": "abc"})
    assert str(contract._prices("standard", {"erplib_hour": 100_000})["erplib_hour"]) == "100000.00"


def test_the_catalogue_a_text_must_keep_is_the_database_s():
    """The CHECK constraints of bookings.kind and companies.tier (and the admin's company form) name these."""
    assert contract.KINDS == KINDS and contract.TIERS == TIERS
    assert set(contract.load().services) == set(KINDS) and set(contract.load().tiers) == set(TIERS)


def test_a_syntax_refusal_is_not_cut_by_a_deep_but_readable_text():
    """A few levels of nesting are TOML like any other: refused for the key, not as unreadable."""
    with pytest.raises(contract.ContractError) as refused:
        contract.parse_text(_nested(3), "contract.toml")
    assert refused.value.code == "invalid_contract" and "tiers.standard.nested" in str(refused.value)
