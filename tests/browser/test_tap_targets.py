"""Tap targets of at least 24 × 24 CSS px (WCAG 2.2, 2.5.8) on the main pages of each role, at 1280 and 390 px."""

from __future__ import annotations

import pytest

from .test_login import login

PAGES = {  # who: the pages they use most
    "claire@labo-bernard.example": ["/portail/", "/portail/reserver/erplib", "/portail/rendez-vous"],
    "thomas.roux@erplib.example": ["/consultant/"],
    "planification@erplib.example": ["/planification/", "/planification/semaine", "/planification/rendez-vous"],
    "admin@erplib.example": ["/admin/", "/admin/utilisateurs"],
}
# The visible links, buttons and fields smaller than 24 × 24 px, except the exemptions of WCAG 2.5.8 found here:
# a link in a sentence ("inline": inline, beside words of no other target); a checkbox or radio whose label, which
# clicks it too, is big enough ("equivalent"); and, beside a phone's width, a block of the planner's week, whose
# width is its duration ("essential"; on a phone the blocks are listed as chips, measured like the rest).
SMALL = """() => {
    const TARGETS = 'a[href], button, select, summary, input:not([type=hidden]), [tabindex="0"]:not([role=region])';
    const big = r => r.width >= 23.5 && r.height >= 23.5;
    const inSentence = el => {
        if (getComputedStyle(el).display !== 'inline') return false;
        let block = el.parentElement;
        while (getComputedStyle(block).display.startsWith('inline')) block = block.parentElement;
        let words = block.innerText;
        for (const target of block.querySelectorAll(TARGETS)) words = words.replace(target.innerText, ' ');
        return /\\p{L}{2,}/u.test(words);
    };
    const labelled = el => [...(el.labels || [])].some(label => big(label.getBoundingClientRect()));
    return [...document.querySelectorAll(TARGETS)].filter(el => {
        const r = el.getBoundingClientRect();
        if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden' || big(r)) return false;
        if (getComputedStyle(el).clipPath !== 'none') return false;  // visually hidden until focused (a skip link)
        if (el.matches('.week-grid .bar .block') && innerWidth > 600) return false;
        return !(el.tagName === 'A' && inSentence(el)) && !(el.matches('[type=checkbox], [type=radio]') && labelled(el));
    }).map(el => `${el.tagName.toLowerCase()} "${(el.innerText || el.value || el.name || '').trim().slice(0, 40)}"`
        + ` ${Math.round(el.getBoundingClientRect().width)}×${Math.round(el.getBoundingClientRect().height)}`);
}"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_every_tap_target_is_at_least_24_px(page, live_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    small = {}
    for email, paths in PAGES.items():
        page.context.clear_cookies()
        login(page, live_server, email)
        page.wait_for_url(f"{live_server}/*/")
        for path in paths:
            assert page.goto(f"{live_server}{path}").status == 200, path
            if found := sorted(set(page.evaluate(SMALL))):
                small[path] = f"{len(found)}: {', '.join(found[:6])}{' …' if len(found) > 6 else ''}"
    assert not small, f"tap targets under 24 × 24 px at {width} px: {small}"
