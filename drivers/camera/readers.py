"""The two barcode libraries behind one shape: gray frame in, `DecodedCode`s out.

zxing-cpp reads everything we print (Data Matrix, GS1 in any symbology) and reports the AIM
symbology identifier; pyzbar (libzbar0) is the baseline the design started from and reads QR and
linear codes. Both go through `drivers.codes.interpret`, so a camera read looks like a scanner's.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import zxingcpp

from drivers.camera.frames import Frame
from drivers.codes import CodeError, ScannedCode, interpret

log = logging.getLogger(__name__)

ZXING = "zxing-cpp"
ZBAR = "pyzbar"

Corners = tuple[tuple[int, int], ...]
Reader = Callable[[Frame], list["DecodedCode"]]


@dataclass(frozen=True, slots=True)
class DecodedCode:
    """One code found in a frame, which library read it, and where (frame pixels)."""

    code: ScannedCode
    reader: str  # ZXING or ZBAR
    corners: Corners = ()

    def moved(self, dx: int, dy: int) -> DecodedCode:
        """The same read with its corners shifted (region of interest → whole frame)."""
        if not dx and not dy:
            return self
        corners = tuple((x + dx, y + dy) for x, y in self.corners)
        return DecodedCode(self.code, self.reader, corners)


# Used only when a library gives no AIM identifier; otherwise the AIM letter decides.
_ZXING_SYMBOLOGY: dict[str, str] = {
    "QRCode": "qr",
    "MicroQRCode": "qr",
    "RMQRCode": "qr",
    "DataMatrix": "datamatrix",
    "Code128": "code128",
    "Code39": "code39",
    "Code93": "code93",
    "Codabar": "codabar",
    "ITF": "itf",
    "EAN13": "ean-upc",
    "EAN8": "ean-upc",
    "UPCA": "ean-upc",
    "UPCE": "ean-upc",
    "DataBar": "gs1-databar",
    "DataBarExpanded": "gs1-databar",
    "DataBarLimited": "gs1-databar",
    "PDF417": "pdf417",
    "Aztec": "aztec",
}
_ZBAR_SYMBOLOGY: dict[str, str] = {
    "QRCODE": "qr",
    "CODE128": "code128",
    "CODE39": "code39",
    "CODE93": "code93",
    "CODABAR": "codabar",
    "I25": "itf",
    "EAN13": "ean-upc",
    "EAN8": "ean-upc",
    "UPCA": "ean-upc",
    "UPCE": "ean-upc",
}
# Not zbar's ITF and Codabar (it reads 6-digit ITF out of sensor noise) nor its partial DataBar
# and PDF417 decoders (they assert noisily on noise): zxing-cpp reads all of those, more strictly.
_ZBAR_ENABLED = ("QRCODE", "CODE128", "CODE39", "CODE93", "EAN13", "EAN8", "UPCA", "UPCE")


def read_zxing(gray: Frame) -> list[DecodedCode]:
    """zxing-cpp: AIM identifier from the library, text with GS separators (not the HRI form)."""
    found: list[DecodedCode] = []
    # TextMode.Plain: GS1 keeps its 0x1d separators (HRI would give "(01)…"), ECI is honoured.
    for barcode in zxingcpp.read_barcodes(gray, text_mode=zxingcpp.TextMode.Plain):
        aim = barcode.symbology_identifier or ""
        raw = (aim if aim.startswith("]") else "").encode() + barcode.text.encode("utf-8")
        hint = _ZXING_SYMBOLOGY.get(barcode.format.name, barcode.format.name.lower())
        code = _interpret(raw, hint)
        if code is not None:
            found.append(DecodedCode(code, ZXING, _zxing_corners(barcode.position)))
    return found


def read_zbar(gray: Frame) -> list[DecodedCode]:
    """pyzbar: no AIM identifier, so the symbology comes from its type name."""
    zbar = _zbar_module()
    if zbar is None:
        return []
    found: list[DecodedCode] = []
    enabled = [zbar.ZBarSymbol[name] for name in _ZBAR_ENABLED]
    for symbol in zbar.decode(gray, symbols=enabled):
        hint = _ZBAR_SYMBOLOGY.get(symbol.type, str(symbol.type).lower())
        code = _interpret(bytes(symbol.data), hint)
        if code is not None:
            corners = tuple((int(p.x), int(p.y)) for p in symbol.polygon)
            found.append(DecodedCode(code, ZBAR, corners))
    return found


READERS: dict[str, Reader] = {ZXING: read_zxing, ZBAR: read_zbar}


def zbar_available() -> bool:
    """True when pyzbar found libzbar (Debian package libzbar0)."""
    return _zbar_module() is not None


def _interpret(raw: bytes, hint: str) -> ScannedCode | None:
    try:
        return interpret(raw, symbology_hint=hint)
    except CodeError:  # an empty or control-only symbol carries nothing to publish
        return None


def _zxing_corners(position: Any) -> Corners:
    points = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    return tuple((int(p.x), int(p.y)) for p in points)


@functools.cache
def _zbar_module() -> ModuleType | None:
    try:
        from pyzbar import pyzbar
    except (ImportError, OSError) as exc:  # libzbar0 missing: zxing-cpp reads alone
        log.warning("pyzbar unavailable, install Debian package libzbar0 reason=%s", exc)
        return None
    module: ModuleType = pyzbar
    return module
