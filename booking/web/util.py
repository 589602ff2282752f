"""Small helpers shared by the web views."""

from datetime import date
from urllib.parse import urlsplit

from flask import Response, request
from flask_babel import gettext as _

from .. import inputs


def safe_next(target: str | None, default: str) -> str:
    """A local path to go back to, never another site (no user-controlled redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def csv_download(text: str, filename: str) -> Response:
    """A CSV file to download, starting with a byte-order mark: Excel, which the French users open it with, reads
    UTF-8 only when the file says so (without it « Aciéries » reads « AciÃ©ries »); other spreadsheets skip it."""
    return Response(
        "\ufeff" + text,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def year_asked() -> date | None:
    """The contract year an hour-bank page is asked for (?annee=, any day in it), else None: the current one."""
    text = request.args.get("annee")
    return inputs.day(text, _("Année contractuelle")) if text else None
