"""The planners' outbox page: queued, sent and failed mail, newest first, by status and page, and a
mail sent again now (POST with CSRF), for planners and admins only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from booking.extensions import db
from booking.models import OutboxMessage
from booking.models.types import utcnow
from booking.pgcluster import free_port
from booking.services import mail

from . import factories as f

WHEN = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def _mails(count: int) -> list[int]:
    """`count` queued mails, r0@… first; their ids, oldest first."""
    mail.queue([f"r{n}@example.test" for n in range(count)], "Sujet", "Corps")
    db.session.commit()
    return list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))


def _set(id_: int, **values) -> None:
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == id_).values(**values))
    db.session.commit()


def _get(id_: int) -> OutboxMessage:
    f.reread()
    return db.session.get(OutboxMessage, id_)


@pytest.fixture
def planner(app, auth):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    user = f.user("planner")
    db.session.commit()
    assert auth.login(user.email).status_code == 302
    return user


def _rows(html: str) -> list[str]:
    """The recipients listed, in page order."""
    return re.findall(r"<td [^>]*data-recipient>(r\d+@example\.test)</td>", html)


def test_the_outbox_lists_mail_newest_first_with_its_state(client, planner):
    queued, sent, failed = _mails(3)
    _set(sent, sent_at=WHEN, attempts=1)
    _set(failed, failed_at=WHEN, attempts=8, error="421 4.3.2 Service not available")
    _set(queued, attempts=2, error="Connection refused", next_attempt_at=WHEN + timedelta(minutes=2))
    page = client.get("/planification/courrier/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert _rows(html) == ["r2@example.test", "r1@example.test", "r0@example.test"]
    assert "421 4.3.2 Service not available" in html and "Connection refused" in html and "Sujet" in html
    assert "En échec" in html and "En attente (1)" in html and "Envoyés (1)" in html
    assert html.count("Réessayer maintenant</button>") == 2  # not for the mail already sent


def test_the_outbox_filters_by_status(client, planner):
    queued, sent, failed = _mails(3)
    _set(sent, sent_at=WHEN)
    _set(failed, failed_at=WHEN, error=mail.EXPIRED)
    assert _rows(client.get("/planification/courrier/?statut=echec").get_data(as_text=True)) == ["r2@example.test"]
    assert _rows(client.get("/planification/courrier/?statut=envoye").get_data(as_text=True)) == ["r1@example.test"]
    assert _rows(client.get("/planification/courrier/?statut=en-attente").get_data(as_text=True)) == ["r0@example.test"]
    assert "Conservé plus d'un jour" in client.get("/planification/courrier/?statut=echec").get_data(as_text=True)
    unknown = client.get("/planification/courrier/?statut=perdu")
    assert unknown.status_code == 400 and "en-attente, envoye ou echec" in unknown.get_data(as_text=True)


def test_the_outbox_is_paginated(client, planner):
    _mails(mail.PAGE_SIZE * 2 + 5)
    first = _rows(client.get("/planification/courrier/").get_data(as_text=True))
    assert len(first) == mail.PAGE_SIZE and first[0] == f"r{mail.PAGE_SIZE * 2 + 4}@example.test"
    last = client.get("/planification/courrier/?page=3").get_data(as_text=True)
    assert _rows(last)[-1] == "r0@example.test" and len(_rows(last)) == 5 and "Page 3 sur 3" in last
    assert _rows(client.get(f"/planification/courrier/?page={2**70}").get_data(as_text=True)) == _rows(last)
    assert _rows(client.get("/planification/courrier/?page=abc").get_data(as_text=True)) == first


def test_retry_now_gives_a_failed_mail_new_attempts_and_says_so(client, planner):
    (id_,) = _mails(1)
    _set(id_, failed_at=WHEN, attempts=8, error="Connection refused")
    answer = client.post("/planification/courrier/reessayer", data={"message_id": id_, "statut": "echec"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/planification/courrier/?statut=echec")
    entry = _get(id_)
    assert entry.failed_at is None and entry.attempts == 0 and entry.next_attempt_at <= utcnow()
    assert "remis en file" in client.get(answer.headers["Location"]).get_data(as_text=True)


def test_retry_now_moves_a_queued_mail_up(client, planner):
    (id_,) = _mails(1)
    _set(id_, attempts=3, next_attempt_at=utcnow() + timedelta(hours=1))
    assert client.post("/planification/courrier/reessayer", data={"message_id": id_}).status_code == 302
    entry = _get(id_)
    assert entry.attempts == 3 and entry.next_attempt_at <= utcnow()


def test_retry_now_refusals_say_why(app, client, planner):
    (id_,) = _mails(1)
    _set(id_, sent_at=WHEN)
    sent = client.post("/planification/courrier/reessayer", data={"message_id": id_})
    assert sent.status_code == 409 and "déjà parti" in sent.get_data(as_text=True)
    unknown = client.post("/planification/courrier/reessayer", data={"message_id": id_ + 1})
    assert unknown.status_code == 404 and "Aucun courriel" in unknown.get_data(as_text=True)
    for bad in ({}, {"message_id": "x"}, {"message_id": 2**31}):
        assert client.post("/planification/courrier/reessayer", data=bad).status_code == 400
    app.config.update(MAIL_SERVER="")
    no_server = client.post("/planification/courrier/reessayer", data={"message_id": id_})
    assert no_server.status_code == 409 and "MAIL_SERVER" in no_server.get_data(as_text=True)


def test_retry_now_needs_the_forms_csrf_token(app, client, planner):
    (id_,) = _mails(1)
    _set(id_, failed_at=WHEN, attempts=8)
    app.config.update(WTF_CSRF_ENABLED=True)
    assert client.post("/planification/courrier/reessayer", data={"message_id": id_}).status_code == 400
    assert _get(id_).failed_at == WHEN


@pytest.mark.parametrize("role", ["client", "consultant"])
def test_clients_and_consultants_neither_see_nor_retry_the_outbox(app, client, auth, role):
    (id_,) = _mails(1)
    _set(id_, failed_at=WHEN, attempts=8)
    user = f.consultant().user if role == "consultant" else f.user("client")
    db.session.commit()
    auth.login(user.email)
    assert client.get("/planification/courrier/").status_code == 403
    assert client.post("/planification/courrier/reessayer", data={"message_id": id_}).status_code == 403
    assert _get(id_).failed_at == WHEN


def test_without_login_the_outbox_asks_to_log_in(client):
    answer = client.get("/planification/courrier/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_admins_see_the_outbox(client, auth):
    admin = f.user("admin")
    db.session.commit()
    auth.login(admin.email)
    assert client.get("/planification/courrier/").status_code == 200


def test_the_planners_home_links_to_the_outbox_and_counts_failed_mail(client, planner):
    assert 'href="/planification/courrier/"' in client.get("/planification/").get_data(as_text=True)
    (id_,) = _mails(1)
    _set(id_, failed_at=WHEN)
    assert "1 courriel en échec" in client.get("/planification/").get_data(as_text=True)
