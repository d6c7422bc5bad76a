"""What the cradle publishes is bounded and printable: a phone's answers are untrusted text.

Characters that do not print (a NUL in an IMEI, an escape sequence in a device name, a
bidirectional override) are shown escaped (`\\x00`, `\\u202e`) by the one rule the CLI uses,
and each value is cut to the shared limit with its original length said, so a phone
that answers 3,000 digits for its IMEI cannot fill a payload or a journal event.
"""

from __future__ import annotations

from typing import Any

from edge.characters import escaped
from edge.limits import MAX_CODE_LENGTH, MAX_NOTE_LENGTH


def clean_text(text: str, limit: int = MAX_CODE_LENGTH) -> str:
    """`text` shown as the CLI shows stored text (`edge.characters.escaped`), then cut to
    `limit` characters (length said)."""
    head = text[: limit * 4]  # never escape megabytes to keep a few hundred characters
    cleaned = escaped(head)
    if len(cleaned) <= limit and len(head) == len(text):
        return cleaned
    suffix = f"…({len(text)} characters)"
    return cleaned[: max(0, limit - len(suffix))] + suffix


def clean_values(value: Any, limit: int = MAX_NOTE_LENGTH) -> Any:
    """Every string inside a JSON-ready value cleaned (`clean_text`), keys and values alike."""
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, dict):
        return {clean_text(str(k), limit): clean_values(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_values(v, limit) for v in value]
    return value
