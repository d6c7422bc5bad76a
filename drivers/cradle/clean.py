"""What the cradle publishes is bounded and printable: a phone's answers are untrusted text.

Control characters (a NUL in an IMEI, an escape sequence in a device name) are shown escaped
(`\\x00`), and each value is cut to the shared limit with its original length said, so a phone
that answers 3,000 digits for its IMEI cannot fill a payload or a journal event.
"""

from __future__ import annotations

from typing import Any

from edge.limits import MAX_CODE_LENGTH, MAX_NOTE_LENGTH


def clean_text(text: str, limit: int = MAX_CODE_LENGTH) -> str:
    """`text` with control characters escaped, cut to `limit` characters (length said)."""
    head = text[: limit * 4]  # never escape megabytes to keep a few hundred characters
    cleaned = "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in head
    )
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
