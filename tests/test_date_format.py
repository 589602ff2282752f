"""The first of a month is written « 1er » in French (pages, mails, refusals); English and other days unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask_babel import force_locale

from booking.date_format import format_date, format_datetime, in_french, ordinal_pattern
from calendars.worktime import PARIS


def test_the_first_of_a_month_is_an_ordinal_in_french(app):
    with app.test_request_context(), force_locale("fr"):
        assert format_date(date(2027, 4, 1), "d MMMM yyyy") == "1er avril 2027"
        assert format_date(date(2027, 4, 2), "d MMMM yyyy") == "2 avril 2027"
        assert format_date(date(2027, 4, 1), "EEE d MMM") == "jeu. 1er avr."
        assert format_date(date(2027, 4, 1), "dd/MM/yyyy") == "01/04/2027"
        assert format_date(date(2027, 4, 1), "d/MM") == "1/04"


def test_the_day_is_the_one_in_paris(app):
    late_on_the_31st = datetime(2027, 3, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 April in Paris (summer time)
    with app.test_request_context(), force_locale("fr"):
        assert format_datetime(late_on_the_31st, "EEEE d MMMM 'à' HH:mm") == "jeudi 1er avril à 00:30"
        assert format_datetime(datetime(2027, 4, 1, 22, 30, tzinfo=UTC), "d MMMM") == "2 avril"
    assert in_french(late_on_the_31st, "EEEE d MMMM yyyy 'à' HH:mm", PARIS) == "jeudi 1er avril 2027 à 00:30"


def test_english_and_quoted_text_are_left_alone(app):
    with app.test_request_context(), force_locale("en"):
        assert format_date(date(2027, 4, 1), "d MMMM yyyy") == "1 April 2027"
    assert ordinal_pattern("'de' d MMMM", 1, "fr") == "'de' d'er' MMMM"
    assert ordinal_pattern("d MMMM", 1, "fr_FR") == "d'er' MMMM"
    assert ordinal_pattern("d MMMM", 11, "fr") == "d MMMM"


def test_no_date_reads_now_as_flask_babel_does(app):
    with app.test_request_context(), force_locale("fr"):
        assert format_date(None, "yyyy").isdigit() and format_datetime(None, "yyyy").isdigit()
