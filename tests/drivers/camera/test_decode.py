"""The pure decode pipeline on real label images: both libraries, GS1, AIM, ROI, blur, garbage."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from stdnum import luhn

from drivers.camera import ZBAR, ZXING, DecodePipeline, Roi, read_zbar, read_zxing, to_gray
from drivers.camera.readers import READERS, DecodedCode
from drivers.codes import interpret
from drivers.sim.labels import LabelCode, distort, render_scene
from tests.drivers.camera.conftest import needs_zbar

QR = LabelCode.qr("https://returns.example/r/RET-2026-000417")
DATAMATRIX = LabelCode.gs1_datamatrix(
    ("01", "09506000134352"), ("17", "271231"), ("10", "LOT7"), ("21", "SN00417")
)
CODE128 = LabelCode.code128("RET-2026-000417")
GS1_128 = LabelCode.gs1_128(("01", "09506000134352"), ("21", "IMEI0417"))


def read(frame: np.ndarray, pipeline: DecodePipeline | None = None) -> dict[str, DecodedCode]:
    return {d.code.code: d for d in (pipeline or DecodePipeline()).decode(frame)}


def test_qr_reads_with_its_aim_identifier_like_a_scanner(rng: np.random.Generator) -> None:
    scene = render_scene([QR], rng)
    found = read(scene.image)
    assert list(found) == [QR.expected_code]
    decoded = found[QR.expected_code]
    assert decoded.reader == ZXING
    # What a scanner sending the AIM prefix would have produced for the same label.
    assert decoded.code == interpret(b"]Q1" + QR.text.encode())


def test_gs1_datamatrix_elements_are_parsed(rng: np.random.Generator) -> None:
    scene = render_scene([DATAMATRIX], rng)
    found = read(scene.image)
    assert list(found) == [DATAMATRIX.expected_code]
    code = found[DATAMATRIX.expected_code].code
    assert code.aim == "]d2"
    assert code.gs1 == DATAMATRIX.expected_gs1
    assert code.gs1 == {"01": "09506000134352", "17": "271231", "10": "LOT7", "21": "SN00417"}
    assert "\x1d21SN00417" in code.code  # FNC1 after the variable-length lot number
    assert code.symbology == interpret(b"]d2" + DATAMATRIX.expected_code.encode()).symbology


def test_code128_and_gs1_128_on_one_label(rng: np.random.Generator) -> None:
    scene = render_scene([CODE128, GS1_128], rng)
    found = read(scene.image, DecodePipeline(strategy="all"))
    assert set(found) == {CODE128.expected_code, GS1_128.expected_code}
    plain, gs1 = found[CODE128.expected_code].code, found[GS1_128.expected_code].code
    assert (plain.aim, plain.gs1) == ("]C0", {})
    assert plain.symbology == "code128"
    assert gs1.aim == "]C1"
    assert gs1.gs1 == GS1_128.expected_gs1


def test_an_imei_in_a_qr_is_recognised(rng: np.random.Generator) -> None:
    body = "35693803564380"
    imei = body + luhn.calc_check_digit(body)
    found = read(render_scene([LabelCode.qr(imei)], rng).image)
    assert found[imei].code.imei == imei


@needs_zbar
def test_datamatrix_is_read_although_pyzbar_cannot(rng: np.random.Generator) -> None:
    gray = to_gray(render_scene([DATAMATRIX], rng).image)
    assert read_zbar(gray) == []  # zbar has no Data Matrix decoder
    assert [d.reader for d in DecodePipeline().decode(gray)] == [ZXING]


@needs_zbar
def test_pyzbar_alone_reads_a_qr(rng: np.random.Generator) -> None:
    scene = render_scene([QR], rng)
    found = read(scene.image, DecodePipeline(readers=(ZBAR,)))
    decoded = found[QR.expected_code]
    assert decoded.reader == ZBAR
    assert decoded.code.aim is None  # pyzbar gives no AIM identifier
    assert decoded.code.symbology == "qr"


@needs_zbar
def test_pyzbar_reads_gs1_128_data_with_its_separator(rng: np.random.Generator) -> None:
    elements = (("10", "LOT7"), ("21", "SN1"))  # a variable-length AI: FNC1 becomes GS
    label = LabelCode.gs1_128(*elements)
    found = read(render_scene([label], rng).image, DecodePipeline(readers=(ZBAR,)))
    code = found[label.expected_code].code
    assert code.gs1 == dict(elements)


@needs_zbar
def test_fallback_goes_to_pyzbar_only_when_zxing_finds_nothing(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = render_scene([QR], rng).image
    assert [d.reader for d in DecodePipeline().decode(image)] == [ZXING]
    monkeypatch.setitem(READERS, ZXING, lambda gray: [])  # zxing-cpp "misses" this frame
    assert [d.reader for d in DecodePipeline().decode(image)] == [ZBAR]


@needs_zbar
def test_all_strategy_merges_both_libraries_without_duplicates(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = render_scene([QR, DATAMATRIX], rng).image
    merged = DecodePipeline(strategy="all").decode(image)
    assert sorted(d.code.code for d in merged) == sorted(
        [QR.expected_code, DATAMATRIX.expected_code]
    )
    assert {d.reader for d in merged} == {ZXING}  # both libraries read the QR; the first one wins

    def zxing_misses_the_qr(gray: np.ndarray) -> list[DecodedCode]:
        return [d for d in read_zxing(gray) if d.code.code != QR.expected_code]

    monkeypatch.setitem(READERS, ZXING, zxing_misses_the_qr)
    merged = DecodePipeline(strategy="all").decode(image)
    assert {d.code.code: d.reader for d in merged} == {
        DATAMATRIX.expected_code: ZXING,
        QR.expected_code: ZBAR,
    }


def test_region_of_interest_reads_only_what_is_inside(rng: np.random.Generator) -> None:
    scene = render_scene([QR, CODE128], rng)
    qr_at, bars_at = scene.placements
    roi = Roi(qr_at.x - 10, qr_at.y - 10, qr_at.width + 20, qr_at.height + 20)
    found = read(scene.image, DecodePipeline(roi=roi))
    assert list(found) == [QR.expected_code]
    for x, y in found[QR.expected_code].corners:  # reported in whole-frame pixels
        assert roi.x <= x <= roi.x + roi.width and roi.y <= y <= roi.y + roi.height
    roi = Roi(bars_at.x - 10, bars_at.y - 10, bars_at.width + 20, bars_at.height + 20)
    assert list(read(scene.image, DecodePipeline(roi=roi))) == [CODE128.expected_code]
    assert read(scene.image, DecodePipeline(roi=Roi(0, 0, 60, 60))) == {}


def test_region_of_interest_outside_the_frame_is_refused(rng: np.random.Generator) -> None:
    image = render_scene([QR], rng).image
    with pytest.raises(ValueError, match="outside"):
        DecodePipeline(roi=Roi(2000, 0, 100, 100)).decode(image)
    with pytest.raises(ValueError, match="roi"):
        Roi.from_list([1, 2, 3])


def test_blurred_frame_is_skipped_and_says_so(rng: np.random.Generator) -> None:
    scene = render_scene([QR], rng)
    sharp = DecodePipeline().process(scene.image)
    assert not sharp.blurry and [d.code.code for d in sharp.codes] == [QR.expected_code]
    blurred = DecodePipeline().process(distort(scene.image, "blur", 3, rng))
    assert blurred.blurry and blurred.codes == []
    assert blurred.sharpness < DecodePipeline().blur_threshold < sharp.sharpness
    # With rejection off the same frame is decoded (and still gives nothing: too blurred).
    unrejected = DecodePipeline(blur_threshold=0).process(distort(scene.image, "blur", 3, rng))
    assert not unrejected.blurry


def test_sharpness_ignores_contrast_but_not_blur(rng: np.random.Generator) -> None:
    image = render_scene([QR], rng).image
    pipeline = DecodePipeline()
    dim = pipeline.process(distort(image, "low_contrast", 3, rng))
    assert not dim.blurry
    assert [d.code.code for d in dim.codes] == [QR.expected_code]


@pytest.mark.parametrize(
    "frame",
    [
        np.random.default_rng(1).integers(0, 256, (720, 1280, 3), dtype=np.uint8),
        np.full((720, 1280, 3), 128, dtype=np.uint8),
        np.zeros((4, 4), dtype=np.uint8),
    ],
    ids=["sensor-noise", "blank", "tiny"],
)
def test_a_frame_without_a_code_gives_no_code(frame: np.ndarray) -> None:
    assert DecodePipeline().decode(frame) == []
    assert DecodePipeline(blur_threshold=0, strategy="all").decode(frame) == []


def test_a_damaged_symbol_is_not_guessed(rng: np.random.Generator) -> None:
    scene = render_scene([QR], rng)
    at = scene.placements[0]
    damaged = scene.image.copy()
    # Paint over most of the symbol: what is left must not become some other code.
    cv2.rectangle(
        damaged, (at.x, at.y), (at.x + at.width * 3 // 4, at.y + at.height), (255,) * 3, -1
    )
    assert DecodePipeline(strategy="all").decode(damaged) == []


def test_unknown_reader_is_refused() -> None:
    with pytest.raises(ValueError, match="readers"):
        DecodePipeline(readers=("tesseract",))
