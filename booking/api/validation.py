"""marshmallow's own messages (a missing field, a wrong type, a length, a choice) in the reader's language.

marshmallow formats a field's or a validator's message when a value fails, during the request: each default
message is given a French msgid here, translated at that moment. `install()` runs when `booking.api` is imported,
before any schema of the API builds its fields (a field copies its class's messages when it is built)."""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate


class Message(str):
    """A French msgid that marshmallow takes for a plain string, said in the reader's language when it is
    formatted (a value failed) or read (`said`)."""

    lazy: LazyString

    def __new__(cls, lazy: LazyString) -> Message:
        message = super().__new__(cls, str(lazy))
        message.lazy = lazy
        return message

    def __str__(self) -> str:
        return str(self.lazy)

    def format(self, *args, **kwargs) -> str:
        try:
            return str(self.lazy).format(*args, **kwargs)
        except (KeyError, IndexError):  # Range fills in its operators when built, its bounds only when a value fails
            return self

    def __copy__(self) -> Message:  # immutable: a schema's deep copy of its fields shares it
        return self

    def __deepcopy__(self, memo) -> Message:
        return self


# The field types and validators the API's schemas use, with marshmallow's keys.
FIELDS = {
    fields.Field: {
        "required": _l("Champ obligatoire manquant."),
        "null": _l("Ce champ ne peut pas être nul."),
        "validator_failed": _l("Valeur refusée."),
    },
    fields.String: {"invalid": _l("Texte attendu."), "invalid_utf8": _l("Texte UTF-8 attendu.")},
    fields.Number: {"invalid": _l("Nombre attendu."), "too_large": _l("Nombre trop grand.")},
    fields.Integer: {"invalid": _l("Nombre entier attendu.")},
    fields.Boolean: {"invalid": _l("Booléen attendu : true ou false.")},
    fields.Date: {
        "invalid": _l("Date attendue, au format AAAA-MM-JJ."),
        "format": _l("Date attendue, au format AAAA-MM-JJ."),
    },
    fields.DateTime: {
        "invalid": _l("Date et heure attendues, au format ISO 8601 (2026-12-07T10:00:00+01:00)."),
        "invalid_awareness": _l("Date et heure attendues, au format ISO 8601 (2026-12-07T10:00:00+01:00)."),
        "format": _l("Date et heure attendues, au format ISO 8601 (2026-12-07T10:00:00+01:00)."),
    },
    fields.List: {"invalid": _l("Liste attendue.")},
    fields.Nested: {"type": _l("Objet JSON attendu.")},
    fields.Mapping: {"invalid": _l("Objet JSON attendu.")},
}
SCHEMA = {"type": _l("Objet JSON attendu."), "unknown": _l("Champ inconnu.")}
# The API's ranges include their bounds: the operators Range would insert (« greater than or equal to ») are left out.
VALIDATORS = {
    validate.Length: {
        "message_min": _l("La longueur doit être d'au moins {min}."),
        "message_max": _l("La longueur doit être d'au plus {max}."),
        "message_all": _l("La longueur doit être comprise entre {min} et {max}."),
        "message_equal": _l("La longueur doit être de {equal}."),
    },
    validate.Range: {
        "message_min": _l("La valeur doit être d'au moins {min}."),
        "message_max": _l("La valeur doit être d'au plus {max}."),
        "message_all": _l("La valeur doit être comprise entre {min} et {max}."),
    },
    validate.OneOf: {"default_message": _l("Valeur attendue parmi : {choices}.")},
}


def install() -> None:
    """Give marshmallow's classes the French msgids above (once; later calls change nothing)."""
    for field, messages in FIELDS.items():
        field.default_error_messages = {
            **field.__dict__.get("default_error_messages", {}),
            **{key: Message(text) for key, text in messages.items()},
        }
    Schema.error_messages = {key: Message(text) for key, text in SCHEMA.items()}
    for validator, attributes in VALIDATORS.items():
        for name, text in attributes.items():
            setattr(validator, name, Message(text))


def said(messages):
    """webargs' messages with every sentence in the reader's language (plain strings, for JSON)."""
    if isinstance(messages, dict):
        return {key: said(value) for key, value in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [said(value) for value in messages]
    return str(messages)


def summary(messages) -> str:
    """webargs' messages as one line, a nested field by its path: 'start : …. ; ticket.reference : …'."""
    parts = []
    for location in messages.values() if isinstance(messages, dict) else []:
        if isinstance(location, dict):
            parts += [f"{path} : {text}" for path, text in _flat(location)]
    return " ; ".join(parts)


def _flat(errors, path: str = ""):
    """(path, sentences) for each field of a nested error dict."""
    for key, value in errors.items():
        here = f"{path}.{key}" if path else str(key)
        if isinstance(value, dict):
            yield from _flat(value, here)
        else:
            yield here, "; ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
