"""The label simulator: real scenes of the promised size, deterministic, distortions in range."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.sim.labels import (
    DISTORTION_LEVELS,
    GS,
    SCENE_SIZE,
    Distortion,
    LabelCode,
    apply,
    degrade,
    distort,
    render_scene,
    render_symbol,
    sample_codes,
)


def test_gs1_expectation_puts_separators_only_after_variable_fields() -> None:
    label = LabelCode.gs1_datamatrix(("01", "09506000134352"), ("10", "A1"), ("17", "271231"))
    assert label.hri == "(01)09506000134352(10)A1(17)271231"
    assert label.expected_code == "0109506000134352" + "10A1" + GS + "17271231"
    assert label.expected_gs1 == {"01": "09506000134352", "10": "A1", "17": "271231"}


def test_scene_is_a_1280x720_colour_frame_with_the_label_inside() -> None:
    scene = render_scene(sample_codes(np.random.default_rng(1)), np.random.default_rng(2))
    width, height = SCENE_SIZE
    assert scene.image.shape == (height, width, 3) and scene.image.dtype == np.uint8
    lx, ly, lw, lh = scene.label_box
    assert lx >= 0 and lx + lw <= width and ly >= 0 and ly + lh <= height
    for at in scene.placements:
        assert lx <= at.x and at.x + at.width <= lx + lw
        assert ly <= at.y and at.y + at.height <= ly + lh
    # Paper is brighter than the dock around it.
    assert scene.image[ly : ly + lh, lx : lx + lw].mean() > scene.image[:, : lx // 2].mean() + 60


def test_same_seed_same_scene() -> None:
    codes = sample_codes(np.random.default_rng(3))
    a = render_scene(codes, np.random.default_rng(4)).image
    b = render_scene(codes, np.random.default_rng(4)).image
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kind", list(DISTORTION_LEVELS))
def test_every_distortion_level_changes_the_frame_but_keeps_its_shape(kind: Distortion) -> None:
    rng = np.random.default_rng(5)
    image = render_scene([LabelCode.qr("x")], rng).image
    for level in range(1, len(DISTORTION_LEVELS[kind]) + 1):
        out = distort(image, kind, level, rng)
        assert out.shape == image.shape and out.dtype == np.uint8
        assert kind == "clean" or not np.array_equal(out, image)


def test_symbols_have_quiet_zones() -> None:
    for code in sample_codes(np.random.default_rng(6)):
        symbol = render_symbol(code)
        assert symbol[:, :4].min() == 255 and symbol[:, -4:].min() == 255
        assert symbol.min() == 0


def test_degrade_chains_exact_values_in_order() -> None:
    image = render_scene([LabelCode.qr("x")], np.random.default_rng(7), size=(640, 360)).image
    chained = degrade(image, [("blur", 1.3), ("jpeg", 20.0)], np.random.default_rng(8))
    unused = np.random.default_rng(0)  # blur and JPEG draw nothing at random
    by_hand = apply(apply(image, "blur", 1.3, unused), "jpeg", 20.0, unused)
    assert np.array_equal(chained, by_hand)
    level = distort(image, "blur", 2, np.random.default_rng(9))
    assert np.array_equal(level, apply(image, "blur", DISTORTION_LEVELS["blur"][1], unused))


def test_motion_blur_smears_without_darkening() -> None:
    image = render_scene([LabelCode.qr("x")], np.random.default_rng(7), size=(640, 360)).image
    smeared = apply(image, "motion", 9.0, np.random.default_rng(1))
    assert abs(float(smeared.mean()) - float(image.mean())) < 2.0  # the kernel sums to one
    assert float(np.abs(np.diff(smeared.astype(np.int16), axis=1)).mean()) < float(
        np.abs(np.diff(image.astype(np.int16), axis=1)).mean()
    )


def test_ink_colour_is_drawn_in_bgr_order() -> None:
    scene = render_scene(
        [LabelCode.qr("x")], np.random.default_rng(7), size=(640, 360), ink=(255, 0, 0)
    )
    at = scene.placements[0]
    symbol = scene.image[at.y : at.y + at.height, at.x : at.x + at.width].reshape(-1, 3)
    inked = symbol[symbol[:, 2] < 128]  # no red: where the blue ink is
    assert len(inked) and (inked == (255, 0, 0)).all()
