"""What a decoded barcode says: AIM symbology prefix, GS1 element strings, IMEI.

Shared by every reader of codes (keyboard-wedge and serial scanners, the camera), so a label
means the same whichever device read it. Pure: text in, `ScannedCode` out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import biip
from biip.symbology import SymbologyIdentifier
from stdnum import imei as stdnum_imei

from edge.characters import check_code
from edge.limits import MAX_CODE_LENGTH

GS = "\x1d"  # GS1 field separator (FNC1 in the data)

# ISO/IEC 15424 symbology letters → names used on the bus. The modifier decides GS1-ness.
_SYMBOLOGY_BY_AIM: dict[str, str] = {
    "A": "code39",
    "C": "code128",
    "d": "datamatrix",
    "E": "ean-upc",
    "e": "gs1-databar",
    "F": "codabar",
    "G": "code93",
    "I": "itf",
    "L": "pdf417",
    "Q": "qr",
    "z": "aztec",
}


class CodeError(ValueError):
    """A read that is not a usable code: empty, over MAX_CODE_LENGTH, or with a control
    character no symbol carries as data (edge/characters.py)."""


@dataclass(frozen=True, slots=True)
class ScannedCode:
    """One decoded code, normalised; `raw` is exactly what the device sent."""

    code: str  # the data, AIM prefix removed; GS1 separators kept as GS (0x1d)
    symbology: str  # "qr", "gs1-128", "ean-upc", … or "unknown" without an AIM prefix
    aim: str | None  # e.g. "]C1"; None when the reader sent no prefix
    raw: bytes
    gs1: dict[str, str] = field(default_factory=dict)  # AI → value, in label order
    imei: str | None = None  # only a 15-digit code with a valid Luhn check digit


def interpret(raw: bytes, symbology_hint: str | None = None) -> ScannedCode:
    """Read `raw` (one terminated read, terminator removed) into a `ScannedCode`.

    `symbology_hint` is what a camera decoder already knows; a keyboard wedge relies on the
    AIM prefix. Raises `CodeError` for an empty read, one over MAX_CODE_LENGTH characters or
    one with a control character other than the GS1 separators.
    """
    text = raw.decode("utf-8", errors="replace")
    if not text.strip(GS + " \t\r\n"):
        raise CodeError("empty read: nothing but separators or whitespace")
    aim: str | None = None
    symbology = symbology_hint or "unknown"
    gs1_symbology = False
    data = text
    if len(text) >= 3 and text[0] == "]":
        try:
            ident = SymbologyIdentifier.extract(text)
        except biip.ParseError:  # an unknown symbology letter
            ident = None
        if ident is not None:
            aim = ident.value
            data = text[len(aim) :]
            gs1_symbology = ident.gs1_symbology is not None
            symbology = _symbology_name(ident)
    if len(data) > MAX_CODE_LENGTH:
        raise CodeError(f"code is {len(data)} characters, over the limit of {MAX_CODE_LENGTH}")
    try:
        check_code(data)
    except ValueError as exc:
        raise CodeError(str(exc)) from None
    if not data.strip(GS + " \t\r\n"):
        raise CodeError(f"empty read: {aim} and no data after it")
    gs1 = _gs1_elements(aim, data) if gs1_symbology or GS in data else {}
    if gs1 and symbology == "unknown":
        symbology = "gs1"
    digits = data.strip()
    imei = digits if len(digits) == 15 and stdnum_imei.is_valid(digits) else None
    return ScannedCode(code=data, symbology=symbology, aim=aim, raw=raw, gs1=gs1, imei=imei)


def _symbology_name(ident: SymbologyIdentifier) -> str:
    if ident.gs1_symbology is not None:
        return str(ident.gs1_symbology.name).lower().replace("_", "-")
    return _SYMBOLOGY_BY_AIM.get(ident.value[1], f"aim-{ident.value[1]}")


def _gs1_elements(aim: str | None, data: str) -> dict[str, str]:
    if not data.lstrip()[:2].isdigit():
        # An element string starts with its AI's digits, after what `str.strip` removes (as biip
        # does: whitespace, GS and the other separators). biip would try each of its ~540 AIs
        # before saying so: ~60 µs here for every such read, e.g. a parcel label sent with the
        # GS1-128 prefix ]C1.
        return {}
    try:
        message = biip.parse(aim + data if aim else data).gs1_message
    except biip.ParseError:  # a broken element string is kept as plain data
        return {}
    if message is None:
        return {}
    return {element.ai.ai: element.value for element in message.element_strings}
