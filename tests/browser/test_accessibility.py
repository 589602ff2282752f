"""axe-core's WCAG 2.x A and AA rules on the pages each role uses, at 1280 and 390 px."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from booking.extensions import db
from booking.models import Booking, Consultant, User

from .test_login import login

# who: the pages they use ({booking}: one of the client's company's bookings, whatever the day)
PAGES = {
    "claire@labo-bernard.example": [
        "/portail/",
        "/portail/reserver",
        "/portail/reserver/erplib",
        "/portail/rendez-vous",
        "/portail/rendez-vous/{booking}",
        "/portail/banque-heures",
        "/portail/contacts/",
        "/portail/priorite",
        "/compte/",
    ],
    "thomas.roux@erplib.example": ["/consultant/", "/agenda", "/compte/"],
    "planification@erplib.example": [
        "/planification/",
        "/planification/semaine",
        "/planification/rendez-vous",
        "/planification/rendez-vous/{booking}",
        "/planification/interventions",
        "/planification/facturation",
        "/planification/tableau-de-bord/",
        "/planification/consultants/",
        "/planification/consultants/{consultant}",
        "/planification/conflits",
        "/planification/courrier/",
        "/planification/journal/",
        "/planification/pourquoi/",
        "/planification/absences",
    ],
    "admin@erplib.example": [
        "/admin/",
        "/admin/societes/{company}",
        "/admin/societes/nouvelle",
        "/admin/utilisateurs",
        "/admin/contrat/",
        "/admin/webhooks/",
        "/admin/webhooks/nouveau",
    ],
}
AXE = Axe()
# The planner's week draws each booking as a block as wide as its duration: WCAG 2.5.8 exempts such targets
# ("essential"); on a phone they are listed as chips, which are checked (see test_tap_targets.py).
CONTEXT = {"exclude": [[".week-grid .bar .block"]]}
OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}


def _ids(app) -> dict[str, int]:
    """The demo's client company, one of its bookings and a consultant, read from the live database."""
    with app.app_context():
        contact = db.session.scalar(select(User).where(User.email == "claire@labo-bernard.example"))
        booking = db.session.scalar(select(Booking.id).where(Booking.company_id == contact.company_id).limit(1))
        consultant = db.session.scalar(select(Consultant.id).limit(1))
        return {"company": contact.company_id, "booking": booking, "consultant": consultant}


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_the_main_pages_pass_axe_core(page, live_app, width):
    app, live_server = live_app
    ids = _ids(app)
    page.set_viewport_size({"width": width, "height": 900})
    found: dict[tuple, list] = {}
    for email, paths in PAGES.items():
        page.context.clear_cookies()
        login(page, live_server, email)
        page.wait_for_url(f"{live_server}/*/")
        for wanted in paths:
            address = live_server + wanted.format(**ids)
            assert page.goto(address).status == 200, address
            for v in AXE.run(page, context=CONTEXT, options=OPTIONS).response["violations"]:
                nodes = v["nodes"]
                found.setdefault((v["id"], v["impact"]), []).append(
                    (wanted, [n["target"] for n in nodes][:4], nodes[0].get("failureSummary", "")[:300])
                )
    said = {f"{rule} ({impact})": where[:3] for (rule, impact), where in found.items()}
    assert not found, f"axe-core at {width} px: {said}"
