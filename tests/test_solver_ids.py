"""The one codec between database ids and the reshuffle instance's ids."""

from __future__ import annotations

import pytest

from booking.services import solver_ids


def test_ids_read_back_as_what_they_name():
    assert solver_ids.booking(42) == "b42" and solver_ids.booking_id("b42") == 42
    assert solver_ids.consultant(7) == "c7" and solver_ids.consultant_id("c7") == 7
    assert (solver_ids.job(3), solver_ids.client(5)) == ("p3", "company5")


@pytest.mark.parametrize(
    "read, text",
    [
        (solver_ids.booking_id, "c42"),  # a consultant's id is not a booking's
        (solver_ids.consultant_id, "b7"),
        (solver_ids.consultant_id, "company7"),
        (solver_ids.booking_id, "b"),
        (solver_ids.booking_id, "b-1"),
        (solver_ids.booking_id, "b4٢"),  # a non-ASCII digit that int() would accept
    ],
)
def test_an_id_of_another_kind_is_refused(read, text):
    with pytest.raises(ValueError, match="not a solver id"):
        read(text)
