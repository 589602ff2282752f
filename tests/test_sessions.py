"""Sessions that can be cut off: logout and a password change end every copy of a session (and of a
remember-me cookie); an admin and the CLI can end them too."""

from __future__ import annotations

import pytest
from flask_login.utils import encode_cookie
from sqlalchemy import select

from booking.extensions import db
from booking.models import AuditEntry, User
from booking.services import logins

from . import factories as f

PAGE = "/compte/"


def _logged_in(app, user):
    client = app.test_client()
    assert client.post("/login", data={"email": user.email, "password": f.PASSWORD}).status_code == 302
    assert client.get(PAGE).status_code == 200
    return client


def _replay(app, cookie):
    """A fresh browser holding only a copy of the session cookie."""
    client = app.test_client()
    client.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    return client


def _is_out(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_copy_of_the_session_cookie_stops_working_after_logout(app, client, auth):
    user = f.user("client")
    db.session.commit()
    auth.login(user.email)
    cookie = client.get_cookie("session", domain="planner.test")
    assert _replay(app, cookie).get(PAGE).status_code == 200  # the copy works while the session lives
    auth.logout()
    assert _is_out(client.get(PAGE))
    assert _is_out(_replay(app, cookie).get(PAGE))


def test_logout_ends_the_sessions_on_other_devices_too(app):
    user = f.user("planner")
    db.session.commit()
    laptop, phone = _logged_in(app, user), _logged_in(app, user)
    laptop.post("/logout")
    assert _is_out(phone.get(PAGE))
    ended = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.sessions_end")).one()
    assert (ended.object_type, ended.object_id) == ("user", user.id)  # the user, not flask-login's proxy


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app):
    user = f.user("consultant")
    db.session.commit()
    here, elsewhere = _logged_in(app, user), _logged_in(app, user)
    stolen = elsewhere.get_cookie("session", domain="planner.test")
    response = here.post(
        "/compte/mot-de-passe", data={"current": f.PASSWORD, "new": "nouveau-secret", "confirm": "nouveau-secret"}
    )
    assert response.status_code == 302
    assert here.get(PAGE).status_code == 200
    assert _is_out(elsewhere.get(PAGE)) and _is_out(_replay(app, stolen).get(PAGE))
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": user.email, "password": f.PASSWORD}).status_code == 200
    assert fresh.post("/login", data={"email": user.email, "password": "nouveau-secret"}).status_code == 302
    assert "user.password" in {e.action for e in db.session.scalars(select(AuditEntry))}


def test_a_wrong_current_password_or_a_mismatch_changes_nothing(app):
    user = f.user("admin")
    db.session.commit()
    here, elsewhere = _logged_in(app, user), _logged_in(app, user)
    wrong = here.post(
        "/compte/mot-de-passe", data={"current": "pas-le-bon", "new": "nouveau-secret", "confirm": "nouveau-secret"}
    )
    assert wrong.status_code == 422 and "Le mot de passe actuel ne correspond pas" in wrong.get_data(as_text=True)
    mismatch = here.post(
        "/compte/mot-de-passe", data={"current": f.PASSWORD, "new": "nouveau-secret", "confirm": "autre-secret"}
    )
    assert mismatch.status_code == 422 and "diffèrent" in mismatch.get_data(as_text=True)
    short = here.post("/compte/mot-de-passe", data={"current": f.PASSWORD, "new": "court", "confirm": "court"})
    assert short.status_code == 422
    f.reread()
    assert db.session.get(User, user.id).check_password(f.PASSWORD)
    assert elsewhere.get(PAGE).status_code == 200


def test_a_remember_me_cookie_is_cut_off_with_the_sessions(app):
    user = f.user("client")
    db.session.commit()
    remembered = app.test_client()
    remembered.set_cookie("remember_token", encode_cookie(user.get_id()), domain="planner.test")
    assert remembered.get(PAGE).status_code == 200
    stale = app.test_client()
    stale.set_cookie("remember_token", encode_cookie(user.get_id()), domain="planner.test")
    logins.end_sessions(None, user)
    db.session.commit()
    assert _is_out(stale.get(PAGE))


def test_a_session_from_before_generations_is_not_accepted(app):
    """Cookies written before this change named the bare id: their holders sign in once more."""
    user = f.user("client")
    db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = str(user.id), True
    assert _is_out(client.get(PAGE))


def test_an_admin_ends_a_users_sessions(app):
    user, admin = f.user("client"), f.user("admin")
    db.session.commit()
    victim, boss = _logged_in(app, user), _logged_in(app, admin)
    asked = boss.post("/admin/utilisateurs/deconnecter", data={"user_id": user.id})
    assert asked.status_code == 200 and "devra se reconnecter" in asked.get_data(as_text=True)
    assert victim.get(PAGE).status_code == 200  # asked once more first: nothing ended yet
    ended = boss.post("/admin/utilisateurs/deconnecter", data={"user_id": user.id, "confirmed": "1"})
    assert ended.status_code == 302
    assert _is_out(victim.get(PAGE))
    assert boss.get(PAGE).status_code == 200
    assert boss.post("/admin/utilisateurs/deconnecter", data={}).status_code == 400
    assert boss.post("/admin/utilisateurs/deconnecter", data={"user_id": 2**40}).status_code == 404


def test_cli_set_password_ends_the_sessions(app, runner):
    user = f.user("planner")
    db.session.commit()
    browser = _logged_in(app, user)
    result = runner.invoke(args=["users", "set-password", user.email], input="autre-secret\nautre-secret\n")
    assert result.exit_code == 0, result.output
    assert _is_out(browser.get(PAGE))
    short = runner.invoke(args=["users", "set-password", user.email], input="court\ncourt\n")
    assert short.exit_code == 1 and "au moins 8 caractères" in short.output


def test_cli_set_password_succeeds_when_another_writer_commits_meanwhile(app, runner):
    """The CLI's reset reads the account, then writes: under the account's lock taken first, as the pages' writes."""
    user = f.user("planner")
    db.session.commit()
    with f.another_writer_after("SELECT users.") as armed:  # the account named: its read has begun
        result = runner.invoke(args=["users", "set-password", user.email], input="autre-secret\nautre-secret\n")
    assert not armed[0]  # the other write happened during the reset
    assert result.exit_code == 0, result.output
    f.reread()
    assert db.session.get(User, user.id).check_password("autre-secret")


def test_logout_succeeds_when_another_writer_commits_meanwhile(app):
    """On SQLite a request that has read (its user) and then writes fails at once if another connection wrote in
    between (a plan worker, another tab): a browser test's logout answered "service momentarily unavailable"."""
    user = f.user("client")
    db.session.commit()
    client = _logged_in(app, user)
    with f.another_writer_after("SELECT users.") as armed:  # the request's user: its read has begun
        response = client.post("/logout")
    assert not armed[0]  # the other write happened during the logout
    assert _is_out(response)
    assert _is_out(client.get(PAGE))


def test_a_password_change_succeeds_when_another_writer_commits_meanwhile(app):
    """As logout: the change read its user, then another connection committed (a plan worker's progress), then it
    wrote; on SQLite that failed at once (503). Written under the write lock, it succeeds and ends the others."""
    user = f.user("consultant")
    db.session.commit()
    here, elsewhere = _logged_in(app, user), _logged_in(app, user)
    with f.another_writer_after("SELECT users.") as armed:
        response = here.post(
            "/compte/mot-de-passe", data={"current": f.PASSWORD, "new": "nouveau-secret", "confirm": "nouveau-secret"}
        )
    assert not armed[0]  # the other write happened during the change
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    assert here.get(PAGE).status_code == 200  # this session goes on
    assert _is_out(elsewhere.get(PAGE))
    f.reread()
    assert db.session.get(User, user.id).check_password("nouveau-secret")


@pytest.mark.parametrize(
    "path, done",
    [("/admin/utilisateurs/deconnecter", "user.sessions_end"), ("/admin/utilisateurs/debloquer", "user.unlock")],
)
def test_an_admin_ends_sessions_or_unlocks_when_another_writer_commits_meanwhile(app, path, done):
    """As logout: the admin's page read the user named, another connection committed, then it wrote; on SQLite
    that failed at once (503). Written under the write lock taken first, it succeeds."""
    admin, user = f.user("admin"), f.user("client")
    db.session.commit()
    boss = _logged_in(app, admin)
    with f.another_writer_after("SELECT users.", nth=2) as armed:  # the admin, then the user named: read begun
        response = boss.post(path, data={"user_id": user.id, "confirmed": "1"})  # ending sessions asks first
    assert not armed[0]
    assert response.status_code == 302
    f.reread()
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.object_id == user.id)) == done
