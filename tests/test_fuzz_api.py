"""Schemathesis against /api/v1/openapi.json: generated requests, a bounded number per operation;
no 5xx, and every response conforms to the document (status, content type, body schema).
Then the web pages, from the URL map: each hostile kind of value in each field a view reads, and hypothesis
over paths, queries and forms; no 5xx, ever. On SQLite and PostgreSQL (which refuses NUL bytes and big ints)."""

from __future__ import annotations

import inspect
import re
import sys
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

import pytest
import schemathesis
import time_machine
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from werkzeug.routing import IntegerConverter
from wtforms.fields.core import UnboundField

from booking.extensions import db
from booking.models import ExternalCalendar, PriorityRequest
from booking.services import tokens
from calendars.worktime import PARIS

from . import factories as f
from .dates import working_days

# What the document promises. Left out: positive_data_acceptance, since schema-valid requests may still
# break a business rule (an end before the start, a slot already taken) and get a documented 409/422.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
    checks.ignored_auth,
]


@pytest.fixture
def api_schema(any_app):
    company = f.company()
    contact = f.user("client", company)
    consultant = f.consultant(skills=("comptabilite", "installation"))
    for day in working_days(3, after=10):  # bookings to read back: working days, whatever today is
        f.booking(consultant, datetime.combine(day, clock(10), PARIS), company=company)
    any_app.config["FUZZ_TOKEN"] = tokens.create(contact, "fuzz")
    db.session.commit()

    def isolated(environ, start_response):
        """Each request in its own app context and database session, as under gunicorn."""
        db.session.rollback()
        with any_app.app_context():
            return list(any_app.wsgi_app(environ, start_response))

    any_app.config["FUZZ_APP"] = isolated
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", isolated)


def test_api_answers_generated_requests_as_documented(api_schema, any_app):
    headers = {"Authorization": f"Bearer {any_app.config['FUZZ_TOKEN']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def conforms(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()


# --- The web pages: every route of the URL map, with the query and form fields its view reads -----------------
NOW = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)  # a Wednesday: the world's bookings sit around it
# The kinds of input that gave a 500 (issue 13, item 7), each put in one field while the others are plausible.
# Every field gets a NUL byte, an oversized text, a far date and a huge number (a view may read any field as one
# of those); a field whose plausible value is a date, a month or an instant gets every out-of-range date too, a
# number field every out-of-range number, and a field of unknown kind all of them.
EVERY = ["a\x00b", "x" * 3000, "9999-12-31", "9" * 30]
DATES = [
    "0001-01-01",
    "0001-01",
    "9999-12",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "0001-01-01T00:00:00+14:00",
]
NUMBERS = ["2147483648", "-2147483649"]
SWEEP = EVERY + DATES + NUMBERS
# The kinds of the fields that have no plausible value below (sent as "x"); any other field gets all of SWEEP.
KINDS = {
    "dates": {"contract_start", "starts_on", "seen_start", "seen_end", "jour", "du", "au", "day"},
    "numbers": {
        *("privileged_consultant_id", "daily_cap", "sequence", "delivery_id", "consultant", "buffer_minutes"),
        *("cancel_cutoff_hours", "follow_up_hold_hours", "gate_hours", "grid_minutes", "hold_minutes"),
        *("horizon_days", "notice_hours", "plan_id", "billable_minutes", "period_id", "token_id", "nb_mois"),
        *("semaines", "message_id", "lifetime", "entreprise", "rdv", "utilisateur", "company", "rappels"),
        "based_on",
    },
    "text": {
        *("confirm", "active", "tier", "main_contact", "environments", "erp_version", "events", "holiday_region"),
        *("skills", "text", "role", "current", "new", "agreement", "cancel_bookings", "note"),
        *("keep_previous", "file", "passees", "source", "rappels", "etat", "service", "confirmed", "time", "main"),
        *(f"day{n}" for n in range(7)),
    },
}
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
VALUE = st.one_of(
    st.sampled_from(SWEEP + ["", " ", "-1", "0", "NaN", "1e999", "2027-02-30", "<b>", "é" * 300]),
    TEXT,
    st.integers(-(2**64), 2**64).map(str),
    st.dates().map(date.isoformat),
    st.datetimes().map(lambda d: d.isoformat(timespec="minutes")),
)
# A plausible value for each field the pages read, so that the one hostile field is the one that gets read.
PLAUSIBLE = {
    "semaine": "2027-03-15",
    "mois": "2027-03",
    "ticket": "TCK-1",
    "priorite": "majeure",
    "ouvert": "2027-03-10T09:00",
    "start": "2027-03-18T10:00:00+01:00",
    "end": "2027-03-18T12:00:00+01:00",
    "reason": "Formation",
    "skill": "comptabilite",
    "amount": "2",
    "unit": "days",
    "description": "Urgent",
    "outcome": "completed",
    "code": "backup",
    "done": "1",
    "notes": "RAS",
    "changes": "RAS",
    "environment": "production",
    "email": "nobody@test.example",
    "name": "Nouveau",
    "password": "x" * 12,
    "label": "Perso",
    "url": "",
    "next": "/",
    "page": "1",
    "statut": "failed",
    "decision": "refuse",
}
PATH = {"kind": "erplib", "code": "fr", "month": "2027-03", "token": "x", "filename": "app.css"}
# Fields read through request.form / .args / .files (or a local `form = request.form`), in quotes.
FIELD = re.compile(r'(?:request\.(?:form|args|files)|\bform)(?:\.get\(|\[)\s*"([^"]+)"')
SKIPPED = {"static", "api-docs.openapi_json"}  # static files; the API has its own run above


def _fields(view) -> list[str]:
    """The fields a view reads: in its own code, the module's functions it calls, and the WTForms it builds."""
    module = sys.modules[view.__module__]
    todo, seen, names = [inspect.unwrap(view)], set(), set()
    while todo:
        function = todo.pop()
        if function in seen:
            continue
        seen.add(function)
        source = inspect.getsource(function)
        names |= set(FIELD.findall(source))
        for called in set(re.findall(r"\b(\w+)\(", source)):
            target = getattr(module, called, None)
            if inspect.isfunction(target) and target.__module__ == module.__name__:
                todo.append(target)
            elif isinstance(target, type) and issubclass(target, FlaskForm):
                names |= {n for k in target.__mro__ for n, v in vars(k).items() if isinstance(v, UnboundField)}
    return sorted(names - {"csrf_token", "submit"})


@pytest.fixture
def web_world(any_app):
    """A client, consultant, planner and admin, each with a signed-in test client; objects to aim at."""
    any_app.config["RATELIMIT_BOOKING"] = "100000/minute"  # the limit is not under test: every request reaches its view
    with time_machine.travel(NOW, tick=False):
        company = f.company()
        consultant = f.consultant()
        users = {
            "client": f.user("client", company),
            "consultant": consultant.user,
            "planner": f.user("planner"),
            "admin": f.user("admin"),
        }
        past = f.booking(consultant, NOW - timedelta(days=1), company=company)  # an outcome to record
        held = f.booking(
            consultant,
            NOW + timedelta(days=8),
            company=company,
            status="held",
            hold_expires_at=NOW + timedelta(hours=1),
        )
        f.booking(
            consultant, NOW + timedelta(days=15), minutes=120, company=company, kind="minor_update", status="cancelled"
        )  # cancelled: an absence fuzzed over it never starts a background repair
        request_ = PriorityRequest(
            company=company,
            requester_id=users["client"].id,
            skill="comptabilite",
            amount=1,
            unit="days",
            status="refused",
        )
        calendar = ExternalCalendar(consultant_id=consultant.id, label="Perso")
        db.session.add_all([request_, calendar])
        db.session.commit()
        clients = {None: any_app.test_client()}
        for role, user in users.items():
            clients[role] = any_app.test_client()
            assert clients[role].post("/login", data={"email": user.email, "password": f.PASSWORD}).status_code == 302
        ids = {
            "booking_id": held.id,
            "company_id": company.id,
            "request_id": request_.id,
            "calendar_id": calendar.id,
            "plan_id": 1,
            "token_id": 1,
        }
        yield {
            "clients": clients,
            "ids": ids,
            "all_ids": [past.id, *ids.values()],
            "plausible": {**PLAUSIBLE, "consultant": str(consultant.id)},
        }


def _routes(app):
    """(rule, method, client role, fields) of every page route."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in SKIPPED or rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, getattr(view, "allowed_roles", (None,))[0], _fields(view)


def _send(world, rule, method, role, values, fields):
    """One request; a description of it when it answers 5xx."""
    url = rule.build(values, append_unknown=False)[1]
    try:
        with time_machine.travel(NOW, tick=False):
            response = world["clients"][role].open(
                url, method=method, query_string=fields, data=fields if method == "POST" else None
            )
    except Exception as error:  # TESTING lets a view's exception through: under gunicorn it is a 500
        return f"{method} {url} {str(fields)[:200]}: {type(error).__name__}: {str(error)[:200]}"
    if response.status_code >= 500:
        return f"{method} {url} {str(fields)[:200]}: {response.status_code}"
    return None


def _path(world, rule, override=None) -> dict:
    values = {
        name: world["ids"].get(name, 1) if isinstance(rule._converters[name], IntegerConverter) else PATH.get(name, "x")
        for name in rule.arguments
    }
    return {**values, **(override or {})}


def _hostile(name: str, plausible: str | None) -> list[str]:
    """The sweep's values for a field, by its kind or that of its plausible value."""
    if name in KINDS["dates"]:
        return EVERY + DATES
    if name in KINDS["numbers"]:
        return EVERY + NUMBERS
    if name in KINDS["text"]:
        return EVERY
    if plausible is None:
        return SWEEP
    if re.fullmatch(r"\d{4}-\d{2}(-\d{2}(T.*)?)?", plausible):
        return EVERY + DATES
    if plausible.isdigit():
        return EVERY + NUMBERS
    return EVERY


SWEEP_PARTS = 4  # the sweep's routes in four tests (every fourth route each), which the test workers share


@pytest.mark.parametrize("part", range(SWEEP_PARTS))
def test_pages_refuse_each_hostile_value_without_a_server_error(any_app, web_world, part):
    """Each kind of hostile value, in each field a view reads and in each path argument, one at a time."""
    failures, sent = [], 0
    for rule, method, role, fields in list(_routes(any_app))[part::SWEEP_PARTS]:
        plausible = {name: web_world["plausible"].get(name, "x") for name in fields}
        variants = [
            (_path(web_world, rule), {**plausible, name: value})
            for name in fields
            for value in _hostile(name, web_world["plausible"].get(name))
        ]
        for name in rule.arguments:
            hostile = [2**31, 2**63] if isinstance(rule._converters[name], IntegerConverter) else SWEEP
            variants += [(_path(web_world, rule, {name: value}), plausible) for value in hostile]
        for values, form in variants:
            failures.append(_send(web_world, rule, method, role, values, form))
            sent += 1
    assert sent > 400 // SWEEP_PARTS
    assert not any(failures), "\n".join(filter(None, failures))


@pytest.mark.parametrize("part", range(SWEEP_PARTS))
def test_pages_answer_generated_values_without_a_server_error(any_app, web_world, part):
    """Hypothesis over every page route: ids, words and text of every kind in the path, the query and the form
    (every fourth route in each part, as the sweep above)."""
    ids = st.one_of(st.sampled_from(web_world["all_ids"]), st.integers(0, 2**64))
    words = st.one_of(st.sampled_from(["erplib", "callback", "minor_update", "fr", "2027-03", "x"]), VALUE)
    failures, routes = [], 0
    for rule, method, role, fields in list(_routes(any_app))[part::SWEEP_PARTS]:
        routes += 1
        path = st.fixed_dictionaries(
            {name: ids if isinstance(rule._converters[name], IntegerConverter) else words for name in rule.arguments}
        )

        @given(values=path, form=st.fixed_dictionaries({}, optional={name: VALUE for name in fields}))
        @settings(
            max_examples=10, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        def no_server_error(values, form):
            # run at once, inside this iteration: the loop variables are the ones meant
            assert _send(web_world, rule, method, role, values, form) is None  # noqa: B023

        try:
            no_server_error()
        except AssertionError as error:
            failures.append(str(error).splitlines()[0][:400])
    assert routes > 40 // SWEEP_PARTS
    assert not failures, "\n".join(failures)
