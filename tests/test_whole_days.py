"""A whole-day service needs whole working days: a day with any absence (or busy time) is not one for it."""

from datetime import UTC, date, datetime

import pytest

from booking import contract
from booking.extensions import db
from booking.models import Absence, ExternalBusy, ExternalCalendar
from booking.services import availability, bookings
from booking.services.errors import Conflict
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def offered(company, first: str, last: str, kind="major_install"):
    start, end = availability.local_range(date.fromisoformat(first), date.fromisoformat(last))
    return [
        (s.start.astimezone(PARIS).strftime("%a %d %H:%M"), s.end.astimezone(PARIS).strftime("%a %d %H:%M"))
        for s in availability.slots(kind, company, start, end, NOW)
    ]


@pytest.fixture
def installer(any_app):
    return f.consultant(skills=("installation",))


def absent(consultant, start: str, end: str):
    consultant.absences.append(Absence(start_at=paris(start), end_at=paris(end)))
    db.session.flush()


@pytest.mark.parametrize("kind", ["major_install", "major_install_test"])
@pytest.mark.parametrize(
    "start, end",
    [
        ("2026-12-08 09:00", "2026-12-08 12:30"),  # the morning
        ("2026-12-08 14:00", "2026-12-08 18:00"),  # the afternoon
        ("2026-12-08 11:00", "2026-12-08 11:30"),
    ],
)  # half an hour
def test_a_partial_absence_takes_the_whole_day_away(installer, kind, start, end):
    company = f.company("serenite")
    absent(installer, start, end)
    days = offered(company, "2026-12-07", "2026-12-09", kind)
    assert days == [("Mon 07 09:00", "Mon 07 18:00"), ("Wed 09 09:00", "Wed 09 18:00")]


def test_imported_busy_time_takes_the_whole_day_away(installer):
    company = f.company("serenite")
    db.session.add(
        ExternalBusy(
            calendar=ExternalCalendar(consultant_id=installer.id, label="Perso"),
            consultant_id=installer.id,
            start_at=paris("2026-12-08 16:00"),
            end_at=paris("2026-12-08 17:00"),
        )
    )
    db.session.flush()
    assert [a for a, _ in offered(company, "2026-12-07", "2026-12-09")] == ["Mon 07 09:00", "Wed 09 09:00"]


def test_the_afternoon_left_cannot_be_booked(installer):
    company = f.company("serenite")
    contact = f.user("client", company)
    absent(installer, "2026-12-08 09:00", "2026-12-08 12:30")
    # committed, as a page would find it: on PostgreSQL a refusal rolls back the transaction it ran in
    db.session.commit()
    for start, code in (("2026-12-08 14:00", "closed"), ("2026-12-08 09:00", "absence")):
        with pytest.raises(Conflict) as refused:
            bookings.book(contact, "major_install", paris(start), NOW)
        assert refused.value.code == code
    assert bookings.book(contact, "major_install", paris("2026-12-09 09:00"), NOW).end_at == paris("2026-12-09 18:00")


def test_a_two_day_install_does_not_cross_an_absent_morning(any_app, installer, tmp_path):
    two_days = contract.DEFAULT_FILE.read_text().replace(
        '[services.major_install]\nskill = "installation"\nduration_days = 1',
        '[services.major_install]\nskill = "installation"\nduration_days = 2',
        1,
    )
    path = tmp_path / "contract.toml"
    path.write_text(two_days)
    any_app.config["CONTRACT_FILE"] = str(path)
    assert contract.current().service("major_install").duration_days == 2
    company = f.company("serenite")
    absent(installer, "2026-12-08 09:00", "2026-12-08 12:30")  # Tuesday morning
    found = offered(company, "2026-12-07", "2026-12-11")
    # Tuesday is not a working day for it: Monday's install goes on on Wednesday, as over a weekend
    assert found[0] == ("Mon 07 09:00", "Wed 09 18:00")
    assert all(not a.startswith("Tue") for a, _ in found)
    assert all(not (a.startswith("Mon") and b.startswith("Tue")) for a, b in found)
