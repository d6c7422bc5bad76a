"""Frame preparation: grayscale, region of interest, sharpness (variance of the Laplacian)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import cv2
import numpy as np
import numpy.typing as npt

Frame: TypeAlias = npt.NDArray[np.uint8]  # BGR (h, w, 3) from a camera, or gray (h, w)


@dataclass(frozen=True, slots=True)
class Roi:
    """A rectangle of the frame in pixels: left, top, width, height."""

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.x < 0 or self.y < 0 or self.width <= 0 or self.height <= 0:
            raise ValueError(f"region of interest must be inside the frame and non-empty: {self}")

    @classmethod
    def from_list(cls, values: list[int] | tuple[int, ...]) -> Roi:
        """From a profile's `roi = [x, y, w, h]`."""
        if len(values) != 4:
            raise ValueError(f"roi needs [x, y, width, height], got {list(values)}")
        x, y, w, h = (int(v) for v in values)
        return cls(x, y, w, h)


def to_gray(frame: Frame) -> Frame:
    """One 8-bit channel; a gray frame is returned as it is."""
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 3:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY), dtype=np.uint8)
    raise ValueError(f"not an image frame: shape {frame.shape}")


def crop(frame: Frame, roi: Roi | None) -> Frame:
    """The region of interest (clipped to the frame); the whole frame without one."""
    if roi is None:
        return frame
    height, width = frame.shape[:2]
    if roi.x >= width or roi.y >= height:
        raise ValueError(f"region of interest {roi} lies outside a {width}x{height} frame")
    return frame[roi.y : min(roi.y + roi.height, height), roi.x : min(roi.x + roi.width, width)]


STANDARD_CONTRAST = 32.0  # grey levels of standard deviation the view is scaled to


def sharpness(gray: Frame) -> float:
    """Variance of the Laplacian at a standard contrast: low for a blurred (or blank) view.

    Scaled as if the view had a standard deviation of `STANDARD_CONTRAST` grey levels, so a dim
    or washed-out but sharp label scores like a well-lit one and only blur lowers the figure.
    """
    _, lap_std = cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_16S))
    _, std = cv2.meanStdDev(gray)
    contrast = float(std[0, 0])
    if contrast < 1.0:  # a blank frame (lens cap, dark room): nothing to read
        return 0.0
    return (float(lap_std[0, 0]) * STANDARD_CONTRAST / contrast) ** 2
