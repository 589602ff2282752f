"""`access.company_for`, the company a request acts for: a client acts for their own and may not name another
(`staff_only_field`, the same answer whether that company exists or not); staff name an existing one."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from booking.extensions import db
from booking.services import access
from booking.services.errors import Invalid, NotFound

from . import factories as f


@pytest.fixture
def world(app):
    own, other = f.company("serenite", name="Own SA"), f.company("confort", name="Other SARL")
    client, planner = f.user("client", own), f.user("planner")
    db.session.commit()
    return own, other, client, planner


def test_a_client_acts_for_their_own_company_named_or_not(world):
    own, _other, client, _planner = world
    assert access.company_for(client, None) == own and access.company_for(client, own.id) == own


@pytest.mark.parametrize("named", ["other", "missing"])
def test_a_client_naming_another_company_is_refused_alike_whether_it_exists_or_not(world, named):
    _own, other, client, _planner = world
    company_id = other.id if named == "other" else other.id + 1000
    with pytest.raises(Invalid) as refused:
        access.company_for(client, company_id)
    assert refused.value.code == "staff_only_field" and refused.value.field == "company_id"
    assert refused.value.message == (
        "company_id est réservé aux planificateurs et aux administrateurs : un client agit pour sa propre "
        "société, omettez ce champ."
    )
    with force_locale("en"):
        assert "planners" in refused.value.message and "réservé" not in refused.value.message


def test_staff_name_an_existing_company(world):
    _own, other, _client, planner = world
    assert access.company_for(planner, other.id) == other
    for missing in (None, other.id + 1000):
        with pytest.raises(NotFound) as refused:
            access.company_for(planner, missing)
        assert refused.value.code == "company_not_found"
