"""P6: camera decode at 1280x720: pyzbar alone, zxing-cpp alone, and our pipeline, same frames.

Frames are real label scenes from drivers/sim/labels.py (QR by segno; GS1 Data Matrix, Code 128
and GS1-128 by zxing-cpp's writer), one symbol per frame, under each distortion at each level.
A read counts only if the decoded data equals what was drawn and, for a GS1 label, its GS1
elements were recognised (a GS1-128 reported as plain Code 128 is not a read). Each decoder's
time is summed over its own calls on every frame (the order rotates per frame). The single
readers are the libraries as their documentation calls them, on the gray frame made ready for
them: `zxingcpp.read_barcodes` with its default options, `pyzbar.decode`, each followed by the
same `interpret`. Our pipeline gets the camera's BGR frame and does everything: grayscale, blur
rejection, zxing-cpp with its recovery passes, pyzbar with its GS1 flag when zxing-cpp reads
nothing, AIM/GS1/IMEI interpretation. The last line is our frames/s over the best single
reader's (the one with the highest read rate).
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from drivers.camera import DecodedCode, DecodePipeline, to_gray
from drivers.camera.frames import Frame
from drivers.camera.readers import ZBAR, ZxingPass, zxing_pass
from drivers.codes import CodeError, interpret
from drivers.sim.labels import (
    DISTORTION_LEVELS,
    LabelCode,
    distort,
    dock_background,
    render_scene,
    sample_codes,
)

SEED = 6
SCENES_PER_LEVEL = 4  # × 4 symbol kinds × 22 distortion levels = 352 frames
EMPTY_FRAMES = 16  # the dock with no label: the fallback's worst case, timed apart
DECODERS = ("pyzbar", "zxing-cpp", "pipeline")


def main() -> None:
    pipeline = DecodePipeline()
    decoders: dict[str, Callable[[Frame, Frame], list[DecodedCode]]] = {
        "pyzbar": lambda bgr, gray: _pyzbar_alone(gray),
        "zxing-cpp": lambda bgr, gray: zxing_pass(gray, _ZXING_DEFAULTS),
        "pipeline": lambda bgr, gray: pipeline.decode(bgr),
    }
    rng = np.random.default_rng(SEED)
    seconds: dict[str, float] = defaultdict(float)
    reads: dict[tuple[str, int, str], int] = defaultdict(int)  # (distortion, level, decoder)
    reads_by_kind: dict[tuple[str, str], int] = defaultdict(int)
    frames_by_level: dict[tuple[str, int], int] = defaultdict(int)
    frames_by_kind: dict[str, int] = defaultdict(int)
    misreads: dict[str, int] = defaultdict(int)
    frames = 0
    started = time.perf_counter()
    for _ in range(SCENES_PER_LEVEL):
        for code in sample_codes(rng):
            scene = render_scene([code], rng)
            for distortion, values in DISTORTION_LEVELS.items():
                levels = [0] if distortion == "clean" else range(1, len(values) + 1)
                for level in levels:
                    bgr = distort(scene.image, distortion, level, rng)
                    gray = to_gray(bgr)
                    order = DECODERS[frames % 3 :] + DECODERS[: frames % 3]
                    for name in order:
                        start = time.perf_counter()
                        decoded = decoders[name](bgr, gray)
                        seconds[name] += time.perf_counter() - start
                        read = _count(decoded, code, misreads, name)
                        reads[distortion, level, name] += read
                        reads_by_kind[code.kind, name] += read
                    frames_by_level[distortion, level] += 1
                    frames_by_kind[code.kind] += 1
                    frames += 1
    empty_seconds: dict[str, float] = defaultdict(float)
    for i in range(EMPTY_FRAMES):
        bgr = dock_background(1280, 720, rng)
        gray = to_gray(bgr)
        for name in DECODERS[i % 3 :] + DECODERS[: i % 3]:
            start = time.perf_counter()
            decoded = decoders[name](bgr, gray)
            empty_seconds[name] += time.perf_counter() - start
            misreads[name] += len(decoded)
    wall = time.perf_counter() - started
    rates = {name: frames / seconds[name] for name in DECODERS}

    print(f"frames: {frames} at 1280x720, one symbol each, seed {SEED}; run {wall:.1f} s")
    print(f"{'distortion':<14}{'level':>6}{'frames':>8}" + "".join(f"{n:>11}" for n in DECODERS))
    for (distortion, level), count in frames_by_level.items():
        cells = "".join(f"{reads[distortion, level, n] / count:>11.0%}" for n in DECODERS)
        print(f"{distortion:<14}{level:>6}{count:>8}{cells}")
    for kind, count in frames_by_kind.items():
        cells = "".join(f"{reads_by_kind[kind, n] / count:>11.0%}" for n in DECODERS)
        print(f"{'kind ' + kind:<20}{count:>8}{cells}")
    total = "".join(
        f"{sum(reads_by_kind[k, n] for k in frames_by_kind) / frames:>11.0%}" for n in DECODERS
    )
    print(f"{'read rate, all':<20}{frames:>8}{total}")
    print(f"{'misreads (+ empty dock)':<28}" + "".join(f"{misreads[n]:>11}" for n in DECODERS))
    print(f"{'frames/s':<28}" + "".join(f"{rates[n]:>11.1f}" for n in DECODERS))
    print(f"{'ms/frame':<28}" + "".join(f"{1000 / rates[n]:>11.1f}" for n in DECODERS))
    print(
        f"{'empty dock ms/frame':<28}"
        + "".join(f"{1000 * empty_seconds[n] / EMPTY_FRAMES:>11.1f}" for n in DECODERS)
    )
    read_rates = {n: sum(reads_by_kind[k, n] for k in frames_by_kind) / frames for n in DECODERS}
    best = max(("pyzbar", "zxing-cpp"), key=lambda n: (read_rates[n], rates[n]))
    print(
        f"read rate: pipeline {read_rates['pipeline']:.1%} vs best single reader {best} "
        f"{read_rates[best]:.1%} ({'not ' if read_rates['pipeline'] < read_rates[best] else ''}"
        "at least as high)"
    )
    print(f"ratio: {rates['pipeline'] / rates[best]:.3f}")


_ZXING_DEFAULTS = ZxingPass("library defaults", lambda gray: gray)


def _pyzbar_alone(gray: Frame) -> list[DecodedCode]:
    """`pyzbar.decode` as its README shows it; symbology from the type name, no GS1 flag."""
    from pyzbar import pyzbar

    found: list[DecodedCode] = []
    for symbol in pyzbar.decode(gray):
        try:
            code = interpret(bytes(symbol.data), symbology_hint=str(symbol.type).lower())
        except CodeError:
            continue
        found.append(DecodedCode(code, ZBAR))
    return found


def _count(decoded: list[DecodedCode], code: LabelCode, misreads: dict[str, int], name: str) -> int:
    """1 if the drawn code was read with its GS1 elements; anything else decoded is a misread."""
    found = {d.code.code: d.code.gs1 for d in decoded}
    misreads[name] += len(set(found) - {code.expected_code})
    return int(found.get(code.expected_code) == code.expected_gs1)


if __name__ == "__main__":
    main()
