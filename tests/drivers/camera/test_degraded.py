"""Degraded labels: colour order, zxing-cpp's recovery passes, and GS1 kept whoever reads it.

Small scenes (640x360) keep these fast; each case is one degradation chain from drivers/sim.
"""

from __future__ import annotations

import numpy as np
import pytest

from drivers.camera import ZBAR, ZXING, DecodePipeline, read_zbar, read_zxing, to_gray
from drivers.camera import zbar as zbar_shell
from drivers.camera.decode import decode_gray, richer
from drivers.camera.readers import READERS, DecodedCode
from drivers.codes import interpret
from drivers.sim.labels import Distortion, LabelCode, degrade, render_scene
from tests.drivers.camera.conftest import needs_zbar

SMALL = (640, 360)
# Fixed-length AI first, variable-length last: no GS in the data, only FNC1 in first position
# (GS1 General Specifications 5.4.3) says this is a GS1 element string.
GS1_128 = LabelCode.gs1_128(("01", "09506000134352"), ("21", "IMEI0417"))
DATAMATRIX = LabelCode.gs1_datamatrix(
    ("01", "09506000134352"), ("17", "271231"), ("10", "LOT7"), ("21", "SN00417")
)
QR = LabelCode.qr("https://returns.example/r/RET-2026-000417")
BLUE_INK = (255, 0, 0)  # BGR


def scene_image(
    code: LabelCode, seed: int = 1, ink: tuple[int, int, int] = (0, 0, 0)
) -> np.ndarray:
    return render_scene([code], np.random.default_rng(seed), size=SMALL, ink=ink).image


def read_as_drawn(decoded: list[DecodedCode], code: LabelCode) -> bool:
    """The drawn data, with the drawn GS1 elements (none for a non-GS1 label)."""
    return any(
        d.code.code == code.expected_code and d.code.gs1 == code.expected_gs1 for d in decoded
    )


@needs_zbar
def test_pyzbar_reports_a_gs1_128_as_gs1() -> None:
    found = read_zbar(to_gray(scene_image(GS1_128)))
    assert [d.code.code for d in found] == [GS1_128.expected_code]
    code = found[0].code
    assert (code.aim, code.symbology) == ("]C1", "gs1-128")
    assert code.gs1 == {"01": "09506000134352", "21": "IMEI0417"}


@needs_zbar
def test_plain_code128_of_digits_is_not_taken_for_gs1() -> None:
    label = LabelCode.code128("0109506000134352")  # the shape of (01), but no FNC1
    found = read_zbar(to_gray(scene_image(label)))
    assert [(d.code.code, d.code.gs1, d.code.aim) for d in found] == [
        ("0109506000134352", {}, None)
    ]


@needs_zbar
def test_blurred_gs1_128_left_to_pyzbar_keeps_its_elements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = degrade(scene_image(GS1_128), [("blur", 1.0)], np.random.default_rng(2))
    monkeypatch.setitem(READERS, ZXING, lambda gray: [])  # zxing-cpp misses this frame
    decoded = DecodePipeline().decode(frame)
    assert [d.reader for d in decoded] == [ZBAR]
    assert read_as_drawn(decoded, GS1_128)


def test_a_read_with_gs1_elements_wins_over_the_same_data_without() -> None:
    data = GS1_128.expected_code.encode()
    gs1 = DecodedCode(interpret(b"]C1" + data), ZXING)
    plain = DecodedCode(interpret(data, symbology_hint="code128"), ZBAR)
    assert richer(plain, gs1) is gs1 and richer(gs1, plain) is gs1
    other = DecodedCode(interpret(b"]C1" + data), ZBAR)
    assert richer(gs1, other) is gs1  # between equals the first read stays


def test_merging_readers_never_drops_gs1(monkeypatch: pytest.MonkeyPatch) -> None:
    data = GS1_128.expected_code.encode()
    monkeypatch.setitem(
        READERS, ZXING, lambda gray: [DecodedCode(interpret(data, symbology_hint="code128"), ZXING)]
    )
    monkeypatch.setitem(READERS, ZBAR, lambda gray: [DecodedCode(interpret(b"]C1" + data), ZBAR)])
    gray = np.zeros((8, 8), dtype=np.uint8)
    [merged] = decode_gray(gray, (ZXING, ZBAR), "all")
    assert merged.code.gs1 == GS1_128.expected_gs1 and merged.reader == ZBAR


@pytest.mark.parametrize(
    ("code", "steps"),
    [
        (DATAMATRIX, [("blur", 2.0)]),
        (GS1_128, [("blur", 1.3), ("low_contrast", 0.5)]),
        (GS1_128, [("noise", 45.0)]),
        (GS1_128, [("jpeg", 5.0)]),
    ],
    ids=["datamatrix-blur", "gs1-128-blur-dim", "gs1-128-noise", "gs1-128-jpeg"],
)
def test_degraded_gs1_labels_come_back_as_gs1(
    code: LabelCode, steps: list[tuple[Distortion, float]]
) -> None:
    frame = degrade(scene_image(code), steps, np.random.default_rng(3))
    decoded = DecodePipeline().decode(frame)
    assert read_as_drawn(decoded, code), [(d.code.code, d.code.gs1, d.reader) for d in decoded]


def test_light_on_dark_qr_is_still_read() -> None:
    frame = 255 - scene_image(QR)  # a QR shown on a dark screen
    decoded = DecodePipeline().decode(frame)
    assert read_as_drawn(decoded, QR)


@needs_zbar
def test_blue_ink_reads_from_a_bgr_frame_with_either_library() -> None:
    frame = scene_image(QR, ink=BLUE_INK)
    # In the blue channel (the first of OpenCV's BGR) the stamp is as bright as the paper.
    assert read_zbar(frame[:, :, 0]) == []
    assert read_as_drawn(read_zbar(frame), QR)
    assert read_as_drawn(read_zxing(frame), QR)
    assert read_as_drawn(DecodePipeline(readers=(ZBAR,)).decode(frame), QR)


@needs_zbar
def test_zbar_shell_takes_one_gray_channel_only() -> None:
    frame = scene_image(QR)
    with pytest.raises(ValueError, match="gray"):
        zbar_shell.scan(frame, ("QRCODE",))
    assert zbar_shell.scan(to_gray(frame), ("CODE128",)) == []  # QR not enabled: not read
