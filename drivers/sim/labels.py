"""Real label images for the camera: symbols (segno, zxing-cpp), a dock scene, distortions.

Everything a test expects is derived here from what was drawn (the text, the GS1 elements), never
from a decoder. Deterministic given the `numpy.random.Generator` passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt
import segno
import zxingcpp

Image = npt.NDArray[np.uint8]
SymbolKind = Literal["qr", "datamatrix-gs1", "code128", "gs1-128"]
Distortion = Literal[
    "clean", "blur", "motion", "rotation", "perspective", "jpeg", "noise", "low_contrast"
]

GS = "\x1d"
SCENE_SIZE = (1280, 720)  # width, height: what the dock camera delivers

# GS1 General Specifications, figure 7.8.5-2: AIs whose length is fixed by their first two digits;
# every other element is followed by FNC1 (GS in the data) unless it is the last one.
_FIXED_LENGTH_AI_PREFIXES = frozenset(
    {"00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20"}
    | {"31", "32", "33", "34", "35", "36", "41"}
)

# Level 1 = mild, 2 = moderate, 3 = hard. Values are the distortion's parameter.
DISTORTION_LEVELS: dict[Distortion, tuple[float, ...]] = {
    "clean": (0.0,),
    "blur": (1.0, 2.0, 3.5),  # Gaussian sigma, pixels
    "motion": (4.0, 8.0, 14.0),  # length of a straight smear, pixels (a box slid under the lens)
    "rotation": (12.0, 35.0, 80.0),  # degrees
    "perspective": (0.08, 0.16, 0.25),  # corner displacement, fraction of the frame side
    "jpeg": (30.0, 12.0, 5.0),  # JPEG quality
    "noise": (10.0, 25.0, 45.0),  # Gaussian noise sigma, grey levels
    "low_contrast": (0.5, 0.25, 0.12),  # contrast kept
}


@dataclass(frozen=True, slots=True)
class LabelCode:
    """One symbol to print and what a correct read of it must give."""

    kind: SymbolKind
    text: str = ""  # qr, code128
    elements: tuple[tuple[str, str], ...] = ()  # GS1 kinds: (AI, value) in label order

    @classmethod
    def qr(cls, text: str) -> LabelCode:
        return cls("qr", text=text)

    @classmethod
    def code128(cls, text: str) -> LabelCode:
        return cls("code128", text=text)

    @classmethod
    def gs1_datamatrix(cls, *elements: tuple[str, str]) -> LabelCode:
        return cls("datamatrix-gs1", elements=tuple(elements))

    @classmethod
    def gs1_128(cls, *elements: tuple[str, str]) -> LabelCode:
        return cls("gs1-128", elements=tuple(elements))

    @property
    def is_gs1(self) -> bool:
        return bool(self.elements)

    @property
    def hri(self) -> str:
        """Human-readable form: "(01)09506000134352(10)ABC" for GS1, else the text."""
        if not self.is_gs1:
            return self.text
        return "".join(f"({ai}){value}" for ai, value in self.elements)

    @property
    def expected_code(self) -> str:
        """The data a reader must report: GS1 element string with GS after variable fields."""
        if not self.is_gs1:
            return self.text
        parts: list[str] = []
        for i, (ai, value) in enumerate(self.elements):
            parts.append(ai + value)
            last = i == len(self.elements) - 1
            if not last and ai[:2] not in _FIXED_LENGTH_AI_PREFIXES:
                parts.append(GS)
        return "".join(parts)

    @property
    def expected_gs1(self) -> dict[str, str]:
        return dict(self.elements)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a symbol was drawn in the scene (before any distortion)."""

    code: LabelCode
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Scene:
    image: Image  # BGR, SCENE_SIZE
    placements: list[Placement] = field(default_factory=list)
    label_box: tuple[int, int, int, int] = (0, 0, 0, 0)  # x, y, w, h of the paper label

    @property
    def codes(self) -> list[LabelCode]:
        return [p.code for p in self.placements]


def render_symbol(code: LabelCode, module_px: int = 4, bar_height: int = 80) -> Image:
    """Black on white with quiet zones, `module_px` pixels per module (half that for bars)."""
    if code.kind == "qr":
        qr = segno.make_qr(code.text, error="m")
        modules = np.array(qr.matrix, dtype=np.uint8)
        modules = np.pad(modules, 4)  # the 4-module quiet zone
        image = np.where(modules > 0, 0, 255).astype(np.uint8)
        return np.kron(image, np.ones((module_px, module_px), dtype=np.uint8))
    if code.kind == "datamatrix-gs1":
        barcode = zxingcpp.create_barcode(code.hri, zxingcpp.BarcodeFormat.DataMatrix, gs1=True)
        return np.array(barcode.to_image(scale=module_px), dtype=np.uint8)
    if code.kind == "gs1-128":
        barcode = zxingcpp.create_barcode(code.hri, zxingcpp.BarcodeFormat.Code128, gs1=True)
    else:
        barcode = zxingcpp.create_barcode(code.text, zxingcpp.BarcodeFormat.Code128)
    bars = np.array(barcode.to_image(scale=max(2, module_px // 2)), dtype=np.uint8)
    return np.array(
        cv2.resize(bars, (bars.shape[1], bar_height), interpolation=cv2.INTER_NEAREST),
        dtype=np.uint8,
    )


def render_scene(
    codes: Sequence[LabelCode],
    rng: np.random.Generator,
    *,
    module_px: int = 4,
    size: tuple[int, int] = SCENE_SIZE,
    ink: tuple[int, int, int] = (0, 0, 0),
) -> Scene:
    """A paper label carrying `codes` (stacked) and some text, on a darker dock surface.

    `ink` is the symbols' colour in BGR order (OpenCV's): (255, 0, 0) is a blue stamp.
    """
    width, height = size
    image = dock_background(width, height, rng)
    symbols = [render_symbol(code, module_px) for code in codes]
    margin, text_band = 24, 70
    label_w = max([s.shape[1] for s in symbols] + [360]) + 2 * margin
    label_h = sum(s.shape[0] for s in symbols) + margin * (len(symbols) + 1) + text_band
    if label_w > width - 40 or label_h > height - 40:
        raise ValueError(f"a {label_w}x{label_h} label does not fit a {width}x{height} scene")
    # Near the middle, so a rotation or perspective distortion keeps the label in view.
    cx = int(rng.integers(width // 2 - width // 8, width // 2 + width // 8 + 1))
    cy = int(rng.integers(height // 2 - height // 10, height // 2 + height // 10 + 1))
    lx = int(np.clip(cx - label_w // 2, 20, width - label_w - 20))
    ly = int(np.clip(cy - label_h // 2, 20, height - label_h - 20))
    shadow = image[ly + 8 : ly + label_h + 8, lx + 8 : lx + label_w + 8]
    shadow[:] = (shadow * 0.55).astype(np.uint8)
    paper = (int(rng.integers(228, 246)), int(rng.integers(232, 248)), int(rng.integers(236, 250)))
    cv2.rectangle(image, (lx, ly), (lx + label_w - 1, ly + label_h - 1), paper, -1)
    reference = f"RET-2026-{int(rng.integers(0, 999999)):06d}"
    cv2.putText(
        image,
        "RETURN  " + reference,
        (lx + margin, ly + 38),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.8,
        (30, 30, 30),
        2,
        cv2.LINE_AA,
    )
    cv2.putText(
        image,
        "Grade B  dock 3  fragile",
        (lx + margin, ly + 60),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5,
        (60, 60, 60),
        1,
        cv2.LINE_AA,
    )
    placements: list[Placement] = []
    y = ly + text_band + margin
    for code, symbol in zip(codes, symbols, strict=True):
        h, w = symbol.shape
        x = lx + margin
        area = image[y : y + h, x : x + w]
        inked = symbol[:, :, None] < 128
        area[:] = np.where(inked, np.array(ink, dtype=np.uint8), area)
        placements.append(Placement(code, x, y, w, h))
        y += h + margin
    return Scene(image, placements, (lx, ly, label_w, label_h))


def distort(image: Image, kind: Distortion, level: int, rng: np.random.Generator) -> Image:
    """`image` as a worse camera would see it; level 1 (mild) to 3 (hard), 0 = unchanged."""
    if kind == "clean" or level == 0:
        return image.copy()
    return apply(image, kind, DISTORTION_LEVELS[kind][level - 1], rng)


def degrade(
    image: Image, steps: Sequence[tuple[Distortion, float]], rng: np.random.Generator
) -> Image:
    """Several distortions at exact values, in the order given (lens, then sensor, then JPEG)."""
    for kind, value in steps:
        image = apply(image, kind, value, rng)
    return image


def apply(image: Image, kind: Distortion, value: float, rng: np.random.Generator) -> Image:
    """One distortion at an exact value of its parameter (see `DISTORTION_LEVELS`)."""
    if kind == "clean":
        return image.copy()
    height, width = image.shape[:2]
    if kind == "blur":
        return _u8(cv2.GaussianBlur(image, (0, 0), sigmaX=value))
    if kind == "motion":
        length = max(2, round(value))
        kernel = np.zeros((length, length), dtype=np.float32)
        kernel[length // 2, :] = 1.0 / length
        angle = float(rng.uniform(0.0, 180.0))
        turn = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
        kernel = np.asarray(cv2.warpAffine(kernel, turn, (length, length)), dtype=np.float32)
        return _u8(cv2.filter2D(image, -1, kernel / kernel.sum()))
    if kind == "rotation":
        angle = value if rng.random() < 0.5 else -value
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        return _u8(cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT))
    if kind == "perspective":
        corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
        push = rng.uniform(0.5, 1.0, size=(4, 2)) * value * np.array([width, height])
        inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float32)
        # Each corner pulled in by a different amount: a camera tilted over the dock.
        moved = (corners + push * inward).astype(np.float32)
        matrix = cv2.getPerspectiveTransform(corners, moved)
        return _u8(
            cv2.warpPerspective(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
        )
    if kind == "jpeg":
        ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(value)])
        if not ok:
            raise ValueError("JPEG encoding failed")
        return _u8(cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED))
    if kind == "noise":
        noisy = image.astype(np.float32) + rng.normal(0.0, value, image.shape).astype(np.float32)
        return _u8(np.clip(noisy, 0, 255))
    if kind == "low_contrast":
        mean = float(image.mean())
        flat = mean + (image.astype(np.float32) - mean) * value
        return _u8(np.clip(flat, 0, 255))
    raise ValueError(f"unknown distortion {kind!r}")


def sample_codes(rng: np.random.Generator) -> list[LabelCode]:
    """One of each kind the dock sees, with varied content."""
    serial = f"{int(rng.integers(0, 10**8)):08d}"
    return [
        LabelCode.qr(f"https://returns.example/r/RET-2026-{serial[:6]}"),
        LabelCode.gs1_datamatrix(
            ("01", "09506000134352"),
            ("17", "271231"),
            ("10", f"L{serial[:4]}"),
            ("21", f"SN{serial}"),
        ),
        LabelCode.code128(f"RET-2026-{serial[:6]}"),
        LabelCode.gs1_128(("01", "09506000134352"), ("21", f"IMEI{serial}")),
    ]


def dock_background(width: int, height: int, rng: np.random.Generator) -> Image:
    """A dark, unevenly lit surface with some texture (a tote, a rubber mat)."""
    base = np.array([rng.integers(45, 75), rng.integers(50, 80), rng.integers(55, 90)], np.float32)
    ramp = np.linspace(0.8, 1.15, width, dtype=np.float32)[None, :, None]
    ramp = ramp * np.linspace(1.1, 0.85, height, dtype=np.float32)[:, None, None]
    texture = cv2.resize(
        rng.normal(0.0, 10.0, (height // 16, width // 16)).astype(np.float32),
        (width, height),
        interpolation=cv2.INTER_CUBIC,
    )[:, :, None]
    return _u8(np.clip(base * ramp + texture, 0, 255))


def _u8(image: object) -> Image:
    return np.asarray(image, dtype=np.uint8)
