"""The tests share URL builders between apps (tests/routing_cache.py): every rule must build what werkzeug's own
builder for that rule builds."""

from __future__ import annotations

from werkzeug.routing.converters import NumberConverter

from . import routing_cache


def _values(rule) -> dict:
    return {name: 7 if isinstance(conv, NumberConverter) else "x-y" for name, conv in rule._converters.items()}


def test_each_rule_builds_what_its_own_builder_builds(app):
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 100
    for rule in rules:
        values = _values(rule)
        for append_unknown in (False, True):
            shared = rule._compile_builder(append_unknown).__get__(rule, None)
            own = routing_cache._compile_builder(rule, append_unknown).__get__(rule, None)
            assert shared(**values) == own(**values), rule.rule
    assert routing_cache._builders  # the app above was built with shared builders


def test_two_apps_share_a_builder_and_each_builds_with_its_own_converters(app):
    first = next(r for r in app.url_map.iter_rules() if r._converters)
    again = first._compile_builder(False)
    assert again is routing_cache._builders[(first.rule, tuple(first._trace), False)]
