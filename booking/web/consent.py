"""The sentences that say, before and after a destructive step, what it does to minutes and money: the pages'
names for them. They are said in one place for pages and mails, `services/consent_text`."""

from __future__ import annotations

from ..services.consent_text import happened, limit, money, will_happen

__all__ = ["happened", "limit", "money", "will_happen"]
