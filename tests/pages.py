"""Reading rendered pages in tests."""

from __future__ import annotations

import re

# What differs between two renderings of the same page: the CSP nonce and the forms' CSRF tokens (signed with
# the second they were made).
_SALT = re.compile(r'nonce-[^;\'"]+|nonce="[^"]+"|name="csrf_token" value="[^"]+"')


def unsalted(page: str) -> str:
    """`page` without its per-request values, to compare two renderings."""
    return _SALT.sub("salt", page)
