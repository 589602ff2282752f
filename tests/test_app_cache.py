"""The tests' apps share URL builders and compiled templates (tests/app_cache.py): every rule must build what
werkzeug's own builder for that rule builds, and a page must read the same as from templates compiled anew."""

from __future__ import annotations

import re

from werkzeug.routing.converters import NumberConverter

from booking import create_app

from . import app_cache


def _unsalted(page: str) -> str:
    return re.sub(r'nonce-[^;\'"]+|nonce="[^"]+"|name="csrf_token" value="[^"]+"', "salt", page)


def _values(rule) -> dict:
    return {name: 7 if isinstance(conv, NumberConverter) else "x-y" for name, conv in rule._converters.items()}


def test_each_rule_builds_what_its_own_builder_builds(app):
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 100
    for rule in rules:
        values = _values(rule)
        for append_unknown in (False, True):
            shared = rule._compile_builder(append_unknown).__get__(rule, None)
            own = app_cache._compile_builder(rule, append_unknown).__get__(rule, None)
            assert shared(**values) == own(**values), rule.rule
    assert app_cache._builders  # the app above was built with shared builders


def test_two_apps_share_a_builder_and_each_builds_with_its_own_converters(app):
    first = next(r for r in app.url_map.iter_rules() if r._converters)
    again = first._compile_builder(False)
    assert again is app_cache._builders[(first.rule, tuple(first._trace), False)]


def test_pages_render_the_same_from_the_shared_compiled_templates(app):
    fresh = create_app(dict(app.config))
    fresh.jinja_env.bytecode_cache = None  # compiles its own
    assert app.jinja_env.bytecode_cache is app_cache.TEMPLATES
    for path in ("/login", "/no-such-page"):
        shared, own = app.test_client().get(path), fresh.test_client().get(path)
        assert (shared.status_code, _unsalted(shared.text)) == (own.status_code, _unsalted(own.text))
    assert app_cache.TEMPLATES.code  # the first app compiled into the shared cache
