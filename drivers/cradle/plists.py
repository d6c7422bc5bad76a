"""XML property lists a phone tool prints, read safely (pure): bounded, XML only, typed.

`ideviceinfo -x` and `idevicediagnostics` print what the phone answered as an XML plist. The
phone is untrusted: the text is size-checked before parsing (`MAX_TOOL_PLIST_BYTES`), binary
plists are refused (the tools print XML; nothing here asks for binary), plistlib refuses entity
declarations, and a root or a value of a type we did not expect is refused by name.
"""

from __future__ import annotations

import plistlib
from datetime import datetime
from xml.parsers.expat import ExpatError

from edge.limits import MAX_TOOL_PLIST_BYTES

PlistValue = (
    str | bytes | bool | int | float | datetime | list["PlistValue"] | dict[str, "PlistValue"]
)


class PlistRefused(ValueError):
    """A tool's plist output that is not read: too big, not XML, malformed or the wrong shape."""


def kind(value: object) -> str:
    """The plist type name of a value, as an error names it."""
    if isinstance(value, bool):
        return "boolean"
    names = {
        str: "string",
        bytes: "data",
        int: "integer",
        float: "real",
        datetime: "date",
        list: "array",
        dict: "dict",
    }
    return names.get(type(value), type(value).__name__)


def load_xml_plist(text: str, what: str) -> PlistValue | None:
    """The value an XML plist holds; None for empty output (lockdownd had no such key).
    Raises PlistRefused naming `what` (e.g. "ideviceinfo -x") and why."""
    size = len(text.encode("utf-8"))
    if size > MAX_TOOL_PLIST_BYTES:
        raise PlistRefused(f"{what}: {size} bytes is over the {MAX_TOOL_PLIST_BYTES}-byte limit")
    start = text.find("<?xml")
    if start < 0:
        start = text.find("<plist")
    if start < 0:
        if not text.strip():
            return None
        if text.lstrip().startswith("bplist"):
            raise PlistRefused(f"{what}: a binary plist; only XML is read")
        said = text.strip().splitlines()[0][:80]
        raise PlistRefused(f"{what}: not an XML plist (starts {said!r})")
    try:
        value = plistlib.loads(text[start:].encode("utf-8"), fmt=plistlib.FMT_XML)
    # AttributeError: plistlib reads a <date> with a regex and dereferences a failed match.
    except (plistlib.InvalidFileException, ExpatError, ValueError, AttributeError) as exc:
        raise PlistRefused(f"{what}: malformed XML plist ({exc})") from exc
    return _checked(value, what)


def load_dict_plist(text: str, what: str) -> dict[str, PlistValue]:
    """An XML plist whose root must be a dict (a full `ideviceinfo -x`, an IORegistry entry)."""
    value = load_xml_plist(text, what)
    if not isinstance(value, dict):
        shown = "no output" if value is None else f"the root is of type {kind(value)}"
        raise PlistRefused(f"{what}: {shown}, not dict")
    return value


def _checked(value: object, what: str) -> PlistValue:
    """`value` if it holds only plist types (plistlib's XML reader makes no others)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif not isinstance(item, str | bytes | bool | int | float | datetime):
            raise PlistRefused(f"{what}: unexpected value of type {kind(item)}")
    return value  # type: ignore[return-value]
