"""The authorisation matrix: every route of the portal and the API, for every role, against its own
company's objects and another company's, generated from the URL map.

Expected cell, from the view's declared roles and the route's arguments:
- no login: pages redirect to the login form, the API answers 401;
- a role the route does not admit: 403;
- an admitted client or consultant asking for another company's (or another consultant's) object: 404,
  never a 403 that would confirm the object exists; staff see every company;
- otherwise GET answers 200, and a POST is accepted past authorisation (no 401/403/404, no 5xx).
A new route fails this test until its arguments have sample values and its view declares its roles.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from booking.extensions import db
from booking.models import (
    Absence,
    ExternalCalendar,
    PriorityRequest,
    ReshufflePlan,
    Ticket,
    WebhookDelivery,
    WebhookSubscription,
)
from booking.services import links, tokens

from . import factories as f
from .test_auth import PUBLIC

ROLES = [None, "client", "consultant", "planner", "admin"]
# Arguments naming an object that belongs to a company (or to one consultant).
OWNED = {"booking_id", "request_id", "calendar_id", "user_id", "link"}
# POSTs that end what the following cells need run last.
LAST = ("supprimer", "revoquer", "annuler", "appliquer", "desactiver")


def _world():
    """Two client companies, each with a contact, a booking, a priority request; two consultants."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=9)
    own, other = f.company(), f.company()
    me_consultant, other_consultant = f.consultant(), f.consultant()
    # the client is its company's main contact: the contacts pages admit it, within its own company
    users = {
        "client": f.user("client", own, main_contact=True),
        "consultant": me_consultant.user,
        "planner": f.user("planner"),
        "admin": f.user("admin"),
    }
    world = {"own": {}, "other": {}}
    for side, company, consultant in (("own", own, me_consultant), ("other", other, other_consultant)):
        booking = f.booking(
            consultant, start, company=company, status="held", hold_expires_at=datetime.now(UTC) + timedelta(hours=1)
        )
        request = PriorityRequest(
            company=company,
            requester_id=users["admin"].id,
            skill="comptabilite",
            amount=1,
            unit="days",
            description="urgent",
        )
        calendar = ExternalCalendar(consultant_id=consultant.id, label="Perso")
        db.session.add_all([request, calendar])
        db.session.flush()
        plan = ReshufflePlan(kind="repair", status="failed", consultant_id=consultant.id)
        subscription, spare = (
            WebhookSubscription(url="https://hooks.example.com/erp", events=["booking.created"], secret="whsec_matrix")
            for _ in range(2)
        )
        absence = Absence(
            consultant_id=consultant.id,
            start_at=start + timedelta(days=3),
            end_at=start + timedelta(days=3, hours=2),
            reason="matrix",
        )
        ticket = Ticket(  # a call its client asked for: the planners' "called" button
            company_id=company.id,
            reference=f"TCK-{side}",
            priority="bloquante",
            opened_at=datetime.now(UTC),
            call_requested_at=datetime.now(UTC),
        )
        db.session.add_all([plan, subscription, spare, absence, ticket])
        db.session.flush()
        delivery = WebhookDelivery(
            subscription_id=subscription.id, event_id=f"evt_{side}", event_type="booking.created", body="{}"
        )
        db.session.add(delivery)
        db.session.flush()
        colleague = f.user("client", company)  # another contact, whose access the writes change
        world[side] = {
            "user_id": colleague.id,
            "booking_id": booking.id,
            "request_id": request.id,
            "calendar_id": calendar.id,
            "company_id": company.id,
            "plan_id": plan.id,
            "subscription_id": subscription.id,
            "delivery_id": delivery.id,
            "consultant_id": consultant.id,
            "absence_id": absence.id,
            "ticket_id": ticket.id,
            "kind": "erplib",
            "code": "en",
            "month": date.today().strftime("%Y-%m"),
            "filename": "app.css",
            "token": "x",
            "chart": "charge",  # the dashboard's CSV of one chart
            # a mail's signed link to this side's booking
            "purpose": "voir",
            "link": links.url(booking, "voir").rsplit("/", 1)[1],
            # the page's deletion and the API's each delete a subscription of their own
            "for": {"webhooks.delete": {"subscription_id": spare.id}},
        }
    db.session.commit()
    return users, world


def _query(rule, values) -> str:
    if rule.endpoint == "api.availability_view":
        first = date.today() + timedelta(days=7)
        return f"?service=erplib&start={first}&end={first + timedelta(days=2)}&company_id={values['company_id']}"
    if rule.endpoint == "api.availability_why":  # any instant gets an answer (free, or why not)
        return f"?service=erplib&start=2027-03-30T10:00:00%2B02:00&company_id={values['company_id']}"
    return ""


def _cells(app):
    """Every (route, method, side); reads first, then writes, the ending ones last."""
    cells = [
        (rule, method, side)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in PUBLIC
        for method in rule.methods - {"HEAD", "OPTIONS"}
        for side in (("own", "other") if rule.arguments else ("own",))
    ]
    return sorted(
        cells,
        key=lambda c: (c[1] != "GET", c[1] == "DELETE" or any(w in c[0].rule for w in LAST), c[0].rule, c[1], c[2]),
    )


def _body(rule, method):
    """A valid body, so that authorisation, not validation, decides the cell."""
    if not rule.rule.startswith("/api/") or method == "GET":
        return None
    later = (datetime.now(UTC) + timedelta(days=12)).replace(hour=9, minute=0, second=0, microsecond=0)
    return {"api.reschedule_booking": {"start": later.isoformat()}, "api.tick_prerequisite": {"code": "backup"}}.get(
        rule.endpoint, {}
    )


def _expected(rule, method, role, side, roles) -> set[int] | str:
    api = rule.rule.startswith("/api/")
    if role is None:
        return {401} if api else {302}
    if role not in roles:
        return {403}
    owned = rule.arguments & OWNED
    if side == "other" and owned and role in ("client", "consultant"):
        return {404}
    if rule.endpoint == "links.follow":  # a mail's link leads on to the booking's page for the role
        return {302}
    if rule.endpoint == "consultant.follow_up" and method == "GET":  # the held booking has no follow-up: the
        return {302}  # planning says why (a session that has started opens the page: tests/test_consultant.py)
    return {200} if method == "GET" else "accepted"


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(app, client, auth, role):
    users, world = _world()
    headers = {}
    if role:
        headers = {"Authorization": f"Bearer {tokens.create(users[role], 'matrix')}"}
        db.session.commit()
        assert auth.login(users[role].email).status_code == 302
    failures, checked = [], 0
    for rule, method, side in _cells(app):
        view = app.view_functions[rule.endpoint]
        roles = getattr(view, "allowed_roles", None)
        assert roles, f"{rule.rule} ({rule.endpoint}) declares no roles"
        values = {**world[side], **world[side]["for"].get(rule.endpoint, {})}
        missing = rule.arguments - values.keys()
        assert not missing, f"{rule.rule}: give the matrix a sample value for {missing}"
        url = rule.build(values, append_unknown=False)[1] + _query(rule, values)
        api = rule.rule.startswith("/api/")
        response = client.open(url, method=method, headers=headers if api else {}, json=_body(rule, method))
        expected = _expected(rule, method, role, side, roles)
        status = response.status_code
        ok = (status in expected) if isinstance(expected, set) else (status < 500 and status not in (401, 403, 404))
        if role is None and not api and status == 302:
            ok = "/login" in response.headers["Location"]
        if not ok:
            failures.append(f"{method} {url} as {role} ({side}): {status}, expected {expected}")
        checked += 1
    assert not failures, "\n".join(failures)
    assert checked > 60
