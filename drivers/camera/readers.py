"""The two barcode libraries behind one shape: a frame in, `DecodedCode`s out.

zxing-cpp reads everything we print (Data Matrix, GS1 in any symbology) and reports the AIM
symbology identifier; pyzbar (libzbar0) is the fallback and reads QR and linear codes. Both get
one gray channel made with OpenCV's BGR weights (`to_gray`): zxing-cpp would read a 3-channel
array as BGR (its binding's rule), and pyzbar would read only its first channel. Both go through
`drivers.codes.interpret`, so a camera read looks like a scanner's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

from drivers.camera import zbar
from drivers.camera.frames import Frame, sharpness, to_gray
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


# zbar scans every second row and column: half the time; a symbol is crossed by tens of lines.
_ZBAR_DENSITY = 2
# zbar flags FNC1 in first position instead of sending it: the AIM identifier that says so.
_ZBAR_GS1_AIM: dict[str, bytes] = {"CODE128": b"]C1", "QRCODE": b"]Q3"}

# Sharpness (frames.sharpness) under which a view is soft, i.e. blurred rather than noisy: sharp
# labels score 200 and more, Gaussian blur sigma 1 scores 15-50 and sigma 2 scores 2-6.
SOFT_VIEW = 10.0


@dataclass(frozen=True, slots=True)
class ZxingPass:
    """One zxing-cpp attempt: how the gray view is prepared and which searches are on."""

    name: str
    prepare: Callable[[Frame], Frame]
    scale: float = 1.0  # the prepared view's size over the frame's (corners are scaled back)
    try_rotate: bool = True  # also look for symbols at 90 and 270 degrees
    try_downscale: bool = True  # also look in smaller copies (large or blurred symbols)
    try_invert: bool = True  # also look for light-on-dark symbols


def _as_seen(gray: Frame) -> Frame:
    return gray


def _denoised(gray: Frame) -> Frame:
    """3x3 median: removes sensor noise and JPEG block edges, keeps bar edges."""
    return _u8(cv2.medianBlur(gray, 3))


def _sharpened(gray: Frame) -> Frame:
    """Unsharp mask (sigma 2 px, amount 1.5): restores module edges a soft focus spread out."""
    soft = cv2.GaussianBlur(gray, (0, 0), sigmaX=2.0)
    return _u8(cv2.addWeighted(gray, 2.5, soft, -1.5, 0))


def _enlarged(gray: Frame) -> Frame:
    """Twice the size (bicubic): narrow bars of a far or tilted label span whole pixels again."""
    return _u8(cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC))


_FAST = {"try_rotate": False, "try_downscale": False}
# Printed labels are dark on light: the first pass leaves out the inverted search (a quarter of
# its time, on every frame); the recovery passes include it, so a light-on-dark symbol (a QR on
# a phone or terminal in dark mode) is still read, a little later.
FIRST_PASS = ZxingPass("as seen", _as_seen, try_invert=False)
# Tried in order on a frame the first pass read nothing in, chosen by how the view failed, each
# with only the searches that paid off on the simulator's degraded labels (docs/camera.md).
SOFT_VIEW_PASSES = (ZxingPass("sharpened", _sharpened),)
SHARP_VIEW_PASSES = (
    ZxingPass("denoised", _denoised, **_FAST),
    ZxingPass("enlarged", _enlarged, 2.0, **_FAST, try_invert=False),
)


def read_zxing(frame: Frame) -> list[DecodedCode]:
    """zxing-cpp: the view as seen, then the recovery passes that fit how it failed."""
    gray = to_gray(frame)
    found = zxing_pass(gray, FIRST_PASS)
    if found:
        return found
    recovery = SOFT_VIEW_PASSES if sharpness(gray) < SOFT_VIEW else SHARP_VIEW_PASSES
    for attempt in recovery:
        found = zxing_pass(gray, attempt)
        if found:
            return found
    return []


def zxing_pass(gray: Frame, attempt: ZxingPass) -> list[DecodedCode]:
    """One zxing-cpp call; text with GS separators (not the HRI form), AIM from the library."""
    found: list[DecodedCode] = []
    barcodes = zxingcpp.read_barcodes(
        attempt.prepare(gray),
        # TextMode.Plain: GS1 keeps its 0x1d separators (HRI would give "(01)…"), ECI honoured.
        text_mode=zxingcpp.TextMode.Plain,
        try_rotate=attempt.try_rotate,
        try_downscale=attempt.try_downscale,
        try_invert=attempt.try_invert,
    )
    for barcode in barcodes:
        aim = barcode.symbology_identifier or ""
        raw = (aim if aim.startswith("]") else "").encode() + barcode.text.encode("utf-8")
        hint = _ZXING_SYMBOLOGY.get(barcode.format.name, barcode.format.name.lower())
        code = _interpret(raw, hint)
        if code is not None:
            corners = _zxing_corners(barcode.position, attempt.scale)
            found.append(DecodedCode(code, ZXING, corners))
    return found


def read_zbar(frame: Frame) -> list[DecodedCode]:
    """pyzbar's libzbar: symbology from its type name, GS1 from its FNC1 flag (AIM ]C1 / ]Q3)."""
    found: list[DecodedCode] = []
    for symbol in zbar.scan(to_gray(frame), _ZBAR_ENABLED, _ZBAR_DENSITY):
        hint = _ZBAR_SYMBOLOGY.get(symbol.type_name, symbol.type_name.lower())
        aim = _ZBAR_GS1_AIM.get(symbol.type_name, b"") if symbol.gs1 else b""
        code = _interpret(aim + symbol.data, hint)
        if code is not None:
            found.append(DecodedCode(code, ZBAR, _bounding_corners(symbol.points)))
    return found


READERS: dict[str, Reader] = {ZXING: read_zxing, ZBAR: read_zbar}


def zbar_available() -> bool:
    """True when pyzbar found libzbar (Debian package libzbar0)."""
    return zbar.available()


def _interpret(raw: bytes, hint: str) -> ScannedCode | None:
    try:
        return interpret(raw, symbology_hint=hint)
    except CodeError:  # an empty or control-only symbol carries nothing to publish
        return None


def _zxing_corners(position: zxingcpp.Position, scale: float) -> Corners:
    points = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    return tuple((round(p.x / scale), round(p.y / scale)) for p in points)


def _bounding_corners(points: Corners) -> Corners:
    """zbar gives a point per scan line crossing the symbol; its bounding box, clockwise."""
    if not points:
        return ()
    xs, ys = [x for x, _ in points], [y for _, y in points]
    left, top, right, bottom = min(xs), min(ys), max(xs), max(ys)
    return ((left, top), (right, top), (right, bottom), (left, bottom))


def _u8(image: object) -> Frame:
    return np.asarray(image, dtype=np.uint8)
