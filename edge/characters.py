"""Which characters may enter, and how stored text is shown: one rule for every entry.

A control character (C0, DEL, C1) in a code is line noise, a misconfigured scanner or an attack
on whoever reads it later (`ESC [2J` clears a terminal), never data. The only ones a symbol
carries as data are the ISO/IEC 15434 separators of GS1 and MH10 symbols (EOT, FS, GS, RS); a
tab or a newline ends a scan, it is never inside one. The bus, the API, the journal, the manifest
and the drivers all call `check_code` / `check_text` (a person's notes and reasons: `check_words`,
lines and tabs allowed); the CLI prints stored text through `escaped`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from edge.limits import MAX_CODE_LENGTH, MAX_NOTE_LENGTH

# ISO/IEC 15434 format separators a GS1 or MH10 symbol carries in its data (GS is FNC1).
CODE_SEPARATORS = "\x04\x1c\x1d\x1e"
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WORDS_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CODE_CONTROLS = re.compile(r"[\x00-\x03\x05-\x1b\x1f\x7f-\x9f]")
_NAMES = {
    "\x00": "NUL",
    "\x09": "TAB",
    "\x0a": "LF",
    "\x0d": "CR",
    "\x1b": "ESC",
    "\x7f": "DEL",
}


def describe(char: str) -> str:
    """`0x1b (ESC)`: a control character as an error message names it."""
    name = _NAMES.get(char)
    return f"0x{ord(char):02x}" + (f" ({name})" if name else "")


def _refuse(text: str, pattern: re.Pattern[str], allowed: str) -> str:
    found = pattern.search(text)
    if found is not None:
        raise ValueError(
            f"control character {describe(found.group())} at position {found.start()}; {allowed}"
        )
    return text


def check_code(text: str) -> str:
    """A scanned or typed code (or a name made from one): no control characters but the
    ISO/IEC 15434 separators. Raises ValueError naming the character and where it is."""
    return _refuse(
        text, _CODE_CONTROLS, "a code holds no control characters but the GS1 separators"
    )


def check_text(text: str) -> str:
    """A name or a person's words: no control characters at all (tab, newline, ESC, ...)."""
    return _refuse(text, _CONTROLS, "this text holds no control characters (tab, newline, ...)")


def check_words(text: str) -> str:
    """A person's free text (a note, a reason): lines and tabs, no other control character."""
    return _refuse(text, _WORDS_CONTROLS, "a note holds no control characters but tab and newline")


# A code as every entry takes it: the bus scan payload, the API's typed scan.
Code = Annotated[str, Field(min_length=1, max_length=MAX_CODE_LENGTH), AfterValidator(check_code)]
# A person's words as every entry takes them: notes, reasons.
Words = Annotated[str, Field(max_length=MAX_NOTE_LENGTH), AfterValidator(check_words)]


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escaped(text: str) -> str:
    """`text` safe to write to a terminal: every character that does not print (controls,
    bidirectional overrides, zero-width and other format characters, unassigned code points) as
    a visible `\\x1b` / `\\u202e`; the space stays a space."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)
