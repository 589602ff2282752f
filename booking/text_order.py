"""Names in the order a reader looks for them: letters first, accents and case after. A database orders by its
collation (bytes on SQLite and on a cluster made with the C locale: « Léa » after « Lucas », « émilie » after
« Zoé »); the lists people pick from (companies, consultants, users) are sorted here instead, the same on every
database. They are a few hundred rows at most."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import TypeVar

T = TypeVar("T")


# Letters Unicode does not decompose, as French and its neighbours alphabetise them (« Cœur » among the « coe »).
_SPELLED = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ł": "l"})


def name_key(name: str) -> tuple[str, str, str]:
    """Base letters (no accent, no case), then accents (« Lea » before « Léa »), then case."""
    folded = unicodedata.normalize("NFD", name.casefold())
    base = "".join(c for c in folded if not unicodedata.combining(c)).translate(_SPELLED)
    return base, folded, name


def by_name(items: Iterable[T], name: Callable[[T], str] = attrgetter("name")) -> list[T]:
    """`items` as a list in the order of their names (`name` reads one)."""
    return sorted(items, key=lambda item: name_key(name(item)))
