"""`ideviceinfo`'s key: value text output (pure): the fallback when `-x` cannot be read.

Two layouts, from libimobiledevice's own printers:

- 1.3.0 (`common/utils.c`, `plist_print_to_stream`): a dict or array value prints `Key: ` (or
  `Key[N]: `) alone on its line, its entries below, one more space of indent per level; strings
  are printed raw (a newline in a device name starts a new line).
- 1.4.0 (libplist's `PLIST_FORMAT_LIMD` writer, `out-limd.c`): a nested dict's first entry
  stays on its parent's line (`NonVolatileRAM: auto-boot: dHJ1ZQ==`), the rest follow indented;
  arrays print `Key[N]:` with items below; control characters in strings are escaped.

Both lose the value types (data is base64 text, a boolean is `true`), and a one-entry dict in
the 1.4.0 layout cannot be told from a string holding ": ", so this layout is read for
identification only: the lock rules never take `clear` from it (`drivers/cradle/lock.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

TextValue = str | dict[str, "TextValue"]
TextLayout = Literal["1.3.0", "1.4.0", "flat"]

_ARRAY_KEY = re.compile(r"\[\d+\]$")


@dataclass(frozen=True, slots=True)
class TextInfo:
    """What the text output holds (arrays as dicts keyed "0", "1", ...) and which layout."""

    values: dict[str, TextValue]
    layout: TextLayout  # "flat" when nothing nested showed which printer made it


def _split(text: str) -> tuple[str, str, bool] | None:
    """`Key: value` / `Key[N]:` → (key, value, is an array); None when `text` is no entry."""
    key, colon, value = text.partition(":")
    if not colon or not key.strip() or (value and not value.startswith(" ")):
        return None
    array = _ARRAY_KEY.search(key.strip()) is not None
    return _ARRAY_KEY.sub("", key.strip()), value[1:], array


def parse_info_text(text: str) -> TextInfo:
    """`ideviceinfo` (no `-x`) → nested dicts, in either libimobiledevice layout."""
    rows: list[tuple[int, tuple[str, str, bool]]] = []
    for line in text.splitlines():
        entry = _split(line.strip()) if line.strip() else None
        if entry is not None:
            rows.append((len(line) - len(line.lstrip(" ")), entry))
    root: dict[str, TextValue] = {}
    stack: list[tuple[int, dict[str, TextValue]]] = [(0, root)]  # (indent of entries, dict)
    inline = bare = False
    for i, (indent, (key, value, array)) in enumerate(rows):
        while len(stack) > 1 and stack[-1][0] > indent:
            stack.pop()
        target, level = stack[-1][1], indent
        opens = max(0, rows[i + 1][0] - indent) if i + 1 < len(rows) else 0
        while True:
            nested = _split(value) if value.strip() else None
            if opens == 0 or (value.strip() and nested is None):
                target[key] = value  # a leaf (a stray deeper line after it joins the block above)
                break
            child: dict[str, TextValue] = {}
            target[key] = child
            level, opens = level + 1, opens - 1
            stack.append((level, child))
            if nested is None:  # opened on a line of its own
                bare = bare or not array  # 1.4.0 prints only arrays that way
                break
            inline = True  # 1.4.0: a dict's first entry stays on its opener's line
            target, (key, value, array) = child, nested
    layout: TextLayout = "1.3.0" if bare else "1.4.0" if inline else "flat"
    return TextInfo(root, layout)
