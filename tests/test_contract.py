"""Every cell of the contract matrix (docs/contract.md), checked against the contract data module."""

import pytest

from booking import contract
from booking.labels import SKILLS
from calendars.worktime import BusinessDuration

TERMS = contract.load()
TIERS = ("standard", "confort", "serenite")

# docs/contract.md, one row per entitlement: (Standard, Confort, Sérénité)
ACCESS = {
    "erplib": ("billable", "billable", "hour_bank"),
    "callback": ("yes", "yes", "yes"),
    "minor_update": ("no", "yes", "yes"),
    "major_install_test": ("no", "yes", "yes"),
    "major_install": ("no", "no", "yes"),
    "priority_consulting": ("no", "quote", "yes"),
}
COMMITMENTS = {  # (priority, commitment): (S, C, Sé); None = no commitment
    ("bloquante", "acknowledge"): ("2h", "1h", "1h"),
    ("majeure", "acknowledge"): ("6h", "4h", "2h"),
    ("mineure", "acknowledge"): ("2j", "2j", "1j"),
    ("basse", "acknowledge"): ("3j", "2j", "1j"),
    ("bloquante", "take_charge"): ("1j", "4h", "2h"),
    ("majeure", "take_charge"): ("3j", "1j", "4h"),
    ("mineure", "take_charge"): ("10j", "5j", "4j"),
    ("basse", "take_charge"): (None, None, "20j"),
    ("bloquante", "resolve"): (None, None, "2j"),
}


@pytest.mark.parametrize("kind", ACCESS)
@pytest.mark.parametrize("index, tier", list(enumerate(TIERS)))
def test_service_access(kind, index, tier):
    assert TERMS.tier(tier).access(kind) == ACCESS[kind][index]


@pytest.mark.parametrize("key", COMMITMENTS)
@pytest.mark.parametrize("index, tier", list(enumerate(TIERS)))
def test_ticket_commitments(key, index, tier):
    expected = COMMITMENTS[key][index]
    got = TERMS.tier(tier).commitment(*key)
    assert got == (BusinessDuration.parse(expected) if expected else None)


@pytest.mark.parametrize(
    "tier, contacts, versions, privileged, bank",
    [
        ("standard", 1, 1, False, 0),
        ("confort", 3, 1, False, 0),
        ("serenite", 5, 2, True, 600),
    ],
)
def test_tier_rows(tier, contacts, versions, privileged, bank):
    t = TERMS.tier(tier)
    assert (t.contacts, t.maintained_versions, t.privileged_consultant, t.hour_bank_minutes) == (
        contacts,
        versions,
        privileged,
        bank,
    )


@pytest.mark.parametrize(
    "kind, minutes, days, span, environments",
    [
        ("erplib", 45, None, "block", ()),
        ("callback", 30, None, "block", ()),
        ("minor_update", 120, None, "block", ("production",)),
        ("major_install", None, 1, "days", ("test", "production")),
        ("major_install_test", None, 1, "days", ("test",)),
        ("priority_consulting", None, None, "days_or_hours", ()),
    ],
)
def test_service_catalogue(kind, minutes, days, span, environments):
    s = TERMS.service(kind)
    assert (s.duration_minutes, s.duration_days, s.span, s.environments) == (minutes, days, span, environments)


def test_service_rules():
    assert TERMS.service("erplib").grid_minutes == 15
    assert TERMS.service("callback").needs_ticket
    assert TERMS.service("minor_update").prerequisites_gate_hours == 24
    assert TERMS.service("major_install").one_per_version
    p = TERMS.service("priority_consulting")
    assert (p.min_units, p.max_units, p.start_within_days) == (1, 5, 7)


def test_the_skills_services_need_are_known_skills():
    """A consultant's skills are chosen among labels.SKILLS: a service needing another could never be booked."""
    needed = {s.skill for s in TERMS.services.values() if s.skill}
    assert needed and needed <= set(SKILLS)


def test_an_admin_can_change_the_matrix_without_code(tmp_path):
    edited = contract.DEFAULT_FILE.read_text().replace('minor_update = "no"', 'minor_update = "yes"', 1)
    path = tmp_path / "contract.toml"
    path.write_text(edited)
    assert contract.load(path).tier("standard").access("minor_update") == "yes"


@pytest.mark.parametrize(
    "mutation, message",
    [
        (
            ('erplib = "billable"', 'erplib = "free"'),
            r'services\.erplib : "free" n\'est pas accepté ; valeurs possibles : no,',
        ),
        (
            ("[services.callback]", "[services.callback]\nunknown_key = 1"),
            r"services\.callback\.unknown_key n'est pas une clé connue",
        ),
        (
            ('basse = { acknowledge = "3j" }', 'basse = { acknowledge = "3 weeks" }'),
            r'acknowledge : "3 weeks" n\'est pas accepté ; indiquez une durée ouvrée',
        ),
        (('label = "Standard"', 'label = "Standard'), "le texte n'est pas du TOML lisible, ligne 85"),
        # no booking may outlast models.bookings.LONGEST, which the overlap queries look back
        (
            ("duration_days = 1", "duration_days = 11"),
            r"services\.major_install\.duration_days : 11 n'est pas accepté ; indiquez un nombre entier de 1 à 10\.",
        ),
        (
            ("duration_minutes = 45", "duration_minutes = 0"),
            r"services\.erplib\.duration_minutes : 0 n'est pas accepté ; indiquez un nombre entier de 1 à 1440\.",
        ),
    ],
)
def test_a_broken_contract_file_is_refused_clearly(tmp_path, mutation, message):
    path = tmp_path / "contract.toml"
    path.write_text(contract.DEFAULT_FILE.read_text().replace(*mutation, 1))
    with pytest.raises((contract.ContractError, ValueError), match=message):
        contract.load(path)


@pytest.mark.parametrize(
    "tier, item, price",
    [
        ("standard", "erplib_hour", "120.00"),
        ("confort", "erplib_hour", "110.00"),
        ("serenite", "erplib_hour", "100.00"),
        ("confort", "priority_consulting_day", "950.00"),
        ("confort", "priority_consulting_hour", "140.00"),
        ("serenite", "priority_consulting_day", None),
        ("standard", "priority_consulting_hour", None),
    ],
)
def test_price_list_per_tier(tier, item, price):
    found = contract.load().tier(tier).price(item)
    assert (str(found) if found is not None else None) == price


@pytest.mark.parametrize(
    "prices, message",
    [
        ({"erplib_hour": -1}, "erplib_hour : -1 n'est pas accepté ; indiquez un prix en euros de 0 à 100000"),
        ({"erplib_hour": 1.234}, r"erplib_hour : 1\.234 n'est pas accepté ; indiquez un prix"),
        ({"erplib_hour": "abc"}, 'erplib_hour : "abc" n\'est pas accepté ; indiquez un prix'),
        ({"coffee": 2}, 'prices : "coffee" n\'est pas accepté ; valeurs possibles : erplib_hour'),
    ],
)
def test_a_bad_price_is_refused(prices, message):
    with pytest.raises(contract.ContractError, match=message):
        contract._prices("standard", prices)


def _grid(tmp_path, policy: int | None = None, service: int | None = None):
    """The packaged contract with the booking grid and/or erplib's own grid replaced, loaded from a file."""
    text = contract.DEFAULT_FILE.read_text()
    if policy is not None:
        text = text.replace("grid_minutes = 15          #", f"grid_minutes = {policy}          #", 1)
    if service is not None:
        text = text.replace('span = "block"\ngrid_minutes = 15', f'span = "block"\ngrid_minutes = {service}', 1)
    path = tmp_path / "contract.toml"
    path.write_text(text)
    return contract.load(path)


@pytest.mark.parametrize("minutes", [5, 6, 10, 12, 15, 20, 30, 60])
def test_a_grid_that_divides_the_hour_is_accepted(tmp_path, minutes):
    assert _grid(tmp_path, policy=minutes).policy.grid_minutes == minutes
    assert _grid(tmp_path, service=minutes).service("erplib").grid_minutes == minutes


@pytest.mark.parametrize("minutes", [7, 25, 45, 50])
def test_a_grid_that_does_not_divide_the_hour_is_refused_with_its_code_and_field(tmp_path, minutes):
    """Starts are counted from each whole hour: 7 would put them at 09:06, 09:13…, never at the 09:00 opening."""
    with pytest.raises(
        contract.ContractError, match=rf"booking\.grid_minutes : une grille de {minutes} minutes ne divise"
    ) as e:
        _grid(tmp_path, policy=minutes)
    assert (e.value.code, e.value.field) == ("invalid_grid", "grid_minutes")
    assert f"une grille de {minutes} minutes ne divise pas l'heure" in str(e.value.sentence)
    with pytest.raises(
        contract.ContractError, match=rf"services\.erplib\.grid_minutes : une grille de {minutes} minutes ne divise"
    ):
        _grid(tmp_path, service=minutes)


@pytest.mark.parametrize("minutes", [90, 120, 240])
def test_a_grid_over_an_hour_is_refused_in_a_new_text(tmp_path, minutes):
    """Above an hour a grid would be counted from midnight (120: 10:00, 12:00, never the 09:00 opening)."""
    with pytest.raises(
        contract.ContractError, match=rf"booking\.grid_minutes : une grille de {minutes} minutes ne divise"
    ):
        _grid(tmp_path, policy=minutes)
    assert all(60 % step == 0 for step in contract.GRID_STEPS)


@pytest.mark.parametrize("minutes", [0, 4, 241])
def test_a_grid_outside_five_to_240_minutes_is_refused_even_in_a_stored_version(tmp_path, minutes):
    with pytest.raises(
        contract.ContractError,
        match=rf"booking\.grid_minutes : {minutes} n'est pas accepté ; indiquez un nombre entier de 5 à 240",
    ):
        _grid(tmp_path, policy=minutes)


def test_a_version_stored_before_the_grid_rule_is_still_read():
    """A version applied when 45 was allowed: read as it was accepted (strict=False), not a failure of every
    request; a new text with it is refused."""
    text = contract.DEFAULT_FILE.read_text(encoding="utf-8").replace("grid_minutes = 15", "grid_minutes = 45", 1)
    assert "grid_minutes = 45" in text
    assert contract.parse_text(text, "contract_versions #1", strict=False).policy.grid_minutes == 45
    with pytest.raises(contract.ContractError, match="ne divise pas l'heure"):
        contract.parse_text(text, "contract.toml")


def test_the_packaged_contract_keeps_a_grid_that_divides_the_hour():
    terms = contract.load()
    assert terms.policy.grid_minutes in contract.GRID_STEPS
    assert all(s.grid_minutes in contract.GRID_STEPS for s in terms.services.values() if s.grid_minutes is not None)
