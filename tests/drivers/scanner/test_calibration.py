"""One scan of the calibration code tells which layout the scanner emulates."""

from __future__ import annotations

import pytest
from evdev import ecodes as e

from drivers.scanner import CALIBRATION_TEXT, CalibrationError, detect_layout, is_calibration
from drivers.sim.keystreams import KeyStream, scan
from tests.drivers.scanner.support import Keys


def test_the_calibration_code_is_every_printable_ascii_character() -> None:
    assert sorted(CALIBRATION_TEXT) == [chr(c) for c in range(0x20, 0x7F)]


@pytest.mark.parametrize("name", ["us", "uk", "de", "fr"])
def test_a_calibration_scan_names_the_layout_the_scanner_emulates(name: str) -> None:
    assert detect_layout(scan(CALIBRATION_TEXT, name)) == name


@pytest.mark.parametrize("name", ["uk", "fr"])
def test_the_aim_prefix_and_human_timing_do_not_matter(name: str) -> None:
    events = scan("]C0" + CALIBRATION_TEXT, name, timing="human", suffix="kpenter")
    assert detect_layout(events) == name


def test_only_the_given_candidate_layouts_are_tried() -> None:
    with pytest.raises(CalibrationError, match="us:"):
        detect_layout(scan(CALIBRATION_TEXT, "de"), layouts=["us"])


@pytest.mark.parametrize(
    "events",
    [
        scan("hello world", "us"),
        scan(CALIBRATION_TEXT[:-3], "us"),
        scan(CALIBRATION_TEXT + "x", "de"),
        KeyStream("fr").type(CALIBRATION_TEXT[:40], suffix=None).syn_dropped()
        .type(CALIBRATION_TEXT[40:]).events,
        Keys().tap(*range(e.KEY_1, e.KEY_1 + 40), e.KEY_ENTER).events,
    ],
    ids=["other text", "truncated", "extra character", "events dropped", "key mash"],
)  # fmt: skip
def test_anything_else_is_refused_with_reasons_per_layout(events: list) -> None:  # type: ignore[type-arg]
    with pytest.raises(CalibrationError) as refused:
        detect_layout(events)
    for name in ("us", "uk", "de", "fr"):
        assert f"{name}:" in str(refused.value)


def test_no_key_presses_is_refused() -> None:
    with pytest.raises(CalibrationError, match="no key presses"):
        detect_layout([])


def test_is_calibration_accepts_an_aim_prefix_only() -> None:
    assert is_calibration(CALIBRATION_TEXT)
    assert is_calibration("]Q1" + CALIBRATION_TEXT)
    assert not is_calibration("x" + CALIBRATION_TEXT)
    assert not is_calibration(CALIBRATION_TEXT[1:])
