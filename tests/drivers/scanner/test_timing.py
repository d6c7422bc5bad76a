"""Scanner bursts versus people typing, judged by the gaps between key presses."""

from __future__ import annotations

import pytest

from drivers.scanner import DecodedLine, KeyTiming, classify
from drivers.sim.keystreams import scan
from tests.drivers.scanner.support import decode


def test_timing_statistics_from_press_times() -> None:
    timing = KeyTiming.from_presses([10.0, 10.002, 10.005, 10.105])
    assert timing.presses == 4
    assert timing.median_gap == pytest.approx(0.003)
    assert timing.max_gap == pytest.approx(0.1)
    assert timing.duration == pytest.approx(0.105)
    assert classify(timing) == "scanner"  # one slow key does not make a person


@pytest.mark.parametrize(
    ("times", "kind"),
    [
        ([0.0, 0.004, 0.007, 0.011], "scanner"),
        ([0.0, 0.12, 0.35, 0.47, 0.75], "human"),
        ([0.0, 0.03, 0.06], "scanner"),  # a scanner set to a slow inter-character delay
        ([0.0], "human"),  # a lone key is nobody's barcode
        ([], "human"),
    ],
)
def test_classify(times: list[float], kind: str) -> None:
    assert classify(KeyTiming.from_presses(times)) == kind


@pytest.mark.parametrize("layout", ["us", "de"])
@pytest.mark.parametrize("seed", range(5))
def test_recorded_streams_are_classified_by_who_typed_them(layout: str, seed: int) -> None:
    for timing in ("scanner", "human"):
        (line,) = decode(scan("SN-4711-X", layout, timing=timing, seed=seed), layout)
        assert isinstance(line, DecodedLine)
        assert classify(line.timing) == timing
