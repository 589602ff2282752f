"""Login failures counted per e-mail address with a progressive delay, the same answers and the same
timing whether the account exists or not, and the unlock paths (a successful login, an admin, the CLI)."""

from __future__ import annotations

import re
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from booking.extensions import db, limiter
from booking.models.people import LoginFailure
from booking.services import logins

from . import factories as f

T0 = datetime(2027, 3, 10, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_rate_limit():
    """The rate limit is tested in test_rate_limits_pg: here only the database's delay answers."""
    limiter.enabled = False
    yield
    limiter.enabled = True


def _try(client, email, password="wrong-password"):
    response = client.post("/login", data={"email": email, "password": password})
    errors = re.findall(r'<span class="error" role="alert">([^<]*)</span>', response.get_data(as_text=True))
    return response.status_code, errors


def test_five_failures_then_one_two_four_minutes_and_a_success_resets(app, client):
    user = f.user("planner")
    db.session.commit()
    with time_machine.travel(T0, tick=False) as clock:
        assert [_try(client, user.email)[0] for _ in range(4)] == [200] * 4
        status, errors = _try(client, user.email)  # the fifth: one minute to wait
        assert status == 429 and "réessayez à partir de" in errors[0]
        locked = client.post("/login", data={"email": user.email, "password": f.PASSWORD})
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) == 60  # not even the right one
        clock.shift(timedelta(seconds=61))
        assert _try(client, user.email)[0] == 429  # the sixth failure: two minutes
        assert db.session.get(LoginFailure, logins.account_key(user.email)).locked_until == T0 + timedelta(
            seconds=61 + 120
        )
        clock.shift(timedelta(seconds=121))
        assert _try(client, user.email)[0] == 429  # the seventh: four minutes
        clock.shift(timedelta(minutes=4, seconds=1))
        assert _try(client, user.email, f.PASSWORD)[0] == 302
        f.reread()
        assert db.session.get(LoginFailure, logins.account_key(user.email)) is None
        client.post("/logout")
        assert _try(client, user.email)[0] == 200  # counted from one again


def test_the_delay_doubles_up_to_its_cap(app):
    assert [logins.delay(n) for n in range(1, 5)] == [None] * 4
    assert [logins.delay(n).total_seconds() // 60 for n in range(5, 12)] == [1, 2, 4, 8, 16, 30, 30]


def test_failures_are_forgotten_a_day_after_the_last_one(app, client):
    user = f.user("client")
    db.session.commit()
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(4):
            _try(client, user.email)
        clock.shift(timedelta(days=1, seconds=1))
        assert _try(client, user.email)[0] == 200  # a first failure again, not a fifth
        assert db.session.get(LoginFailure, logins.account_key(user.email)).failures == 1


def test_a_lock_reads_the_same_whether_the_account_exists_or_not(app):
    user, inactive = f.user("client"), f.user("client", active=False)
    db.session.commit()
    answers = {}
    with time_machine.travel(T0, tick=False):
        for email in (user.email, "personne@test.example", inactive.email):
            client = app.test_client()
            answers[email] = [_try(client, email) for _ in range(7)]
    assert answers[user.email] == answers["personne@test.example"] == answers[inactive.email]
    assert [status for status, _ in answers[user.email]] == [200] * 4 + [429] * 3


def test_an_inactive_account_is_refused_with_the_usual_words(app, client):
    user = f.user("client", active=False)
    db.session.commit()
    assert _try(client, user.email, f.PASSWORD) == (200, ["E-mail ou mot de passe incorrect."])


def test_an_admin_unlocks_an_account_from_the_users_page(app, client, auth):
    user, admin = f.user("client"), f.user("admin")
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        victim = app.test_client()
        for _ in range(5):
            _try(victim, user.email)
        auth.login(admin.email)
        page = client.get("/admin/utilisateurs").get_data(as_text=True)
        assert "Bloquée jusqu&#39;à" in page or "Bloquée jusqu'à" in page
        assert client.post("/admin/utilisateurs/debloquer", data={"user_id": user.id}).status_code == 302
        assert _try(victim, user.email, f.PASSWORD)[0] == 302


def test_cli_unlocks_an_account(app, runner, client):
    user = f.user("consultant")
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            _try(client, user.email)
        result = runner.invoke(args=["users", "unlock", user.email.upper()])
        assert result.exit_code == 0 and "débloqué" in result.output
        assert _try(client, user.email, f.PASSWORD)[0] == 302
    assert runner.invoke(args=["users", "unlock", "nobody@test.example"]).exit_code == 1


def test_concurrent_failures_each_count(any_app):
    """One statement counts each failure: parallel guesses cannot slip under the threshold (and on
    SQLite none of them fails for having read before another wrote)."""
    any_app.config["LOGIN_FAILURES_BEFORE_DELAY"] = 100
    email = f.user("client").email  # read here: the test's session is not for the threads
    db.session.commit()
    barrier, outcomes = threading.Barrier(8), []

    def guess():
        with any_app.app_context():
            barrier.wait()
            try:
                logins.authenticate(email, "wrong-password", T0)
            except logins.LoginRefused:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    f.reread()
    assert outcomes == ["refused"] * 8
    assert db.session.get(LoginFailure, logins.account_key(email)).failures == 8


def test_login_time_does_not_tell_whether_the_account_exists(app, client):
    """Median of many logins: unknown and inactive accounts cost what a wrong password costs."""
    app.config["LOGIN_FAILURES_BEFORE_DELAY"] = 1000
    user, inactive = f.user("client"), f.user("client", active=False)
    for account in (user, inactive):  # the app's own hashing method, which the dummy hash uses
        account.set_password(f.PASSWORD)
    db.session.commit()
    kinds = {"known": user.email, "unknown": "personne@test.example", "inactive": inactive.email}
    timings = {kind: [] for kind in kinds}
    _try(client, "warm-up@test.example")
    for _ in range(9):
        for kind, email in kinds.items():  # interleaved: a busy moment of the machine hits all three
            start = time.perf_counter()
            assert _try(client, email)[0] == 200
            timings[kind].append(time.perf_counter() - start)
    known = statistics.median(timings["known"])
    for kind in ("unknown", "inactive"):
        ratio = statistics.median(timings[kind]) / known
        assert 0.5 <= ratio <= 2, f"{kind}: {ratio:.2f}× the time of a wrong password ({timings})"
