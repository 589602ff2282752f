"""The back office (issue 15): consultants and their absences, the contract edited from a page, the audit
log, long lists in pages."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from html import unescape
from pathlib import Path

import pytest
from babel.dates import format_date
from flask_babel import force_locale
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from booking import contract
from booking.date_format import ordinal_pattern
from booking.extensions import db
from booking.labels import AUDIT_ACTIONS, AUDIT_OBJECTS
from booking.models import Absence, AuditEntry, Consultant, ContractVersion, User
from booking.services import availability, bookings, companies, consultants, contract_store
from booking.services.errors import Invalid
from booking.web import audit_details
from calendars.worktime import PARIS

from . import factories as f
from .dates import contract_start, working_day, working_days

PART_TIME = {
    "day0": "09:00-12:30, 14:00-18:00",
    "day1": "08:30-12:00",
    "day2": "",
    "day3": "",
    "day4": "",
    "day5": "",
    "day6": "",
}


def _planner(auth, role="planner"):
    user = f.user(role)
    db.session.commit()
    assert auth.login(user.email).status_code == 302
    return user


def test_a_planner_adds_a_part_time_consultant_whose_week_the_slots_follow(app, client, auth):
    _planner(auth)
    form = {
        "name": "Inès Partiel",
        "email": "ines@erplib.example",
        "skills": ["paie", "comptabilite"],
        "holiday_region": "57",
        "daily_cap": "4",
        **PART_TIME,
    }
    response = client.post("/planification/consultants/nouveau", data=form)
    assert response.status_code == 302
    created = db.session.scalar(select(Consultant).join(User).where(User.email == "ines@erplib.example"))
    assert created.working_pattern == {"0": [["09:00", "12:30"], ["14:00", "18:00"]], "1": [["08:30", "12:00"]]}
    assert created.skills == ["comptabilite", "paie"] and created.holiday_region == "57" and created.daily_cap == 4
    assert (
        db.session.scalar(
            select(AuditEntry.action).where(AuditEntry.object_id == created.id, AuditEntry.object_type == "consultant")
        )
        == "consultant.create"
    )
    company = f.company("serenite")
    db.session.commit()
    monday = next(d for d in working_days(15, 7) if d.weekday() == 0)
    start = datetime.combine(monday, datetime.min.time(), PARIS)
    found = availability.slots(
        "erplib", company, start, start + timedelta(days=7), datetime.now(UTC), consultant_id=created.id
    )
    assert found and {s.start.astimezone(PARIS).weekday() for s in found} <= {0, 1}
    assert all(s.start.astimezone(PARIS).hour < 12 for s in found if s.start.astimezone(PARIS).weekday() == 1)


def test_a_consultant_form_shows_its_values_and_errors_in_place_and_changes_nothing(app, client, auth):
    _planner(auth)
    consultant = f.consultant()
    db.session.commit()
    before = dict(consultant.working_pattern)
    form = {
        "name": "Nouveau nom",
        "skills": "comptabilite",
        "holiday_region": "",
        "daily_cap": "99",
        **PART_TIME,
        "day2": "14:00-13:00",
        "day3": "le matin",
    }
    response = client.post(f"/planification/consultants/{consultant.id}", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nouveau nom" in page and "le matin" in page and "14:00-13:00" in page  # values shown again
    assert "la fin doit suivre le début" in page and "écrivez des plages comme" in page
    assert 'aria-invalid="true"' in page
    db.session.refresh(consultant)
    assert consultant.working_pattern == before and consultant.name != "Nouveau nom"


def test_skills_are_checkboxes_of_the_known_skills_with_their_labels(app, client, auth):
    planner = _planner(auth)
    consultant = f.consultant(skills=("achats", "comptabilite"))
    db.session.commit()
    page = client.get(f"/planification/consultants/{consultant.id}").get_data(as_text=True)
    boxes = [unescape(m) for m in re.findall(r'<input[^>]*name="skills"[^>]*value="(\w+)"', page)]
    assert boxes == ["achats", "comptabilite", "installation", "logistique", "migration", "paie", "production"]
    assert re.search(r'checked[^>]*value="achats"|value="achats"[^>]*checked', page)
    assert not re.search(r'checked[^>]*value="paie"|value="paie"[^>]*checked', page)
    assert ">Comptabilité</label>" in page and "comptabilite, achats" not in page
    planner.locale = "en"
    db.session.commit()
    page = client.get(f"/planification/consultants/{consultant.id}").get_data(as_text=True)
    labels = re.findall(r'type="checkbox"[^>]*> <label for="skills-\d+">([^<]+)</label>', page)
    assert labels == sorted(labels) and {"Accounting", "Purchasing", "Payroll"} <= set(labels)


@pytest.mark.parametrize("locale, words", [("fr", "Compétence inconnue « accounting »"), ("en", "Unknown skill")])
def test_an_unknown_skill_is_refused_with_its_reason_and_changes_nothing(app, client, auth, locale, words):
    planner = _planner(auth)
    planner.locale = locale
    consultant = f.consultant(skills=("comptabilite",))
    db.session.commit()
    form = {"name": "Nouveau nom", "skills": ["accounting", "achats"], "holiday_region": "", "daily_cap": "4"}
    response = client.post(f"/planification/consultants/{consultant.id}", data={**form, **PART_TIME})
    assert response.status_code == 422
    assert words in unescape(response.get_data(as_text=True))
    db.session.refresh(consultant)
    assert consultant.skills == ["comptabilite"] and consultant.name != "Nouveau nom"
    with pytest.raises(Invalid) as refused:
        consultants.update(
            planner,
            consultant.id,
            name="X",
            skills=["Accounting"],
            holiday_region=None,
            working_pattern={"0": [["09:00", "12:00"]]},
            daily_cap=4,
            active=True,
        )
    assert refused.value.code == "unknown_skill" and refused.value.field == "skills"


def test_absences_are_edited_and_deleted_under_their_locks_with_their_conflicts(app, client, auth):
    _planner(auth)
    consultant = f.consultant()
    day = working_days(1, 10)[0]
    start = datetime.combine(day, datetime.min.time(), PARIS).replace(hour=9)
    booking = f.booking(consultant, start.replace(hour=14))
    absence = Absence(consultant=consultant, start_at=start, end_at=start.replace(hour=12, minute=30), reason="RDV")
    db.session.add(absence)
    db.session.commit()
    page = client.get(f"/planification/consultants/{consultant.id}").get_data(as_text=True)
    assert "Aucun rendez-vous concerné" in page
    url = f"/planification/consultants/{consultant.id}/absences/{absence.id}"
    seen = {"seen_start": absence.start_at.isoformat(), "seen_end": absence.end_at.isoformat()}
    local = start.strftime("%Y-%m-%dT")
    moved = {"start": local + "09:00", "end": local + "18:00", "reason": "Journée", **seen}
    assert client.post(url, data=moved).status_code == 302
    db.session.refresh(absence)
    assert absence.end_at == start.replace(hour=18) and absence.reason == "Journée"
    page = client.get(f"/planification/consultants/{consultant.id}").get_data(as_text=True)
    assert "1 rendez-vous confirmé tombe pendant cette absence" in page and booking.company.name in page
    assert f"/planification/consultants/{consultant.id}/reparer" in page  # the repair plan's way
    # a second edit from the page read before the first is refused: nothing overwritten
    stale = client.post(url, data={**moved, "end": local + "17:00"})
    assert stale.status_code == 409
    db.session.refresh(absence)
    assert absence.end_at == start.replace(hour=18)
    # an end before the start: 422, the values shown again
    wrong = client.post(
        url,
        data={
            **moved,
            "start": local + "18:00",
            "end": local + "09:00",
            "seen_start": absence.start_at.isoformat(),
            "seen_end": absence.end_at.isoformat(),
        },
    )
    assert wrong.status_code == 422 and "La fin de l'absence doit suivre son début" in unescape(
        wrong.get_data(as_text=True)
    )
    # delete: a second step first, then the post
    confirm = client.get(url + "/supprimer")
    assert confirm.status_code == 200 and "Oui, supprimer l'absence" in confirm.get_data(as_text=True)
    absence_id, consultant_id = absence.id, consultant.id
    assert db.session.get(Absence, absence_id) is not None
    assert client.post(url + "/supprimer").status_code == 302
    db.session.expunge_all()
    assert db.session.get(Absence, absence_id) is None
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_type == "consultant", AuditEntry.object_id == consultant_id)
    ).all()
    assert {"consultant.absence_update", "consultant.absence_delete"} <= set(actions)
    assert client.post(url + "/supprimer").status_code == 404  # gone


def _rules(**changes):
    terms = contract.load()
    form = {
        "source": "regles",
        **{
            name: getattr(terms.policy, name)
            for name in (
                "notice_hours",
                "horizon_days",
                "grid_minutes",
                "buffer_minutes",
                "cancel_cutoff_hours",
                "hold_minutes",
                "follow_up_hold_hours",
            )
        },
        "gate_hours": terms.service("minor_update").prerequisites_gate_hours,
    }
    form.update(changes)
    return form


def test_the_contract_rules_are_previewed_then_applied_audited_and_exported(app, client, auth):
    _planner(auth, "admin")
    preview = client.post("/admin/contrat/apercu", data=_rules(notice_hours=8))
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "-notice_hours = 4" in page and "+notice_hours = 8" in page
    assert db.session.scalar(select(func.count()).select_from(ContractVersion)) == 0  # a preview changes nothing
    text = contract_store.set_value(
        contract_store.normalise(open(contract.DEFAULT_FILE).read()), "booking", "notice_hours", 8
    )
    assert "notice_hours = 8           # business hours" in text  # the comment kept
    assert client.post("/admin/contrat/appliquer", data={"apply-text": text, "apply-based_on": ""}).status_code == 302
    version = db.session.scalar(select(ContractVersion))
    assert version is not None and version.text == text
    with app.test_request_context():
        assert contract.current().policy.notice_hours == 8
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contract.apply"))
    assert (
        "+notice_hours = 8           # business hours between now and the earliest bookable start"
        in entry.details["changes"]
    )
    exported = client.get("/admin/contrat/contrat.toml")
    assert exported.get_data(as_text=True) == text and "attachment" in exported.headers["Content-Disposition"]
    # applying against a version that is no longer the newest is refused
    again = contract_store.set_value(text, "booking", "horizon_days", 30)
    client.post("/admin/contrat/appliquer", data={"apply-text": again, "apply-based_on": ""})
    assert db.session.scalar(select(func.count()).select_from(ContractVersion)) == 1


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda t: t.replace('erplib = "billable", callback', 'erplib = "gratuit", callback', 1),
            'tiers.standard.services.erplib : "gratuit" n\'est pas accepté ; valeurs possibles : no, yes, billable',
        ),
        (
            lambda t: t.replace('bloquante = { acknowledge = "2h"', 'bloquante = { acknowledge = "2 heures"', 1),
            'bloquante.acknowledge : "2 heures" n\'est pas accepté ; indiquez une durée ouvrée',
        ),
        (
            lambda t: t.replace("erplib_hour = 120", "erplib_hour = -5", 1),
            "erplib_hour : -5 n'est pas accepté ; indiquez un prix en euros de 0 à 100000, avec au plus deux décimales",
        ),
        (
            lambda t: t.replace("grid_minutes = 15          #", "grid_minutes = 0          #", 1),
            "booking.grid_minutes : 0 n'est pas accepté ; indiquez un nombre entier de 5 à 240.",
        ),
        (lambda t: t + "\n[tiers.standard\n", "le texte n'est pas du TOML lisible, ligne 137, colonne 16"),
    ],
)
def test_an_invalid_contract_gets_the_file_loader_s_error_and_changes_nothing(
    app, client, auth, edit, message, tmp_path
):
    _planner(auth, "admin")
    text = edit(open(contract.DEFAULT_FILE, encoding="utf-8").read())
    response = client.post("/admin/contrat/apercu", data={"source": "texte", "text": text})
    assert response.status_code == 422
    page = unescape(response.get_data(as_text=True))
    assert message in page and "rien n'a changé" in page
    # the same error as the file's own loader
    path = tmp_path / "contract.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(contract.ContractError, match=message.replace("(", r"\(").replace(".", r"\.")):
        contract.load(path)
    client.post("/admin/contrat/appliquer", data={"apply-text": text, "apply-based_on": ""})
    assert db.session.scalar(select(func.count()).select_from(ContractVersion)) == 0


def test_rules_out_of_bounds_are_shown_in_place(app, client, auth):
    _planner(auth, "admin")
    response = client.post("/admin/contrat/apercu", data=_rules(grid_minutes=0, notice_hours="quatre"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="0"' in page and 'value="quatre"' in page and page.count('aria-invalid="true"') >= 2


GRID_REFUSED = {
    "fr": "Contrat refusé, rien n'a changé : booking.grid_minutes : une grille de 7 minutes ne divise pas l'heure, et les débuts ne tomberaient "
    "plus tous sur les heures pleines (9 h 00, 14 h 00). Choisissez 5, 6, 10, 12, 15, 20, 30 ou 60 minutes.",
    "en": "Contract refused, nothing changed: booking.grid_minutes: a 7-minute grid does not divide the hour, so starts would no longer all "
    "fall on the whole hours (9:00, 14:00). Choose 5, 6, 10, 12, 15, 20, 30 or 60 minutes.",
}


def _packaged_text() -> str:
    return contract_store.normalise(contract.DEFAULT_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_a_start_grid_that_does_not_divide_the_hour_is_refused_beside_its_field(app, client, auth, locale):
    """A 7-minute grid passes the bounds (5-60) but would put starts at 09:06, 09:13…: the contract's own check
    refuses it, in the admin's language, beside the field; nothing is previewed or applied."""
    admin = f.user("admin", locale=locale)
    db.session.commit()
    auth.login(admin.email)
    response = client.post("/admin/contrat/apercu", data=_rules(grid_minutes=7))
    assert response.status_code == 422
    page = unescape(response.get_data(as_text=True))
    grid = re.search(r'<input[^>]*name="grid_minutes"[^>]*>', page)[0]
    assert 'value="7"' in grid and 'aria-invalid="true"' in grid and 'aria-describedby="grid_minutes-errors"' in grid
    assert f'<span class="error" id="grid_minutes-errors">{GRID_REFUSED[locale]}</span>' in page
    assert 'data-testid="diff"' not in page and page.count('aria-invalid="true"') == 1
    # posted straight to the apply step, the same text is refused as well: no version, the grid in force unchanged
    text = contract_store.set_value(_packaged_text(), "booking", "grid_minutes", 7)
    client.post("/admin/contrat/appliquer", data={"apply-text": text, "apply-based_on": ""})
    assert db.session.scalar(select(func.count()).select_from(ContractVersion)) == 0
    with app.test_request_context():
        assert contract.current().policy.grid_minutes == 15


def test_the_grid_refusal_carries_its_code_for_any_caller(app):
    """The one check (contract_store.check) that the page, and any API editing the contract, goes through:
    problem+json would carry 422 and `invalid_grid`, the text form the same sentence."""
    with pytest.raises(Invalid) as refused:
        contract_store.check(contract_store.set_value(_packaged_text(), "booking", "grid_minutes", 7))
    assert (refused.value.status, refused.value.code, refused.value.field) == (422, "invalid_grid", "grid_minutes")
    assert refused.value.message == GRID_REFUSED["fr"]
    with pytest.raises(Invalid) as other:
        contract_store.check(contract_store.set_value(_packaged_text(), "booking", "notice_hours", -1))
    assert (other.value.code, other.value.field) == ("invalid_contract", "notice_hours")  # beside its field too


@pytest.mark.parametrize("minutes", [20, 30])
def test_a_start_grid_that_divides_the_hour_is_applied_and_the_slots_start_at_the_opening(app, client, auth, minutes):
    _planner(auth, "admin")
    preview = client.post("/admin/contrat/apercu", data=_rules(grid_minutes=minutes))
    assert preview.status_code == 200
    page = unescape(preview.get_data(as_text=True))
    assert "-grid_minutes = 15" in page and f"+grid_minutes = {minutes}" in page
    text = unescape(re.search(r'name="apply-text"[^>]*value="([^"]*)"', preview.get_data(as_text=True))[1])
    assert client.post("/admin/contrat/appliquer", data={"apply-text": text, "apply-based_on": ""}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ContractVersion)) == 1
    f.consultant()
    company = f.company("standard")
    db.session.commit()
    day = working_day()
    with app.test_request_context():
        assert contract.current().policy.grid_minutes == minutes
        start, end = availability.local_range(day, day)
        found = availability.slots("erplib", company, start, end, datetime.now(UTC))
    starts = [s.start.astimezone(PARIS).strftime("%H:%M") for s in found]
    assert starts[:3] == ["09:00", f"09:{minutes:02d}", f"{9 + 2 * minutes // 60:02d}:{2 * minutes % 60:02d}"]
    assert "14:00" in starts


def test_the_audit_log_is_searched_by_company_booking_user_and_day(app, client, auth):
    planner = _planner(auth)
    consultant, second = f.consultant(), f.consultant()
    mine, other = f.company(name="Alpha"), f.company(name="Beta")
    when = datetime.now(UTC) + timedelta(days=20)
    b1, b2 = f.booking(consultant, when, company=mine), f.booking(second, when, company=other)
    old = datetime(2026, 3, 2, 10, tzinfo=UTC)
    db.session.add_all(
        [
            AuditEntry(
                actor_id=planner.id, action="booking.cancel", object_type="booking", object_id=b1.id, details={}, at=old
            ),
            AuditEntry(
                actor_id=None,
                action="booking.confirm",
                object_type="booking",
                object_id=b2.id,
                details={},
                at=old + timedelta(days=3),
            ),
        ]
    )
    db.session.commit()

    def rows(**args):
        response = client.get("/planification/journal/", query_string=args)
        assert response.status_code == 200
        return response.get_data(as_text=True).count('<td data-label="Action">')

    assert rows(entreprise=mine.id) == 1 and rows(entreprise=other.id) == 1
    assert rows(rdv=b2.id) == 1 and rows(utilisateur=planner.id) == 1
    assert rows(du="2026-03-04", au="2026-03-31") == 1 and rows(du="2026-03-01", au="2026-03-02") == 1
    assert client.get("/planification/journal/", query_string={"du": "hier"}).status_code == 400


@pytest.mark.parametrize(
    "locale, label, other",
    [("fr", "Rendez-vous confirmé", "Booking confirmed"), ("en", "Booking confirmed", "confirmé")],
)
def test_the_audit_log_names_actions_in_the_readers_language_and_keeps_the_code(
    app, client, auth, locale, label, other
):
    contact = f.user("client", f.company(contract_start=contract_start()))
    f.consultant()
    db.session.commit()
    bookings.book(contact, "erplib", datetime.combine(working_day(), time(10), PARIS), datetime.now(UTC))
    db.session.add(AuditEntry(action="future.action", object_type="booking", details={}))  # a code with no label yet
    planner = f.user("planner", locale=locale)
    db.session.commit()
    assert auth.login(planner.email).status_code == 302
    page = unescape(client.get("/planification/journal/").get_data(as_text=True))
    assert (
        f'<td data-label="Action">{label}<div><small class="muted"><code>booking.confirm</code></small></div>' in page
    )
    assert other not in page
    assert '<td data-label="Action">future.action</td>' in page  # shown as its code, once


# Codes built from a variable, and the values it takes (bookings.record_outcome, interventions.set_notes).
BUILT_ACTIONS = {
    "f'booking.{outcome}'": ("booking.completed", "booking.no_show"),
    "f'booking.{field}'": ("booking.analysis_notes", "booking.version_changes"),
}


def _codes(node: ast.expr) -> list[str]:
    """The codes an action argument may be: a string, either branch of `a if c else b`, a listed f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _codes(node.body) + _codes(node.orelse)
    return list(BUILT_ACTIONS.get(ast.unparse(node), [f"unknown code {ast.unparse(node)}: add it to BUILT_ACTIONS"]))


def _recorded_actions() -> dict[str, str]:
    """Every action the code writes to the log, read from the source: audit.record(actor, ACTION, …) and
    AuditEntry(action=ACTION) (holds.expire writes rows itself); code → where."""
    found = {}
    for path in sorted((Path(__file__).resolve().parents[1] / "booking").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func, keywords = node.func, {k.arg: k.value for k in node.keywords}
            if isinstance(func, ast.Attribute) and func.attr == "record" and getattr(func.value, "id", None) == "audit":
                action = node.args[1] if len(node.args) > 1 else keywords["action"]
            elif getattr(func, "id", None) == "AuditEntry" and "action" in keywords:
                action = keywords["action"]
            else:
                continue
            for code in _codes(action):
                found.setdefault(code, f"{path.name}:{node.lineno}")
    return found


def test_every_recorded_action_has_a_label():
    """A new audit action without a label in booking/labels.py's AUDIT_ACTIONS fails here."""
    recorded = _recorded_actions()
    assert {"booking.confirm", "booking.hold_expired", "booking.no_show", "priority.refuse"} <= set(recorded)
    assert len(recorded) >= 50
    assert {code: at for code, at in recorded.items() if code not in AUDIT_ACTIONS} == {}


def test_every_object_label_names_a_model():
    """The journal's object labels are keyed by `type(obj).__name__.lower()` (services/audit.py): no typo."""
    models = {mapper.class_.__name__.lower() for mapper in db.Model.registry.mappers}
    assert set(AUDIT_OBJECTS) <= models
    assert {"booking", "company", "consultant", "user", "apitoken", "webhooksubscription"} <= set(AUDIT_OBJECTS)


def _journal(client, auth, user) -> str:
    assert auth.login(user.email).status_code == 302
    response = client.get("/planification/journal/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _details(page: str, code: str) -> str:
    """The Details cell of the row whose Action cell shows the action `code`."""
    row = next(r for r in page.split("<tr>") if f"<code>{code}</code>" in r)
    return row[row.index('class="details"') :]


@pytest.mark.parametrize(
    "locale, heading, thing, service, start",
    [
        ("fr", "Objet", "Rendez-vous n°", "<dt>Prestation</dt><dd>Session ERP-Lib (45 min)</dd>", "Début"),
        ("en", "Subject", "Booking no.", "<dt>Service</dt><dd>ERP-Lib session (45 min)</dd>", "Start"),
    ],
)
def test_the_journal_writes_a_confirmed_and_a_moved_booking_for_the_reader(
    app, client, auth, locale, heading, thing, service, start
):
    """The object in words, linked to the booking's page; the details labelled, in Paris time with the year,
    the service by its name and the consultant by theirs; a move as before → after."""
    contact = f.user("client", f.company(contract_start=contract_start()))
    consultant = f.consultant()
    consultant.user.name = "Camille Martin"
    planner = f.user("planner", locale=locale)
    db.session.commit()
    first, second = working_days(2)
    booking = bookings.book(contact, "erplib", datetime.combine(first, time(10), PARIS), datetime.now(UTC))
    bookings.reschedule(planner, booking, datetime.combine(second, time(14, 15), PARIS), datetime.now(UTC))
    db.session.commit()

    page = _journal(client, auth, planner)
    href = f"/planification/rendez-vous/{booking.id}"
    link = f'<td data-label="{heading}" class="object"><a href="{href}">{thing}\xa0{booking.id}</a></td>'
    assert page.count(link) == 2
    day = {d: format_date(d, ordinal_pattern("d MMM yyyy", d.day, locale), locale=locale) for d in (first, second)}
    confirm = _details(page, "booking.confirm")
    assert service in confirm and f"<dt>{start}</dt><dd>{day[first]} 10:00</dd>" in confirm
    assert "<dt>Consultant</dt><dd>Camille Martin</dd>" in confirm
    moved = _details(page, "booking.reschedule")
    before, after = ("Avant", "Après") if locale == "fr" else ("Before", "After")
    assert f"<dt>{before}</dt><dd>{day[first]} 10:00 · Camille Martin</dd>" in moved
    assert f"<dt>{after}</dt><dd>{day[second]} 14:15 · Camille Martin</dd>" in moved
    assert "erplib" not in confirm and "+00:00" not in page and "booking n°" not in page


@pytest.mark.parametrize(
    "locale, name, version", [("fr", "Nom", "Version de l&#39;ERP"), ("en", "Name", "ERP version")]
)
def test_the_journal_writes_a_company_edit_one_field_a_line_escaped_once(app, client, auth, locale, name, version):
    """`&` in a name reads `&` (escaped once by Jinja: `&amp;`), never `\\u0026`; an empty note is a dash."""
    admin = f.user("admin", locale=locale)
    company = f.company(name="Menuiserie Dupuis", erp_version="12.1", environments=["production"])
    db.session.commit()
    data = companies.CompanyData(
        name="Menuiserie Dupuis & Fils",
        erp_version="12.2",
        environments=["test", "production"],
        notes="Ouvert le samedi",
        contract_start=company.contract_start,
    )
    companies.edit(admin, company, data)
    db.session.commit()

    page = _journal(client, auth, admin)
    details = _details(page, "company.update")
    assert f"<dt>{name}</dt><dd>Menuiserie Dupuis → Menuiserie Dupuis &amp; Fils</dd>" in details
    assert f"<dt>{version}</dt><dd>12.1 → 12.2</dd>" in details
    assert "<dd>— → Ouvert le samedi</dd>" in details
    assert "\\u0026" not in page and "&amp;amp;" not in page and "changed" not in details
    object_cell = "Entreprise n°" if locale == "fr" else "Company no."
    assert f"{object_cell}\xa0{company.id}</td>" in page


_ODD_STRINGS = (
    "2026-12-14T08:15:00+00:00",
    "2026-12-14T08:15:00Z",
    "2026-13-45T08:15:00+00:00",  # looks like an instant, is none
    "2026-02-30",
    "9999-12-31T23:59:59+00:00",  # no Paris time for it
    "0001-01-01T00:00:00+23:59",
    "c7",
    "cx",
    "erplib",
    "confort",
    "1E+999999",
    "NaN",
    "",
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(_ODD_STRINGS),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from([*audit_details.KEYS, "changed", "from", "to"]) | st.text(max_size=6), inner, max_size=4
        )
        | st.fixed_dictionaries({"from": inner, "to": inner})
    ),
    max_leaves=16,
)


@given(st.sampled_from([*sorted(AUDIT_ACTIONS), "future.action"]), _JSON)
def test_the_journal_details_never_fail_on_any_json(action, details):
    """Whatever a caller stored (or a later version reads), the details come out as lines of text."""
    with _bare_app().test_request_context():
        names = audit_details.Names({"consultant": {7: "Camille Martin"}, "user": {1: "Paul"}})
        names.contract = contract.load(contract.file_path())  # this app has no database
        for locale in ("fr", "en"):
            with force_locale(locale):
                found = audit_details.lines(action, details, names)
                assert all(isinstance(label, str) and isinstance(text, str) for label, text in found)


def _many(consultants, company, first: datetime, count: int, **kw):
    """`count` bookings, 45 minutes apart on each consultant in turn, from `first`."""
    made = []
    for n in range(count):
        made.append(
            f.booking(
                consultants[n % len(consultants)], first + timedelta(hours=n // len(consultants)), company=company, **kw
            )
        )
    return made


def test_mes_rendez_vous_come_a_page_at_a_time_next_first_with_filters_in_the_address(app, client, auth):
    company = f.company("serenite")
    contact = f.user("client", company)
    consultants = [f.consultant(), f.consultant()]
    start = datetime.combine(working_days(1, 10)[0], datetime.min.time(), PARIS).replace(hour=9)
    ahead = _many(consultants, company, start, 130)
    past = _many(consultants, company, start - timedelta(days=40), 6, status="completed")
    cancelled = _many(consultants, company, start + timedelta(days=60), 3, status="cancelled")
    f.booking(f.consultant(), start, company=f.company())  # another company's: never listed
    db.session.commit()
    assert auth.login(contact.email).status_code == 302

    def ids(**args):
        response = client.get("/portail/rendez-vous", query_string=args)
        assert response.status_code == 200, response.status_code
        page = response.get_data(as_text=True)
        return [
            int(part.split('"')[0])
            for part in page.split('href="/portail/rendez-vous/')[1:]
            if part.split('"')[0].isdigit()
        ]

    by_start = sorted(ahead, key=lambda b: (b.start_at, b.id))
    first = ids()
    assert first == [b.id for b in by_start[:25]]  # upcoming, next first
    assert ids(page=6) == [b.id for b in by_start[125:]]
    assert ids(page=999) == ids(page=6)  # past the end: the last page
    assert ids(quand="passes") == [b.id for b in sorted(past, key=lambda b: (b.start_at, b.id), reverse=True)]
    assert set(ids(quand="annules")) == {b.id for b in cancelled}
    assert ids(ordre="recents", page=1)[0] == by_start[-1].id
    assert ids(prestation="callback") == []
    page = client.get("/portail/rendez-vous", query_string={"quand": "passes", "page": 1}).get_data(as_text=True)
    assert "6 lignes" in page
    more = client.get("/portail/rendez-vous").get_data(as_text=True)
    assert 'href="/portail/rendez-vous?page=2"' in more and "130 lignes" in more
    assert 'href="/portail/rendez-vous?quand=a-venir&amp;ordre=recents&amp;page=2"' in client.get(
        "/portail/rendez-vous", query_string={"quand": "a-venir", "ordre": "recents"}
    ).get_data(as_text=True)
    assert client.get("/portail/rendez-vous", query_string={"quand": "demain"}).status_code == 400


def test_the_planner_s_three_days_and_lists_never_stop_silently(app, client, auth):
    _planner(auth)
    consultants = [f.consultant() for _ in range(6)]
    company, other = f.company(name="Alpha"), f.company(name="Beta")
    now = datetime.now(UTC)
    first = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    made = _many(consultants, company, first, 60) + _many(consultants, other, first + timedelta(hours=11), 6)
    db.session.commit()
    today = now.astimezone(PARIS).date()
    within = sorted(
        (b for b in made if b.start_at.astimezone(PARIS).date() <= today + timedelta(days=2)),
        key=lambda b: (b.start_at, b.id),
    )
    home = client.get("/planification/").get_data(as_text=True)
    assert f"{len(within)} lignes" in home and "page=2" in home
    rows = client.get("/planification/rendez-vous", query_string={"entreprise": other.id}).get_data(as_text=True)
    assert rows.count('<td data-label="Client">Beta</td>') == 6 and "Alpha</td>" not in rows
    one = client.get("/planification/rendez-vous", query_string={"consultant": consultants[0].id}).get_data(
        as_text=True
    )
    assert one.count(f'<td data-label="Consultant">{consultants[0].name}</td>') == 11
    assert client.get("/planification/rendez-vous", query_string={"entreprise": "x"}).status_code == 400
    lines = client.get("/planification/facturation/lignes")
    assert lines.status_code == 200


def test_a_contract_applied_by_one_worker_is_in_force_in_another_at_its_next_transaction(pg_app):
    """Two apps on one PostgreSQL database stand for two gunicorn workers (or a worker and the scheduler)."""
    from booking import create_app

    admin = f.user("admin")
    db.session.commit()
    other = create_app({**pg_app.config, "SQLALCHEMY_DATABASE_URI": str(db.engine.url.render_as_string(False))})
    with other.app_context():
        assert contract.current().policy.horizon_days == 60  # the file
        db.session.commit()
    text = contract_store.set_value(contract_store.text_in_force(), "booking", "horizon_days", 30)
    with pg_app.test_request_context():
        contract_store.apply(admin, text, None, datetime.now(UTC))
    with other.app_context():
        assert contract.current().policy.horizon_days == 30
        db.engine.dispose()
    with pg_app.test_request_context(), pytest.raises(Exception, match="modifié entre-temps"):
        contract_store.apply(
            admin, text.replace("horizon_days = 30", "horizon_days = 20"), None, datetime.now(UTC)
        )  # based on the file, but version 1 is in force now


@given(st.lists(st.integers(), max_size=120), st.integers(1, 30))
def test_the_pages_of_a_list_are_the_list(items, size):
    from booking.services.pages import slice_page

    first = slice_page(items, 1, size)
    seen = [x for n in range(1, first.pages + 1) for x in slice_page(items, n, size).items]
    assert seen == items and first.total == len(items)
    assert slice_page(items, first.pages + 5, size).items == slice_page(items, first.pages, size).items
    assert slice_page(items, -3, size).number == 1


@lru_cache(maxsize=1)
def _bare_app():
    """An app for the labels' locale only (no database is touched)."""
    from booking import create_app

    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


@given(
    st.dictionaries(
        st.sampled_from([str(d) for d in range(7)]),
        st.sampled_from([[["09:00", "12:30"]], [["09:00", "12:30"], ["14:00", "18:00"]], [["08:30", "12:00"]]]),
        min_size=1,
    )
)
def test_a_week_summary_names_every_working_day_once_with_its_hours(pattern):
    from booking.web.consultants import WEEKDAYS, week_summary

    with _bare_app().test_request_context():
        summary = week_summary(pattern)
        days = []
        for label, hours in summary:
            names = [str(w) for w in WEEKDAYS]
            ends = [names.index(part) for part in label.split(" – ")]
            days += [(d, hours) for d in range(ends[0], ends[-1] + 1)]
        assert days == [(int(d), ", ".join(f"{a}-{b}" for a, b in pattern[d])) for d in sorted(pattern)]


SPRING_2027 = "2027-03-28"  # the last Sunday of March: the clocks go from 02:00 to 03:00, 02:30 does not exist


def test_an_absence_at_a_time_the_spring_clock_change_skips_is_refused_with_the_reason(app, client, auth):
    """02:30–03:30 that day began as it ended (02:30 is taken an hour later): the database's check failed (a 500)."""
    import time_machine

    with time_machine.travel(datetime(2026, 12, 2, 9, tzinfo=UTC), tick=False):
        _planner(auth)
        consultant = f.consultant()
        start = datetime.combine(date(2026, 12, 9), time(9), PARIS)
        absence = Absence(consultant=consultant, start_at=start, end_at=start.replace(hour=12))
        db.session.add(absence)
        db.session.commit()
        gap = {"start": f"{SPRING_2027}T02:30", "end": f"{SPRING_2027}T03:30", "reason": "Nuit"}
        declared = client.post("/planification/absences", data={"consultant": consultant.id, **gap})
        seen = {"seen_start": absence.start_at.isoformat(), "seen_end": absence.end_at.isoformat()}
        edited = client.post(f"/planification/consultants/{consultant.id}/absences/{absence.id}", data={**gap, **seen})
    for answer in (declared, edited):
        assert answer.status_code == 422
        assert "02:30 n'existe pas le 28 mars 2027" in unescape(answer.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(Absence)) == 1
    with pytest.raises(Invalid):  # the service compares instants, whatever the page sends
        consultants.check_span(
            datetime.fromisoformat(f"{SPRING_2027}T02:30").replace(tzinfo=PARIS),
            datetime.fromisoformat(f"{SPRING_2027}T03:30").replace(tzinfo=PARIS),
        )


def test_a_consultant_named_only_with_spaces_is_refused_and_a_name_is_kept_trimmed(app, client, auth):
    _planner(auth)
    form = {"email": "blank@erplib.example", "skills": ["paie"], "holiday_region": "", "daily_cap": "4", **PART_TIME}
    refused = client.post("/planification/consultants/nouveau", data={**form, "name": "   "})
    assert refused.status_code == 422 and "Indiquez le nom de la personne." in unescape(refused.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(Consultant)) == 0
    assert client.post("/planification/consultants/nouveau", data={**form, "name": "  Inès  "}).status_code == 302
    assert db.session.scalar(select(User.name).where(User.email == "blank@erplib.example")) == "Inès"


def test_a_role_change_asks_once_more_then_closes_the_person_s_sessions(app, client, auth):
    _planner(auth, "admin")
    planner = f.user("planner", name="Paule Plan")
    db.session.commit()
    address = f"/admin/utilisateurs/{planner.id}/role"
    asked = unescape(client.post(address, data={"role": "admin"}).get_data(as_text=True))
    assert "Paule Plan devient administrateur ; ses sessions ouvertes sont fermées" in asked
    assert 'name="confirmed" type="hidden" value="1"' in asked
    db.session.refresh(planner)
    assert planner.role == "planner"  # the question changes nothing
    client.post(address, data={"role": "admin", "confirmed": "1"})
    db.session.refresh(planner)
    assert planner.role == "admin"
    odd = unescape(client.post(address, data={"role": "client"}, follow_redirects=True).get_data(as_text=True))
    assert "devient" not in odd  # refused at once, with the service's reason, rather than asked
    db.session.refresh(planner)
    assert planner.role == "admin"
