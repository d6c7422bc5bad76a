"""What device the cradle read, in the catalogue's words, and whether it is the one declared.

A phone reports a model code (SM-G930F, iPhone14,5); a customer declares a name (Galaxy S7,
iPhone 13). The catalogue's `codes` map one to the other. Substitution (another phone in the
box than the one quoted) is the trade-in fraud that costs most, so a reading the catalogue
cannot place is not taken as a match: the technician confirms it by resolving the exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.limits import MAX_NAME_LENGTH
from stations.catalogue import Catalogue, name_key
from stations.manifest import ExpectedReturn


def bounded(text: object, limit: int = MAX_NAME_LENGTH) -> str:
    """A value from a device, safe to journal and show: control characters escaped (`\\x00`),
    cut to `limit` characters with the original length said."""
    raw = str(text)
    if len(raw) > limit * 4:  # never escape megabytes to keep a few hundred characters
        raw = raw[: limit * 4]
    cleaned = "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in raw
    )
    if len(cleaned) <= limit and len(raw) == len(str(text)):
        return cleaned
    suffix = f"…({len(str(text))} characters)"
    return cleaned[: max(0, limit - len(suffix))] + suffix


def fact(fields: dict[str, Any], name: str) -> str | None:
    """A cradle field's value (fields are {"value", "source"} records), bounded."""
    record = fields.get(name)
    value = record.get("value") if isinstance(record, dict) else None
    return None if value is None or str(value).strip() == "" else bounded(value)


@dataclass(frozen=True)
class ReadDevice:
    """The device as read: make and model as catalogued when the catalogue knows the code."""

    make: str | None
    model: str | None
    code: str | None  # the model as the phone reported it, when that is not the name
    catalogued: bool

    def describe(self) -> str:
        code = f" ({self.code})" if self.code else ""
        return f"{self.make or 'unknown make'} {self.model or 'unknown model'}{code}"


def read_device(
    model: str | None, fields: dict[str, Any], catalogue: Catalogue
) -> ReadDevice | None:
    """The device a cradle reading names, or None when it names neither a model nor a make (a
    make alone is still checked against the declaration: it is never taken as a match)."""
    reported = None if model is None or not str(model).strip() else bounded(model)
    code = fact(fields, "model_code")
    maker = fact(fields, "manufacturer") or fact(fields, "brand")
    if reported is None and code is None:
        return None if maker is None else ReadDevice(maker, None, None, catalogued=False)
    entry = catalogue.identify(maker, reported, code)
    if entry is not None:
        shown = reported if reported and name_key(reported) != name_key(entry.model) else code
        return ReadDevice(entry.make, entry.model, shown, catalogued=True)
    return ReadDevice(maker, reported or code, code if reported else None, catalogued=False)


def mismatch(read: ReadDevice, declared: ExpectedReturn, catalogue: Catalogue) -> str | None:
    """Why the device read is not the one declared, or None when it is."""
    expected = catalogue.identify(declared.make, declared.model)
    said = f"{declared.make} {declared.model}"
    if read.make and name_key(read.make) != name_key(declared.make):
        return f"the cradle read {read.describe()}; return {declared.return_id} declared {said}"
    if read.catalogued and expected is not None:
        if (name_key(read.make or ""), name_key(read.model or "")) == (
            name_key(expected.make),
            name_key(expected.model),
        ):
            return None
        return f"the cradle read {read.describe()}; return {declared.return_id} declared {said}"
    names = {name_key(n) for n in (expected.names() if expected else (declared.model,))}
    if name_key(read.model or "") in names or (read.code and name_key(read.code) in names):
        return None
    return (
        f"the cradle read {read.describe()}, which the catalogue cannot match to the declared "
        f"{said} of return {declared.return_id}; check the device (or add its model code to "
        "the catalogue)"
    )
