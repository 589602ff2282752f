"""Without JavaScript, an API token is revoked only after a second step that names it and says its programs
get 401 at once; then the page says it is revoked; a new token or calendar address, shown once, is seen whole
and copied by a button; and a new calendar address survives a reload."""

import pytest
from playwright.sync_api import expect

from .test_login import SHOTS, login


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_a_token_is_revoked_after_being_asked(plain_page, live_server, width):
    page, name = plain_page, f"Script de facturation {width}"
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "claire@transports-leroy.example")
    page.goto(f"{live_server}/compte/")
    page.get_by_label("Nom du jeton").fill(name)
    page.get_by_role("button", name="Créer le jeton").click()
    raw = page.get_by_test_id("new-token").inner_text()
    expect(page.get_by_role("button", name="Copier")).to_be_hidden()  # without scripts: select it by a click
    me = f"{live_server}/api/v1/me"
    bearer = {"Authorization": f"Bearer {raw}"}
    row = page.locator("tr", has_text=name)

    row.get_by_role("button", name="Révoquer").click()
    expect(page.get_by_role("heading", name=f"Révoquer le jeton « {name} » ?")).to_be_visible()
    expect(page.get_by_test_id("consequences")).to_contain_text("recevront aussitôt une erreur 401")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing runs off a phone's screen
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"token-revoke-confirm-{width}.png", full_page=True)
    assert page.request.get(me, headers=bearer).status == 200  # asking changed nothing
    page.get_by_role("link", name="Non, revenir").click()
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "active")

    row.get_by_role("button", name="Révoquer").click()
    page.get_by_role("button", name="Oui, révoquer ce jeton").click()
    expect(page.get_by_role("status").first).to_have_text(f"Jeton « {name} » révoqué : il ne fonctionne plus.")
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "revoked")
    assert page.request.get(me, headers=bearer).status == 401


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_the_copy_button_copies_the_new_token_which_is_shown_whole(page, live_server, width):
    """The secret, shown once, wraps inside its box at any width (no part hidden in a scrolled field); the
    button, shown by its script, puts it on the clipboard and says so."""
    page.set_viewport_size({"width": width, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    login(page, live_server, "claire@boulangeries-martin.example")
    page.goto(f"{live_server}/compte/")
    page.get_by_label("Nom du jeton").fill(f"Copie {width}")
    page.get_by_role("button", name="Créer le jeton").click()
    secret = page.get_by_test_id("new-token")
    raw = secret.inner_text()
    assert raw.startswith("erp_") and len(raw) > 40
    _shown_whole(secret, width)
    _copied(page, raw)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"token-copied-{width}.png", full_page=True)


def _shown_whole(secret, width: int) -> None:
    """Every character of a secret shown once is in view: wrapped inside its box, nothing off a phone's screen."""
    assert secret.evaluate("e => e.scrollWidth <= e.clientWidth")
    box = secret.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert secret.page.evaluate("document.documentElement.scrollWidth") <= width


def _copied(page, raw: str) -> None:
    """The copy button, shown by its script, puts the secret on the clipboard and says so."""
    expect(page.get_by_test_id("copy-feedback")).to_have_text("")
    page.get_by_role("button", name="Copier").click()
    expect(page.get_by_test_id("copy-feedback")).to_have_text("Copié")
    assert page.evaluate("navigator.clipboard.readText()") == raw


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_the_copy_button_copies_a_new_calendar_address_which_is_shown_whole(page, live_server, width):
    """The same box and button as a new API token: the whole address readable at 390 px, copied in one click."""
    page.set_viewport_size({"width": width, "height": 900})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    login(page, live_server, "lucas.rousseau@erplib.example")
    page.goto(f"{live_server}/agenda")
    first = page.get_by_role("button", name="Créer mon adresse")
    if first.count():
        first.click()
    else:  # another run gave this consultant an address already
        page.get_by_role("link", name="Créer une nouvelle adresse").click()
        page.get_by_role("button", name="Oui, créer une nouvelle adresse").click()
    address = page.get_by_test_id("feed-url")
    raw = address.inner_text()
    assert raw.startswith(f"{live_server}/") and raw.endswith(".ics") and len(raw) > 40
    _shown_whole(address, width)
    _copied(page, raw)
    assert page.request.get(raw).status == 200  # what was copied is the address that works
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"feed-copied-{width}.png", full_page=True)


@pytest.mark.browser
def test_a_new_calendar_address_is_shown_once_and_a_reload_keeps_it(plain_page, live_server):
    page = plain_page
    login(page, live_server, "hugo.lambert@erplib.example")
    page.goto(f"{live_server}/agenda")
    first = page.get_by_role("button", name="Créer mon adresse")
    if first.count():
        first.click()
        expect(page.get_by_role("status").first).to_have_text("Adresse secrète créée.")
    else:  # another run gave this consultant an address already
        page.get_by_role("link", name="Créer une nouvelle adresse").click()
        page.get_by_role("button", name="Oui, créer une nouvelle adresse").click()
        expect(page.get_by_role("status").first).to_contain_text("l'ancienne ne fonctionne plus")
    url = page.get_by_test_id("feed-url").inner_text()
    expect(page.get_by_role("button", name="Copier")).to_be_hidden()  # without scripts: select it by a click
    expect(page).to_have_url(f"{live_server}/agenda")  # a GET: a reload sends nothing again
    page.reload()
    expect(page.get_by_test_id("feed-url")).to_have_count(0)
    expect(page.get_by_text("Une adresse est active depuis le")).to_be_visible()
    assert page.request.get(url).status == 200  # the reload did not replace the address shown


@pytest.mark.browser
def test_a_revoked_calendar_address_stops_at_once_and_a_replaced_one_too(plain_page, live_server):
    """A client company's address: replaced, the old one answers 404 and the new one the calendar; revoked (after
    a second step that says what it breaks), it answers 404 and the page offers to create one."""
    page = plain_page
    login(page, live_server, "claire@labo-bernard.example")
    page.goto(f"{live_server}/agenda")
    first = page.get_by_role("button", name="Créer mon adresse")
    if first.count():
        first.click()
        old = page.get_by_test_id("feed-url").inner_text()
    else:  # another run left this company an address, its URL no longer shown: replace it once more
        old = None
    page.get_by_role("link", name="Créer une nouvelle adresse").click()
    expect(page.get_by_role("heading", name="Remplacer l'adresse de votre agenda ?")).to_be_visible()
    page.get_by_role("button", name="Oui, créer une nouvelle adresse").click()
    expect(page.get_by_role("status").first).to_contain_text("l'ancienne ne fonctionne plus")
    new = page.get_by_test_id("feed-url").inner_text()
    if old is not None:
        assert page.request.get(old).status == 404
    served = page.request.get(new)
    assert served.status == 200 and served.headers["content-type"].startswith("text/calendar")
    page.get_by_role("link", name="Révoquer").click()
    expect(page.get_by_role("heading", name="Révoquer l'adresse de votre agenda ?")).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "feed-revoke-confirm.png", full_page=True)
    page.get_by_role("button", name="Oui, révoquer").click()
    expect(page.get_by_role("status").first).to_contain_text("Adresse secrète révoquée : elle ne fonctionne plus")
    expect(page.get_by_text("Aucune adresse active.")).to_be_visible()
    expect(page.get_by_role("button", name="Créer mon adresse")).to_be_visible()
    assert page.request.get(new).status == 404
