"""The tests' apps share URL builders and compiled templates (tests/app_cache.py): every rule must build what
werkzeug's own builder for that rule builds, and a page must read the same as from templates compiled anew."""

from __future__ import annotations

from werkzeug.routing.converters import NumberConverter

from booking import create_app

from . import app_cache
from .pages import unsalted


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


def test_two_apps_share_one_builder_per_rule(app):
    other = create_app(dict(app.config))
    rules = {r.endpoint: r for r in app.url_map.iter_rules() if r._converters}
    for rule in other.url_map.iter_rules():
        if rule.endpoint in rules:
            assert rule._build.__func__ is rules[rule.endpoint]._build.__func__, rule.rule
            assert rule._converters is not rules[rule.endpoint]._converters  # each reaches its own converters


def test_pages_render_the_same_from_the_shared_compiled_templates(app):
    paths = ("/login", "/no-such-page")
    for path in paths:  # compiled by this app into the shared cache, unless an earlier test did
        app.test_client().get(path)
    second, fresh = create_app(dict(app.config)), create_app(dict(app.config))
    fresh.jinja_env.bytecode_cache = None  # compiles its own
    assert second.jinja_env.bytecode_cache is app_cache.TEMPLATES
    hits = app_cache.TEMPLATES.hits
    for path in paths:
        shared, own = second.test_client().get(path), fresh.test_client().get(path)
        assert (shared.status_code, unsalted(shared.text)) == (own.status_code, unsalted(own.text))
    assert app_cache.TEMPLATES.hits > hits  # the second app's pages came from the shared cache
