"""The decode pipeline, pure: a frame in, the codes on it out (no camera, no clock)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from drivers.camera.frames import Frame, Roi, crop, sharpness, to_gray
from drivers.camera.readers import READERS, ZBAR, ZXING, DecodedCode

Strategy = Literal["fallback", "all"]
DEFAULT_READERS = (ZXING, ZBAR)

# Calibrated on drivers/sim/labels.py scenes at 1280x720: the least sharp frame either library
# still read scored 2.7 (a QR under Gaussian blur sigma 2); sharp labels score 200 and more.
# See docs/camera.md to re-tune for a real camera.
DEFAULT_BLUR_THRESHOLD = 2.0


@dataclass(frozen=True, slots=True)
class FrameDecode:
    """What one frame gave: its codes, or the reason it was skipped."""

    codes: list[DecodedCode]
    sharpness: float
    blurry: bool  # skipped without decoding: sharpness below the threshold


@dataclass(frozen=True, slots=True)
class DecodePipeline:
    """Grayscale, region of interest, blur rejection, then the readers in order.

    `fallback` (default) stops at the first reader that finds anything, so pyzbar costs time only
    on frames zxing-cpp could not read; `all` runs every reader and merges their reads.
    """

    roi: Roi | None = None
    blur_threshold: float = DEFAULT_BLUR_THRESHOLD  # 0 disables blur rejection
    readers: Sequence[str] = DEFAULT_READERS
    strategy: Strategy = "fallback"

    def __post_init__(self) -> None:
        unknown = [name for name in self.readers if name not in READERS]
        if unknown or not self.readers:
            raise ValueError(f"readers must be some of {sorted(READERS)}, got {self.readers}")

    def process(self, frame: Frame) -> FrameDecode:
        gray = to_gray(crop(frame, self.roi))
        score = sharpness(gray) if self.blur_threshold > 0 else 0.0
        if self.blur_threshold > 0 and score < self.blur_threshold:
            return FrameDecode([], score, blurry=True)
        codes = decode_gray(gray, self.readers, self.strategy)
        if self.roi is not None:
            codes = [c.moved(self.roi.x, self.roi.y) for c in codes]
        return FrameDecode(codes, score, blurry=False)

    def decode(self, frame: Frame) -> list[DecodedCode]:
        """The codes on `frame`; an empty list for a blurred one."""
        return self.process(frame).codes


def decode_gray(
    gray: Frame, readers: Sequence[str] = DEFAULT_READERS, strategy: Strategy = "fallback"
) -> list[DecodedCode]:
    """Run the readers on a prepared gray image; one entry per distinct code (see `richer`)."""
    merged: dict[str, DecodedCode] = {}
    for name in readers:
        for decoded in READERS[name](gray):
            key = decoded.code.code
            merged[key] = richer(merged[key], decoded) if key in merged else decoded
        if merged and strategy == "fallback":
            break
    return list(merged.values())


def richer(first: DecodedCode, second: DecodedCode) -> DecodedCode:
    """Of two reads of the same data, the one that says more: GS1 elements, then an AIM prefix.

    A read that knows the data is a GS1 element string is never replaced by one that does not,
    whichever reader came first; between equals the first read is kept.
    """

    def says(decoded: DecodedCode) -> tuple[bool, bool]:
        return bool(decoded.code.gs1), decoded.code.aim is not None

    return second if says(second) > says(first) else first
