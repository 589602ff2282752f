"""What the test process's apps may share: each test builds its own app (a thousand in the suite), and two costs
of building and using one do not depend on the app.
- URL builders: werkzeug compiles each rule's builder (an AST turned into a function) when an app adds the rule,
  about two thirds of building our app. The function depends only on the rule's parsed parts; it reaches the
  converters through the rule it is bound to.
- Compiled templates: each app's Jinja environment compiles a template the first time it renders it (a page test
  spent a tenth of its time there). A bytecode cache shared by every app (Jinja's own mechanism, keyed by the
  template's name and checked against its source) compiles each template once per process.
Production builds one app per process and keeps werkzeug's and Jinja's defaults."""

from __future__ import annotations

from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from werkzeug.routing import Rule

_compile_builder = Rule._compile_builder
_builders: dict[tuple, object] = {}


def _shared_builder(self: Rule, append_unknown: bool = True):
    # A default resolves a part through the rule's own converter at compile time: such a rule compiles its own.
    if self.defaults:
        return _compile_builder(self, append_unknown)
    key = (self.rule, tuple(self._trace), append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _compile_builder(self, append_unknown)
    return builder


class Templates(BytecodeCache):
    """Compiled templates in memory, for every app of the process."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}
        self.hits = 0  # templates an app found compiled (tests/test_app_cache.py)

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])
            self.hits += 1

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = Templates()


def install() -> None:
    Rule._compile_builder = _shared_builder  # type: ignore[method-assign]
    Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": TEMPLATES}
