"""Lists people pick from are in a reader's alphabetical order, on both databases: accents and case do not send
« Léa » after « Lucas » nor « émilie » after « Zoé »."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from booking.extensions import db
from booking.services import consultants
from booking.text_order import by_name, name_key

from . import factories as f

NAMES = ["Lucas", "Zoé", "émilie", "Léa", "Adam", "lea", "Éric", "Œnologie", "Cœur", "Codex"]


def test_accents_and_case_come_after_the_letters():
    assert by_name(NAMES, str) == [
        *("Adam", "Codex", "Cœur", "émilie", "Éric", "lea", "Léa", "Lucas", "Œnologie", "Zoé")
    ]


@given(st.lists(st.text(max_size=8), max_size=12))
def test_the_order_is_total_and_keeps_every_name(names):
    ordered = by_name(names, str)
    assert sorted(ordered) == sorted(names)
    assert by_name(reversed(names), str) == ordered  # distinct names never tie: the input order does not matter
    assert all(name_key(a) <= name_key(b) for a, b in zip(ordered, ordered[1:], strict=False))


def test_consultants_and_companies_are_listed_alphabetically(any_app):
    for name in ("Lucas", "Zoé", "Léa", "émilie"):
        f.consultant().user.name = name
        f.company(name=f"{name} SA")
    admin = f.user("admin", email="admin@test.example")
    db.session.commit()
    assert [c.name for c in consultants.listing()] == ["émilie", "Léa", "Lucas", "Zoé"]

    client = any_app.test_client()
    client.post("/login", data={"email": admin.email, "password": "secret-pass"})
    page = client.get("/admin/").get_data(as_text=True)
    shown = [page.index(f"{name} SA") for name in ("émilie", "Léa", "Lucas", "Zoé")]
    assert shown == sorted(shown)
