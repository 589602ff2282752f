"""One page of a long list: SQL LIMIT/OFFSET after a count, the page number clamped to the list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from ..extensions import db

PAGE_SIZE = 25
MAX_PAGE = 100_000  # a page number past this is the last page anyway: never a huge OFFSET from the address


@dataclass
class Page:
    items: list[Any]
    number: int
    pages: int
    total: int
    size: int = PAGE_SIZE


def paginate(query: Select, number: int | None, size: int = PAGE_SIZE, *, scalars: bool = True) -> Page:
    """Page `number` (1-based) of `query`, which must already be ordered (ties broken by an id)."""
    total = db.session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    pages = max(-(-total // size), 1)
    number = min(max(number or 1, 1), pages, MAX_PAGE)
    limited = query.offset((number - 1) * size).limit(size)
    items = list(db.session.scalars(limited).unique() if scalars else db.session.execute(limited))
    return Page(items, number, pages, total, size)


def slice_page(items: list, number: int | None, size: int = PAGE_SIZE) -> Page:
    """The same page over a list already computed in Python (a rule SQL cannot say, e.g. a deadline)."""
    pages = max(-(-len(items) // size), 1)
    number = min(max(number or 1, 1), pages)
    return Page(items[(number - 1) * size : number * size], number, pages, len(items), size)
