"""Scale protocols against the byte sequences real scales send (manuals and known drivers)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.scale.continuous import Continuous
from drivers.scale.mtsics import MtSics
from drivers.scale.protocol import CommandResult, Info
from drivers.scale.reading import FrameError, ScaleReading, ScaleState
from drivers.scale.toledo8217 import Toledo8217


def only(outputs: list[object]) -> object:
    assert len(outputs) == 1, outputs
    return outputs[0]


# -- MT-SICS --


@pytest.mark.parametrize(
    ("line", "grams", "stable"),
    [
        (b"S S     100.00 g\r\n", "100.00", True),
        (b"S D     129.07 g\r\n", "129.07", False),
        (b"S S    -100.00 g\r\n", "-100.00", True),
        (b"S S     4.8760 kg\r\n", "4876.0000", True),
    ],
)
def test_mtsics_weights(line: bytes, grams: str, stable: bool) -> None:
    out = only(MtSics(unit=line.split()[-1].decode()).feed(line))
    assert out == ScaleReading(Decimal(grams), stable, ScaleState.OK, line)


@pytest.mark.parametrize(
    ("line", "state", "words"),
    [
        (b"S +\r\n", ScaleState.OVER, "overload"),
        (b"S -\r\n", ScaleState.UNDER, "underload"),
        (b"S I\r\n", ScaleState.BUSY, "not executable"),  # ask again: not a fault
        (b"ES\r\n", ScaleState.ERROR, "syntax error"),
        (b"ET\r\n", ScaleState.ERROR, "parity"),
        (b"EL\r\n", ScaleState.ERROR, "logical error"),
    ],
)
def test_mtsics_no_weight_replies(line: bytes, state: ScaleState, words: str) -> None:
    out = only(MtSics().feed(line))
    assert isinstance(out, ScaleReading) and out.grams is None and out.state is state
    assert words in out.detail


def test_mtsics_zero_tare_and_reset_banner() -> None:
    scale = MtSics()
    assert (scale.poll(), scale.zero(), scale.tare()) == (b"SI\r\n", b"Z\r\n", b"T\r\n")
    zeroed, tared, refused, banner = scale.feed(
        b'Z A\r\nT S     12.34 g\r\nZ I\r\nI4 A "1126493049"\r\n'
    )
    assert zeroed == CommandResult("zero", True, "zeroed", b"Z A\r\n")
    assert isinstance(tared, CommandResult) and tared.ok and "12.34 g" in tared.detail
    assert isinstance(refused, CommandResult) and not refused.ok
    assert isinstance(banner, Info) and "1126493049" in banner.detail


def test_mtsics_split_reads_and_garbage() -> None:
    scale = MtSics()
    out = scale.feed(b"\x00\x13S S   ")
    out += scale.feed(b"  100.00 g\r\nS S 1.2.3 g\r\nS Q 5 g\r\n")
    assert isinstance(out[0], FrameError)  # NUL and XOFF glued to the line: not a reply
    assert [type(o).__name__ for o in out[1:]] == ["FrameError", "FrameError"]


def test_mtsics_resyncs_on_the_next_line_after_noise() -> None:
    scale = MtSics()
    out = scale.feed(b"\xff\xfe\r\nS S     100.00 g\r\n")
    assert isinstance(out[0], FrameError)
    assert out[1] == ScaleReading(Decimal("100.00"), True, ScaleState.OK, b"S S     100.00 g\r\n")


# -- Toledo 8217 --


@pytest.mark.parametrize(
    ("frame", "unit", "grams", "detail"),
    [
        (b"\x0201.234\r", "kg", "1234.000", "gross"),
        (b"\x0201.234N\r", "kg", "1234.000", "net"),
        (b"\x02003.45\r", "lb", "1564.8936765", "gross"),
    ],
)
def test_8217_weights(frame: bytes, unit: str, grams: str, detail: str) -> None:
    scale = Toledo8217(unit=unit)  # type: ignore[arg-type]
    assert scale.poll() == b"W"
    out = only(scale.feed(frame))
    assert out == ScaleReading(Decimal(grams), True, ScaleState.OK, frame, detail)


@pytest.mark.parametrize(
    ("frame", "state", "words"),
    [
        (b"\x02?A\r", ScaleState.BUSY, "in motion"),  # 0x41: motion (+ bit 6)
        (b"\x02?B\r", ScaleState.OVER, "over capacity"),
        (b"\x02?D\r", ScaleState.UNDER, "under zero"),
        (b"\x02?a\r", ScaleState.BUSY, "in motion"),  # Brecknell: bit 5 always set
        (b"\x02?Q\r", ScaleState.BUSY, "centre of zero"),  # motion + centre of zero
        (b"\x02?H\r", ScaleState.ERROR, "outside zero capture"),
    ],
)
def test_8217_status_replies(frame: bytes, state: ScaleState, words: str) -> None:
    scale = Toledo8217()
    scale.poll()
    out = only(scale.feed(frame))
    assert isinstance(out, ScaleReading) and out.grams is None and not out.stable
    assert out.state is state and words in out.detail


def test_8217_read_by_a_host_set_to_8n1_still_parses() -> None:
    # Even parity lands in bit 7 of characters with an odd number of ones: STX->0x82, 1->0xB1,
    # CR->0x8D, Q->0xD1.
    scale = Toledo8217()
    scale.poll()
    weight, status = scale.feed(b"\x82\x30\xb1.\xb2\x33\xb4\x8d" + b"\x82?\xd1\x8d")
    assert weight == ScaleReading(
        Decimal("1234.000"), True, ScaleState.OK, b"\x0201.234\r", "gross"
    )
    assert isinstance(status, ScaleReading) and "in motion" in status.detail


def test_8217_zero_and_tare_answers() -> None:
    scale = Toledo8217()
    assert scale.zero() == b"Z"
    zeroed = only(scale.feed(b"\x02?P\r"))  # 0x50: centre of zero
    assert isinstance(zeroed, CommandResult) and zeroed.command == "zero" and zeroed.ok
    assert scale.zero() == b"Z"
    refused = only(scale.feed(b"\x02?A\r"))  # still moving
    assert isinstance(refused, CommandResult) and not refused.ok
    assert scale.tare() == b"T"
    tared = only(scale.feed(b"\x02?@\r"))
    assert isinstance(tared, CommandResult) and tared.command == "tare" and tared.ok


def test_8217_garbage_between_frames_is_dropped() -> None:
    scale = Toledo8217()
    scale.poll()
    out = scale.feed(b"\x00\x00junk\x0201.234\r\x0299999999999999999\r")
    assert isinstance(out[0], FrameError)
    assert isinstance(out[1], ScaleReading) and out[1].grams == Decimal("1234.000")
    assert isinstance(out[2], FrameError)


# -- continuous output --


@pytest.mark.parametrize(
    ("line", "grams", "stable", "detail"),
    [
        (b"ST,GS,+  4.876kg\r\n", "4876.000", True, "gross"),
        (b"US,GS,+  4.880kg\r\n", "4880.000", False, "gross"),
        (b"ST,NT,-  0.020kg\r\n", "-20.000", True, "net"),
        (b"ST,GS,+  10.25lb\r\n", "4649.3217925", True, "gross"),
    ],
)
def test_indicator_lines(line: bytes, grams: str, stable: bool, detail: str) -> None:
    out = only(Continuous().feed(line))
    assert out == ScaleReading(Decimal(grams), stable, ScaleState.OK, line, detail)


def test_indicator_overload_tare_and_truncated_first_line() -> None:
    out = Continuous().feed(b"S,+  4.876kg\r\nOL,GS,+  9.999kg\r\nST,TR,+  0.120kg\r\n")
    assert isinstance(out[0], FrameError)  # joined the stream mid-line
    assert isinstance(out[1], ScaleReading) and out[1].state is ScaleState.OVER
    assert isinstance(out[2], Info)


@pytest.mark.parametrize(
    ("line", "grams", "stable"),
    [(b"ST,+00123.45  g\r\n", "123.45", True), (b"US,-00183.96  g\r\n", "-183.96", False)],
)
def test_and_balance_lines(line: bytes, grams: str, stable: bool) -> None:
    out = only(Continuous(variant="and").feed(line))
    assert out == ScaleReading(Decimal(grams), stable, ScaleState.OK, line)


def test_and_balance_counts() -> None:
    counted = only(Continuous(variant="and").feed(b"QT,+00012345 PC\r\n"))
    assert isinstance(counted, Info)


def test_continuous_scales_are_not_polled() -> None:
    assert Continuous().poll() is None and Continuous().zero() is None
    assert Continuous(variant="and").zero() == b"Z\r\n"
