"""A planner refuses a priority consulting request: asked once more, with a reason the client is told (by mail, in
their language, and on their pages), re-checked under the company's lock, audited, said back to the planner."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from booking.extensions import db
from booking.models import AuditEntry, OutboxMessage, PriorityRequest
from booking.services import priority
from booking.services.errors import Conflict, Invalid

from . import factories as f

NOW = datetime(2026, 11, 30, 8, tzinfo=UTC)  # Monday 09:00 in Paris
REASON = "Aucun consultant migration libre cette semaine : demandez une session ERP-Lib ou réessayez lundi."


@pytest.fixture
def world(app):
    f.consultant(skills=("migration",))
    company = f.company("serenite", name="Pressé SA")
    requester = f.user("client", company, name="Claire Pressé")
    planner = f.user("planner")
    db.session.commit()
    request = priority.request_consulting(requester, "migration", 2, "days", "Migration de la paie", NOW)
    return {"requester": requester, "planner": planner, "request": request}


def _mails(to: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == to)))


def _refusals() -> int:
    return db.session.scalar(select(func.count()).where(AuditEntry.action == "priority.refuse"))


def _unchanged(world) -> None:
    db.session.expire_all()
    assert db.session.get(PriorityRequest, world["request"].id).status == "requested"
    assert _refusals() == 0 and _mails(world["requester"].email) == []


def test_refusing_is_a_second_step_that_says_what_it_does(world, client, auth):
    auth.login(world["planner"].email)
    url = f"/planification/priorite/{world['request'].id}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="refuse"' not in page  # no one-click refusal any more: a link to the confirmation step
    assert f'href="{url}/refus"' in page
    # a post of the old one-click button (a page opened before) leads to the step and refuses nothing
    one_click = client.post(f"{url}/decision", data={"decision": "refuse"})
    assert one_click.status_code == 302 and one_click.location.endswith(f"{url}/refus")
    _unchanged(world)
    step = client.get(f"{url}/refus")
    text = step.get_data(as_text=True)
    assert step.status_code == 200 and "Refuser cette demande ?" in text
    consequences = re.search(r'data-testid="consequences">([^<]*)<', text).group(1)
    assert "Claire Pressé reçoit votre motif par courriel" in consequences and "définitif" in consequences
    assert re.search(r'<textarea[^>]*id="reason"[^>]*maxlength="500"[^>]*required', text)
    assert 'name="csrf_token"' in text and "Oui, refuser la demande" in text
    _unchanged(world)


def test_the_confirmation_needs_the_forms_csrf_token(app, world, client, auth):
    auth.login(world["planner"].email)
    app.config.update(WTF_CSRF_ENABLED=True)
    posted = client.post(f"/planification/priorite/{world['request'].id}/refus", data={"reason": REASON})
    assert posted.status_code == 400
    _unchanged(world)


@pytest.mark.parametrize(
    "reason, status, said",
    [
        ("", 422, "Indiquez le motif du refus : le client le reçoit et peut agir en conséquence."),
        ("   \n ", 422, "Indiquez le motif du refus : le client le reçoit et peut agir en conséquence."),
        ("x" * 501, 422, "Motif trop long : 500 caractères au plus."),
    ],
)
def test_a_refusal_needs_a_short_reason(world, client, auth, reason, status, said):
    auth.login(world["planner"].email)
    posted = client.post(f"/planification/priorite/{world['request'].id}/refus", data={"reason": reason})
    text = posted.get_data(as_text=True)
    assert posted.status_code == status
    assert re.search(r'<span class="error" role="alert">' + re.escape(said.replace("'", "&#39;")), text)
    assert 'aria-invalid="true"' in text  # beside the reason's field
    _unchanged(world)


@pytest.mark.parametrize("reason, code", [("  ", "reason_missing"), ("x" * 501, "reason_too_long")])
def test_the_service_refuses_a_refusal_without_a_usable_reason(world, reason, code):
    """The page's form checks it first; the service checks it for every other caller."""
    with pytest.raises(Invalid) as refused:
        priority.refuse(world["planner"], world["request"], reason, NOW)
    assert refused.value.code == code and refused.value.field == "reason"
    with pytest.raises(Invalid) as no_reason:  # `decide` cannot refuse without one either
        priority.decide(world["planner"], world["request"], False, NOW)
    assert no_reason.value.code == "reason_missing"
    _unchanged(world)


@pytest.mark.parametrize(
    "locale, subject, lines, absent",
    [
        (
            "fr",
            "Demande de conseil prioritaire refusée",
            [
                "Bonjour,",
                "Un planificateur a refusé votre demande de conseil prioritaire du 30 novembre 2026 "
                "(2 jours, Migration).",
                f"Motif : {REASON}",
                "Vous pouvez réserver un rendez-vous ordinaire (http",
            ],
            ["Hello", "Reason"],
        ),
        (
            "en",
            "Priority consulting request refused",
            [
                "Hello,",
                "A planner has refused your priority consulting request of 30 November 2026 (2 days, Migration).",
                f"Reason: {REASON}",
                "You can book a regular appointment (http",
            ],
            ["Bonjour", "Motif", "refusé", "jours", "novembre", "Vous"],
        ),
    ],
)
def test_a_refusal_is_kept_audited_said_to_the_planner_and_mailed_in_the_clients_language(
    world, client, auth, locale, subject, lines, absent
):
    world["requester"].locale = locale  # the planner's page stays French: the mail follows the client
    db.session.commit()
    url = f"/planification/priorite/{world['request'].id}"
    with time_machine.travel(NOW, tick=False):
        auth.login(world["planner"].email)
        posted = client.post(f"{url}/refus", data={"reason": f"  {REASON}  "})
        page = client.get(url).get_data(as_text=True)  # at the same instant: the login's session ends some day
    assert posted.status_code == 302 and posted.location.endswith(url)
    assert "Demande refusée : Claire Pressé recevra votre motif par courriel." in page  # the flash
    assert re.search(r'data-testid="request-status">Refusée<', page)
    assert f'data-testid="refusal-reason">{REASON}<' in page.replace("&#39;", "'")
    db.session.expire_all()
    request = db.session.get(PriorityRequest, world["request"].id)
    assert (request.status, request.refusal_reason, request.refused_at) == ("refused", REASON, NOW)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "priority.refuse"))
    assert entry.actor_id == world["planner"].id and entry.details == {"reason": REASON}
    (mail,) = _mails(world["requester"].email)
    assert mail.subject == subject
    for line in lines:
        assert line in mail.body, (line, mail.body)
    assert "/portail/reserver)" in mail.body and "/portail/priorite)" in mail.body
    for word in absent:
        assert word not in mail.subject + mail.body.replace(REASON, ""), word


def test_a_request_already_decided_is_not_refused(world, client, auth):
    """A page left open while another planner accepted: the refusal is answered 409 with the sentence."""
    priority.decide(world["planner"], world["request"], True, NOW)
    auth.login(world["planner"].email)
    posted = client.post(f"/planification/priorite/{world['request'].id}/refus", data={"reason": REASON})
    text = posted.get_data(as_text=True)
    assert posted.status_code == 409
    assert "Cette demande a déjà été traitée : elle est « Acceptée ». Rechargez la page" in text
    assert 'id="reason"' not in text  # no form for a request that no longer waits for a decision
    db.session.expire_all()
    assert db.session.get(PriorityRequest, world["request"].id).status == "accepted"
    assert _refusals() == 0 and _mails(world["requester"].email) == []
    step = client.get(f"/planification/priorite/{world['request'].id}/refus")
    assert step.status_code == 200 and "Cette demande a déjà été traitée" in step.get_data(as_text=True)
    empty = client.post(f"/planification/priorite/{world['request'].id}/refus", data={"reason": ""})
    assert empty.status_code == 409 and "Cette demande a déjà été traitée" in empty.get_data(as_text=True)


def test_the_status_is_read_again_under_the_lock(world):
    """The caller read the request as requested before another planner's refusal committed: refused under the lock,
    and nothing more is written or mailed."""
    priority.refuse(world["planner"], world["request"], REASON, NOW)
    twin = world["request"]
    set_committed_value(twin, "status", "requested")  # as the second planner read it
    with pytest.raises(Conflict) as refused:
        priority.refuse(world["planner"], twin, "Un autre motif", NOW)
    assert refused.value.code == "state_changed" and refused.value.status == 409
    db.session.expire_all()
    assert db.session.get(PriorityRequest, twin.id).refusal_reason == REASON
    assert _refusals() == 1 and len(_mails(world["requester"].email)) == 1


@pytest.mark.parametrize(
    "locale, shown, french",
    [
        (
            "fr",
            [
                "Refusée",
                f"Motif :</strong> {REASON}",
                "Vous pouvez réserver un rendez-vous ordinaire ou envoyer une nouvelle demande",
                ">Réserver un rendez-vous</a>",
                ">Nouvelle demande</a>",
            ],
            [],
        ),
        (
            "en",
            [
                "Refused",
                f"Reason:</strong> {REASON}",
                "You can book a regular appointment or send a new request",
                ">Book an appointment</a>",
                ">New request</a>",
            ],
            ["Refusée", "Motif", "Vous pouvez", "Réserver", "Nouvelle demande", "Demandé le", "Statut"],
        ),
    ],
)
def test_the_clients_pages_say_refused_why_and_what_next(world, client, auth, locale, shown, french):
    priority.refuse(world["planner"], world["request"], REASON, NOW)
    world["requester"].locale = locale
    db.session.commit()
    auth.login(world["requester"].email)
    mine = client.get("/portail/priorite").get_data(as_text=True).replace("&#39;", "'")
    refusal = mine[mine.index('data-testid="refusal"') :]
    for text in shown:
        assert text in mine, text
    assert 'href="/portail/reserver"' in refusal and 'href="#new-request"' in refusal and 'id="new-request"' in mine
    request_page = client.get(f"/portail/priorite/{world['request'].id}/devis").get_data(as_text=True)
    assert REASON in request_page.replace("&#39;", "'") and 'href="/portail/reserver"' in request_page
    assert "Pas encore de devis" not in request_page and "No quote yet" not in request_page
    main = re.sub(r"<[^>]+>", " ", (mine + request_page).replace(REASON, ""))
    for word in french:  # the English pages are English throughout
        assert word not in main, word


def test_accepting_says_so(world, client, auth):
    url = f"/planification/priorite/{world['request'].id}"
    with time_machine.travel(NOW, tick=False):
        auth.login(world["planner"].email)
        client.post(f"{url}/decision", data={"decision": "accept"})
        assert "Demande acceptée : le plan se calcule" in client.get(url).get_data(as_text=True)


def test_the_planners_confirmation_step_in_english(world, client, auth):
    world["planner"].locale = "en"
    db.session.commit()
    auth.login(world["planner"].email)
    page = client.get(f"/planification/priorite/{world['request'].id}/refus").get_data(as_text=True)
    assert "Refuse this request?" in page and "Yes, refuse the request" in page and "Reason for the refusal" in page
    assert "Claire Pressé receives your reason by email" in page
    words = re.sub(r"<[^>]+>", " ", page[page.index("<main") :])
    for french in ("Refuser", "Motif", "reçoit", "Durée", "Compétence", "Demandé le", "revenir"):
        assert french not in words, french
    posted = client.post(f"/planification/priorite/{world['request'].id}/refus", data={"reason": ""})
    assert "Give the reason for the refusal: the client receives it and can act on it." in posted.get_data(as_text=True)
