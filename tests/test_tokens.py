"""API tokens that can be cut off: named, listed, revoked (account page, admin page, CLI), expiring; a
revoked or expired token answers 401 problem+json at once; last use recorded at most once a minute."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from booking.extensions import db
from booking.models import ApiToken
from booking.services import tokens
from booking.web import shown_once

from . import factories as f

T0 = datetime(2027, 3, 10, 9, 30, tzinfo=UTC)  # any instant: nothing here depends on the calendar


def _me(client, raw):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})


def _secret(page: str) -> str:
    return re.search(r'data-testid="new-token">(erp_[^<]+)</code>', page).group(1)


def _text(page: str) -> str:
    """The page's words as read: entities decoded, no-break spaces shown as spaces."""
    return html.unescape(page).replace("\u00a0", " ")


def test_the_account_page_creates_a_named_token_and_shows_it_once(app, client, auth):
    user = f.user("client")
    db.session.commit()
    with time_machine.travel(T0, tick=False):  # sessions are signed with the time: sign in at the same clock
        auth.login(user.email)
        created = client.post("/compte/jetons", data={"name": "Script de facturation", "lifetime": "30"})
        assert created.status_code == 303 and created.headers["Location"] == "/compte/"
        assert "erp_" not in created.get_data(as_text=True)  # the POST's answer carries no secret
        shown = client.get("/compte/")
        assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
        raw = _secret(shown.get_data(as_text=True))
        assert "Copiez ce jeton maintenant : il ne sera plus affiché." in _text(shown.get_data(as_text=True))
        assert "Jeton « Script de facturation » créé" in _text(shown.get_data(as_text=True))
        assert _me(client, raw).status_code == 200
        page = client.get("/compte/").get_data(as_text=True)
    assert raw not in page and "Script de facturation" in page
    stored = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert stored.label == "Script de facturation" and stored.expires_at == T0 + timedelta(days=30)
    assert stored.created_at == T0


def test_a_new_token_is_shown_once_after_a_redirect_and_a_reload_creates_no_other(app, client, auth):
    """Post/Redirect/Get: the secret travels in the session to the one page that shows it; reloading that
    page shows it no more and creates nothing (reloading the POST's own answer used to resend the form)."""
    user = f.user("client")
    db.session.commit()
    auth.login(user.email)
    created = client.post("/compte/jetons", data={"name": "ci", "lifetime": ""})
    assert created.status_code == 303
    raw = _secret(client.get(created.headers["Location"]).get_data(as_text=True))
    listed = client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {raw}"})
    assert listed.status_code == 200 and listed.json == []
    again = client.get("/compte/")
    assert again.status_code == 200 and raw not in again.get_data(as_text=True)
    assert 'data-testid="new-token"' not in again.get_data(as_text=True)
    assert len(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()) == 1


def test_a_new_secret_waiting_in_the_session_is_never_shown_to_the_next_user_nor_late(app, client, auth):
    """The secret waits in the session only for the page after the redirect: a browser left on the way (the page
    never opened) and handed to someone else who logs in must not show them the last user's token; nor may the
    page show it after its few minutes."""
    first, second = f.user("admin"), f.user("client")
    db.session.commit()
    auth.login(first.email)
    assert client.post("/compte/jetons", data={"name": "pris", "lifetime": ""}).status_code == 303  # not followed
    assert client.post("/logout", data={}).status_code == 302
    auth.login(second.email)
    assert 'data-testid="new-token"' not in client.get("/compte/").get_data(as_text=True)
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        client.post("/compte/jetons", data={"name": "en retard", "lifetime": ""})
        clock.shift(timedelta(seconds=shown_once.WAITS_SECONDS + 1))
        assert 'data-testid="new-token"' not in client.get("/compte/").get_data(as_text=True)


def _row(page: str, token_id: int) -> list[str]:
    """A token's row of the list: its cells' text."""
    row = re.search(rf'<tr data-testid="token-{token_id}">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [" ".join(_text(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]


def test_the_new_secret_is_shown_once_in_its_box_with_a_copy_button_and_its_script(app, client, auth):
    """The secret in one highlighted block; a copy button hidden until its script (a file: the CSP allows no
    inline script) finds a clipboard; the flash alone announces the token, the copy's feedback waits empty."""
    user = f.user("client")
    db.session.commit()
    auth.login(user.email)
    client.post("/compte/jetons", data={"name": "ci", "lifetime": "30"})
    page = client.get("/compte/").get_data(as_text=True)
    raw = _secret(page)
    assert page.count(raw) == 1 and page.count('data-testid="new-token-block"') == 1
    assert '<p class="copy" hidden>' in page and '<button type="button" data-copy="new-token"' in page
    assert 'data-copied="Copié"' in page and ">Copier</button>" in page
    assert '<script src="/static/copy_secret.js" defer></script>' in page and "<script>" not in page
    script = client.get("/static/copy_secret.js")
    assert script.status_code == 200 and "navigator.clipboard.writeText" in script.get_data(as_text=True)
    assert '<p class="flash flash-success" role="status">Jeton «\u00a0ci\u00a0» créé.</p>' in page
    block = page.split('data-testid="new-token-block"')[1].split("</div>")[0]
    assert re.findall(r'role="status"[^>]*>([^<]*)<', block) == [""]  # the flash announces; the copy's feedback waits
    again = client.get("/compte/").get_data(as_text=True)
    assert "new-token-block" not in again and "copy_secret.js" not in again and raw not in again


def test_the_token_list_shows_years_and_a_revoked_token_its_revocation_not_its_expiry(app, client, auth):
    """A token lasts up to a year or has no end: its dates carry the year (also on the revocation question);
    once revoked, when it was revoked matters, not the expiry it will never reach."""
    user = f.user("client")
    with time_machine.travel(T0, tick=False):  # 10:30 in Paris
        yearly = tokens.create(user, "annuel", T0 + timedelta(days=365))
        tokens.create(user, "révoqué", T0 + timedelta(days=90))
        tokens.create(user, "sans fin")
        db.session.commit()
    ids = dict(db.session.execute(select(ApiToken.label, ApiToken.id)).all())
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        assert _me(client, yearly).status_code == 200
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        auth.login(user.email)
        client.post("/compte/jetons/revoquer", data={"token_id": ids["révoqué"], "confirmed": "1"})
        page = client.get("/compte/").get_data(as_text=True)
        question = _text(
            client.post("/compte/jetons/revoquer", data={"token_id": ids["annuel"]}).get_data(as_text=True)
        )
    created = "10 mars 2027 10:30"
    assert _row(page, ids["annuel"]) == [
        "annuel",
        created,
        "10 mars 2027 12:30",
        "9 mars 2028 10:30",
        "Actif",
        "Révoquer",
    ]
    assert _row(page, ids["révoqué"]) == ["révoqué", created, "jamais", "révoqué le 11 mars 2027 10:30", "Révoqué", ""]
    assert "juin 2027" not in page  # the revoked token's expiry, which no longer matters
    assert _row(page, ids["sans fin"]) == ["sans fin", created, "jamais", "aucune", "Actif", "Révoquer"]
    assert "Créé le 10 mars 2027 10:30" in " ".join(re.sub(r"<[^>]+>", " ", question).split())


def test_the_account_pages_keep_french_punctuation_with_its_words(app, client, auth):
    """No line may break inside « guillemets » nor before : ; ? ! » (no-break spaces); nor begin with a "·"."""
    user = f.user("client")
    db.session.commit()
    auth.login(user.email)
    client.post("/compte/jetons", data={"name": "Export comptable", "lifetime": "90"})
    page = client.get("/compte/").get_data(as_text=True)
    token_id = db.session.scalar(select(ApiToken.id))
    question = client.post("/compte/jetons/revoquer", data={"token_id": token_id}).get_data(as_text=True)
    for shown in (page.split("<main>")[1], question.split("<main>")[1]):
        words = html.unescape(re.sub(r"<[^>]+>", "", shown.split("</main>")[0]))
        assert "«" in words and not re.findall(r".{0,20}(?:« | [»:;?!·]).{0,20}", words)


def test_the_account_page_in_english(app, client, auth):
    user = f.user("client", locale="en")
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        auth.login(user.email)
        client.post("/compte/jetons", data={"name": "ci", "lifetime": "365"})
        page = _text(client.get("/compte/").get_data(as_text=True))
    assert "Copy this token now: it will not be shown again." in page and ">Copy</button>" in page
    assert 'data-copied="Copied"' in page and "Token “ci” created." in page
    assert "10 Mar 2027 10:30" in page and "9 Mar 2028 10:30" in page
    for label in ("Valid for", "Create token</button>", "Confirm new password", "Change password</button>"):
        assert label in page


def test_creating_a_token_succeeds_when_another_writer_commits_meanwhile(app, client, auth):
    """On SQLite a request that has read (its user) and then writes failed at once (503) if another connection
    committed in between (a plan worker's progress, another tab): the token is written under the write lock."""
    user = f.user("client")
    db.session.commit()
    auth.login(user.email)
    with f.another_writer_after("SELECT users.") as armed:  # the request's user: its read has begun
        created = client.post("/compte/jetons", data={"name": "pendant un plan", "lifetime": "30"})
    assert not armed[0]  # the other write happened during the request
    assert created.status_code == 303
    f.reread()
    assert db.session.scalars(select(ApiToken.label).where(ApiToken.user_id == user.id)).all() == ["pendant un plan"]


@pytest.mark.parametrize(
    "form", [{"name": "", "lifetime": "90"}, {"name": "x" * 81, "lifetime": "90"}, {"name": "ok", "lifetime": "9999"}]
)
def test_a_token_needs_a_name_and_a_known_lifetime(app, client, auth, form):
    user = f.user("planner")
    db.session.commit()
    auth.login(user.email)
    assert client.post("/compte/jetons", data=form).status_code == 422
    assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id)) is None


def test_a_token_revoked_from_the_account_page_answers_401_at_once(app, client, auth):
    user, other = f.user("client"), f.user("client")
    raw, others = tokens.create(user, "ci"), tokens.create(other, "theirs")
    db.session.commit()
    mine = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    theirs = db.session.scalar(select(ApiToken).where(ApiToken.user_id == other.id))
    auth.login(user.email)
    assert _me(client, raw).status_code == 200
    assert client.post("/compte/jetons/revoquer", data={"token_id": theirs.id}).status_code == 404
    assert client.post("/compte/jetons/revoquer", data={}).status_code == 400
    assert _me(client, others).status_code == 200  # another user's token is untouched
    asked = {"token_id": mine.id}
    assert client.post("/compte/jetons/revoquer", data=asked).status_code == 200  # the question: nothing yet
    assert _me(client, raw).status_code == 200
    assert client.post("/compte/jetons/revoquer", data={**asked, "confirmed": "1"}).status_code == 302
    refused = _me(client, raw)
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert "révoqué" in refused.json["detail"] and "Bearer" in refused.json["detail"]
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "role, path, back", [("client", "/compte", "/compte/"), ("admin", "/admin", "/admin/utilisateurs")]
)
def test_revoking_a_token_asks_first_naming_it_then_says_it_is_revoked(app, client, auth, role, path, back):
    owner = f.user("consultant")
    admin = f.user("admin") if role == "admin" else owner
    with time_machine.travel(T0, tick=False):
        raw = tokens.create(owner, "Export comptable")
        db.session.commit()
        token_id = db.session.scalar(select(ApiToken.id))
        auth.login(admin.email)
        page = client.get(back).get_data(as_text=True)
        assert f'action="{path}/jetons/revoquer"' in page  # the button posts: the answer is the question
        ask = client.post(f"{path}/jetons/revoquer", data={"token_id": token_id})
        question = ask.get_data(as_text=True)
        assert ask.status_code == 200 and "Révoquer le jeton « Export comptable » ?" in _text(question)
        assert "recevront aussitôt une erreur 401" in question and "Non, revenir" in question
        assert 'name="confirmed" value="1"' in question and f'href="{back}"' in question
        assert (owner.email in question) is (role == "admin")  # the admin is told whose token it is
        assert _me(client, raw).status_code == 200  # asking changed nothing
        done = client.post(f"{path}/jetons/revoquer", data={"token_id": token_id, "confirmed": "1"})
        assert done.status_code == 302 and done.headers["Location"] == back
        said = _text(client.get(back).get_data(as_text=True))
        assert "Jeton « Export comptable »" in said and "révoqué" in said
        assert _me(client, raw).status_code == 401
        again = client.post(f"{path}/jetons/revoquer", data={"token_id": token_id}, follow_redirects=True)
    assert "Le jeton « Export comptable » était déjà révoqué." in again.get_data(as_text=True)


def test_revoking_a_token_needs_the_forms_csrf_token_at_both_steps(app, client, auth):
    user = f.user("client")
    with time_machine.travel(T0, tick=False):
        raw = tokens.create(user, "ci")
        db.session.commit()
        token_id = db.session.scalar(select(ApiToken.id))
        auth.login(user.email)
        app.config.update(WTF_CSRF_ENABLED=True)
        for step in ({"token_id": token_id}, {"token_id": token_id, "confirmed": "1"}):
            assert client.post("/compte/jetons/revoquer", data=step).status_code == 400
        assert _me(client, raw).status_code == 200
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/compte/").get_data(as_text=True))[1]
        question = client.post("/compte/jetons/revoquer", data={"token_id": token_id, "csrf_token": csrf})
        assert question.status_code == 200 and _me(client, raw).status_code == 200
        carried = re.search(r'name="csrf_token" value="([^"]+)"', question.get_data(as_text=True))[1]
        done = client.post(
            "/compte/jetons/revoquer", data={"token_id": token_id, "confirmed": "1", "csrf_token": carried}
        )
    assert done.status_code == 302 and _me(client, raw).status_code == 401


def test_an_expired_token_answers_401_and_says_so(app, client):
    user = f.user("client")
    with time_machine.travel(T0, tick=False):
        raw = tokens.create(user, "court", T0 + timedelta(days=30))
        db.session.commit()
    with time_machine.travel(T0 + timedelta(days=30) - timedelta(seconds=1), tick=False):
        assert _me(client, raw).status_code == 200
    with time_machine.travel(T0 + timedelta(days=30), tick=False):
        refused = _me(client, raw)
    assert refused.status_code == 401 and "expiré" in refused.json["detail"]


def test_last_use_is_written_at_most_once_a_minute(any_app, client):
    user = f.user("client")
    raw = tokens.create(user, "poller")
    db.session.commit()
    seen = []
    for offset in (0, 30, 59, 61, 62):
        with time_machine.travel(T0 + timedelta(seconds=offset), tick=False):
            assert _me(client, raw).status_code == 200
        f.reread()
        seen.append(db.session.scalar(select(ApiToken.last_used_at)))
    assert seen == [T0, T0, T0, T0 + timedelta(seconds=61), T0 + timedelta(seconds=61)]


def test_an_admin_sees_a_users_tokens_and_revokes_one(app, client, auth):
    user, admin = f.user("consultant"), f.user("admin")
    raw = tokens.create(user, "agenda-sync")
    db.session.commit()
    token = db.session.scalar(select(ApiToken))
    auth.login(admin.email)
    page = client.get("/admin/utilisateurs").get_data(as_text=True)
    assert "agenda-sync" in page and user.email in page and raw not in page
    assert client.post("/admin/jetons/revoquer", data={"token_id": token.id, "confirmed": "1"}).status_code == 302
    assert _me(client, raw).status_code == 401
    assert client.post("/admin/jetons/revoquer", data={"token_id": "abc"}).status_code == 400
    assert client.get("/admin/utilisateurs").status_code == 200


def test_cli_lists_and_revokes_a_token_by_id_or_name(app, runner, client):
    one, two = f.user("client"), f.user("client")
    raw_one, raw_two = tokens.create(one, "nightly"), tokens.create(two, "nightly")
    raw_other = tokens.create(one, "export")
    db.session.commit()
    listing = runner.invoke(args=["users", "tokens", one.email])
    assert listing.exit_code == 0 and "nightly" in listing.output and "export" in listing.output
    assert raw_one not in listing.output
    ambiguous = runner.invoke(args=["users", "revoke-token", "nightly"])
    assert ambiguous.exit_code == 1 and "Plusieurs jetons" in ambiguous.output
    assert runner.invoke(args=["users", "revoke-token", "nightly", "--user", one.email]).exit_code == 0
    export_id = db.session.scalar(select(ApiToken.id).where(ApiToken.label == "export"))
    assert runner.invoke(args=["users", "revoke-token", str(export_id)]).exit_code == 0
    assert _me(client, raw_one).status_code == 401 and _me(client, raw_other).status_code == 401
    assert _me(client, raw_two).status_code == 200
    unknown = runner.invoke(args=["users", "revoke-token", "nope"])
    assert unknown.exit_code == 1 and "Aucun jeton actif" in unknown.output


def test_cli_token_with_a_lifetime_expires(app, runner, client):
    user = f.user("planner")
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        raw = runner.invoke(args=["users", "token", user.email, "--label", "bench", "--days", "1"]).output.strip()
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        assert _me(client, raw).status_code == 401
