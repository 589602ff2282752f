"""Money as the reader writes it: "1 234,50 €" in French, "€1,234.50" in English."""

from decimal import Decimal

from flask_babel import format_currency


def eur(amount: Decimal | float | int) -> str:
    """An amount in euros in the reader's locale."""
    return format_currency(Decimal(str(amount)), "EUR")
