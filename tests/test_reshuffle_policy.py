"""The compensation policy of a reshuffle is contract data ([reshuffle] in contract.toml and in every version an
admin applied): validated like the rest of the contract, and what the solver's instance carries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from booking import contract, create_app
from booking.extensions import db
from booking.services import contract_store, reshuffle

FILE = contract.DEFAULT_FILE.read_text(encoding="utf-8")
NOW = datetime(2026, 11, 30, 8, tzinfo=UTC)


def without_reshuffle(source: str) -> str:
    """The contract as it was written before the policy moved into it."""
    return source[: source.index("[reshuffle]")] + source[source.index("[services.erplib]") :]


def test_the_file_holds_the_policy_the_code_used_to_hard_code():
    assert contract.load().reshuffle.to_instance() == {
        "freeze_hours": 48,
        "compensated_if_booked_days_before": 14,
        "compensation_eur": {
            "erplib": 60,
            "callback": 0,
            "minor_update": 250,
            "major_install": 900,
            "major_install_test": 600,
            "priority_consulting": 900,
        },
        "short_notice_factor": [[2, 3.0], [5, 2.0], [10, 1.5]],
        "weights": {"moved": 100, "consultant_change": 20, "displacement_hour": 1},
    }


def test_the_instance_carries_the_contract_in_force(app, tmp_path):
    edited = tmp_path / "contract.toml"
    edited.write_text(
        FILE.replace("erplib = 60\n", "erplib = 75\n", 1).replace("freeze_hours = 48", "freeze_hours = 24"),
        encoding="utf-8",
    )
    app.config["CONTRACT_FILE"] = str(edited)
    policy = reshuffle.build(NOW, [])["policy"]
    assert (policy["compensation_eur"]["erplib"], policy["freeze_hours"]) == (75, 24)


@pytest.mark.parametrize(
    "edit, message",
    [
        (without_reshuffle, "reshuffle manque : cette clé est obligatoire"),
        (
            lambda t: t.replace("callback = 0\n", "visio = 10\n", 1),
            r'reshuffle\.compensation_eur : "visio" n\'est pas accepté ; valeurs possibles : callback, erplib',
        ),
        (
            lambda t: t.replace("[[2, 3.0], [5, 2.0], [10, 1.5]]", "[[5, 2.0], [2, 3.0]]"),
            "les jours en ordre croissant",
        ),
        (
            lambda t: t.replace("[[2, 3.0], [5, 2.0], [10, 1.5]]", "[[2, 0.5]]"),
            r"short_notice_factor : 0\.5 n'est pas accepté ; indiquez un nombre de 1 à 100\.",
        ),
        (lambda t: t.replace("displacement_hour = 1\n", "", 1), r"reshuffle\.weights\.displacement_hour manque"),
        (lambda t: t.replace("freeze_hours = 48", "freeze_hours = true"), "freeze_hours"),
        (lambda t: t.replace("minor_update = 250", "minor_update = -250"), "compensation_eur.minor_update"),
    ],
)
def test_a_broken_policy_is_refused_by_the_file_and_the_admin_page_alike(app, tmp_path, edit, message):
    path = tmp_path / "contract.toml"
    path.write_text(edit(FILE), encoding="utf-8")
    with pytest.raises(contract.ContractError, match=message):
        contract.load(path)
    with pytest.raises(contract_store.Invalid, match=message):
        contract_store.check(edit(FILE))


def test_versions_applied_before_the_policy_moved_are_given_the_one_they_used(tmp_path):
    url = f"sqlite:///{tmp_path / 'planner.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    old = without_reshuffle(FILE).replace("horizon_days = 60", "horizon_days = 30")
    with app.app_context():
        upgrade(revision="0018")
        db.session.execute(
            text("INSERT INTO contract_versions (text, created_at) VALUES (:t, :c)"), {"t": old, "c": NOW}
        )
        db.session.commit()
        upgrade()
        stored = db.session.execute(text("SELECT text FROM contract_versions")).scalar_one()
        db.engine.dispose()
    assert stored.startswith(old.rstrip("\n"))  # the admin's text is kept, comments included
    terms = contract.parse_text(stored, "stored")
    assert terms.policy.horizon_days == 30 and terms.reshuffle == contract.load().reshuffle
