"""The contract edited from the admin page: kept in the database (every version, the newest in force) so
that every web worker and the scheduler use the same one; the file stays the starting point.

Each transaction asks the database once for the newest version's id, and parses a version's text
once per process; checks, previews and applies go through `contract.parse_text`, the file's own loader.
"""

from __future__ import annotations

import difflib
import re
import threading
from datetime import datetime

from flask import has_app_context
from flask_babel import gettext as _
from sqlalchemy import select

from .. import contract
from ..extensions import db
from ..models import ContractVersion, User
from . import audit, locking, snapshot
from .errors import Conflict, Invalid

MAX_TEXT = 200_000  # characters: a contract is a few kilobytes; a huge post is refused before parsing
_parsed: dict[tuple[str, int], contract.Contract] = {}  # (database, version id): ids are per database
_parsed_lock = threading.Lock()
_NEWEST = select(ContractVersion.id).order_by(ContractVersion.id.desc()).limit(1)


def newest_id() -> int | None:
    """The id of the version in force (None: the file), read once per database transaction (with the
    transaction's snapshot): a request or a job reads it once, and again after each commit (a long-lived
    context never keeps a stale one)."""
    return snapshot.read().contract_version


def in_force() -> contract.Contract | None:
    """The newest applied version, parsed (cached per process by its id), or None when none was applied."""
    if not has_app_context():
        return None
    version = newest_id()
    if version is None:
        return None
    key = (db.engine.url.render_as_string(), version)
    with _parsed_lock:
        found = _parsed.get(key)
    if found is None:
        text = db.session.execute(select(ContractVersion.text).where(ContractVersion.id == version)).scalar_one()
        found = contract.parse_text(text, f"contract_versions #{version}", strict=False)  # as it was accepted
        with _parsed_lock:
            _parsed[key] = found
    return found


def text_in_force() -> str:
    """The TOML in force: the newest applied version's text, else the file's."""
    return _text(newest_id())


def _text(version: int | None) -> str:
    if version is not None:
        return db.session.execute(select(ContractVersion.text).where(ContractVersion.id == version)).scalar_one()
    with open(contract.file_path(), encoding="utf-8") as fh:
        return fh.read()


def check(text: str) -> contract.Contract:
    """The contract this text describes, or Invalid with the loader's own error (a rule's sentence and code)."""
    if len(text) > MAX_TEXT:
        raise Invalid(_("Contrat refusé : le texte dépasse %(n)d caractères.", n=MAX_TEXT))
    try:
        return contract.parse_text(text, "contract.toml")
    except contract.ContractError as exc:  # a rule's own sentence, code and field where it has them
        error = _("Contrat refusé, rien n'a changé : %(error)s", error=str(exc.sentence or exc))
        raise Invalid(error, code=exc.code, field=exc.field) from None
    except ValueError as exc:
        raise Invalid(_("Contrat refusé, rien n'a changé : %(error)s", error=str(exc))) from None


def diff(before: str, after: str) -> list[str]:
    """The change as unified-diff lines (without the two file headers)."""
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), "en vigueur", "proposé", lineterm="", n=2)
    return list(lines)[2:]


def apply(actor: User, text: str, based_on: int | None, now: datetime) -> ContractVersion:
    """Put this text in force; refused when it is invalid, or when another version was applied since the
    preview (`based_on`: the version in force that the admin compared against)."""
    text = normalise(text)
    check(text)
    with locking.locked([locking.CONTRACT]):
        current = db.session.scalar(_NEWEST)
        if current != based_on:
            raise Conflict(_("Le contrat a été modifié entre-temps par quelqu'un d'autre : relisez l'aperçu."))
        before = _text(current)
        if before == text:
            raise Invalid(_("Aucun changement : le contrat proposé est celui en vigueur."))
        version = ContractVersion(text=text, created_at=now, actor_id=actor.id)
        db.session.add(version)
        db.session.flush()
        changed = [line for line in diff(before, text) if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        audit.record(actor, "contract.apply", version, based_on=based_on, changes=changed[:200])
    return version


def normalise(text: str) -> str:
    """Line ends as the file has them (a browser posts CRLF), one final newline."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n") + "\n"


def history(limit: int = 20) -> list[ContractVersion]:
    return list(db.session.scalars(select(ContractVersion).order_by(ContractVersion.id.desc()).limit(limit)))


def set_value(text: str, table: str, key: str, value: int) -> str:
    """The TOML text with `key = value` in `[table]`, comments and layout kept (the field form's edit)."""
    lines = text.split("\n")
    header = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
    inside, insert_at = False, None
    assignment = re.compile(rf"^(\s*{re.escape(key)}\s*=\s*)([^#]*?)(\s*(#.*)?)$")
    for n, line in enumerate(lines):
        found = header.match(line)
        if found:
            if inside:
                break
            inside = found.group(1).strip() == table
            if inside:
                insert_at = n + 1
            continue
        if inside:
            match = assignment.match(line)
            if match:
                lines[n] = f"{match.group(1)}{value}{match.group(3)}"
                return "\n".join(lines)
    if insert_at is None:
        raise Invalid(_("Contrat : la section [%(table)s] manque ; modifiez le texte complet.", table=table))
    lines.insert(insert_at, f"{key} = {value}")
    return "\n".join(lines)
