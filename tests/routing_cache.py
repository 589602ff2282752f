"""Werkzeug compiles each URL rule's builder (an AST turned into a function) every time an app adds the rule:
about two thirds of building our app, and the suite builds a thousand apps. The function depends only on the
rule's parsed parts, so the tests keep one per parts and share it between apps; production builds one app per
process and is left as werkzeug made it."""

from __future__ import annotations

from werkzeug.routing import Rule

_compile_builder = Rule._compile_builder
_builders: dict[tuple, object] = {}


def _shared_builder(self: Rule, append_unknown: bool = True):
    # A default resolves a part through the rule's own converter at compile time: such a rule compiles its own.
    # The builder reaches converters through the rule it is bound to (`self._converters`), never holds them.
    if self.defaults:
        return _compile_builder(self, append_unknown)
    key = (self.rule, tuple(self._trace), append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _compile_builder(self, append_unknown)
    return builder


def install() -> None:
    Rule._compile_builder = _shared_builder  # type: ignore[method-assign]
