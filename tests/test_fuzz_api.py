"""Schemathesis against /api/v1/openapi.json: generated requests, a bounded number per operation;
no 5xx, and every response conforms to the document (status, content type, body schema)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import schemathesis
from schemathesis import checks
from hypothesis import HealthCheck, given, settings

from booking.extensions import db
from booking.services import tokens

from . import factories as f


# What the document promises. Left out: positive_data_acceptance, since schema-valid requests may still
# break a business rule (an end before the start, a slot already taken) and get a documented 409/422.
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance, checks.negative_data_rejection,
          checks.ignored_auth]


@pytest.fixture
def api_schema(app):
    company = f.company()
    contact = f.user("client", company)
    consultant = f.consultant(skills=("comptabilite", "installation"))
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(days=10)
    for day in range(3):
        f.booking(consultant, start + timedelta(days=day), company=company)
    app.config["FUZZ_TOKEN"] = tokens.create(contact, "fuzz")
    db.session.commit()

    def isolated(environ, start_response):
        """Each request in its own app context and database session, as under gunicorn."""
        db.session.rollback()
        with app.app_context():
            return list(app.wsgi_app(environ, start_response))

    app.config["FUZZ_APP"] = isolated
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", isolated)


def test_api_answers_generated_requests_as_documented(api_schema, app):
    headers = {"Authorization": f"Bearer {app.config['FUZZ_TOKEN']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        def conforms(case):
            case.call_and_validate(headers=headers, checks=CHECKS)
        conforms()
