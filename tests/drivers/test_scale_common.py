"""Scale readings: exact unit conversion, framing with resync, and the stable-weight rule."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.scale.acceptance import StableWeightFilter
from drivers.scale.framing import Framer
from drivers.scale.reading import ScaleReading, ScaleState, to_grams


def reading(
    grams: str | None, stable: bool = True, state: ScaleState = ScaleState.OK
) -> ScaleReading:
    return ScaleReading(Decimal(grams) if grams is not None else None, stable, state, b"")


@pytest.mark.parametrize(
    ("number", "unit", "grams"),
    [
        ("4.876", "kg", "4876.000"),
        ("  412.5", "g", "412.5"),
        ("-0.020", "kg", "-20.000"),
        ("1", "lb", "453.59237"),
        ("2.0", "oz", "56.6990462500"),
    ],
)
def test_units_convert_exactly(number: str, unit: str, grams: str) -> None:
    assert to_grams(number, unit) == Decimal(grams)


@pytest.mark.parametrize(
    ("number", "unit"), [("4.8.7", "kg"), ("12", "stone"), ("NaN", "g"), ("", "g")]
)
def test_what_is_not_a_weight_is_refused(number: str, unit: str) -> None:
    with pytest.raises(ValueError):
        to_grams(number, unit)


def test_framer_resynchronises_after_garbage_and_splits_across_reads() -> None:
    framer = Framer(end=b"\r\n", start=b"S", max_length=20)
    out = framer.feed(b"\x00\xffnoiseS S   1.0 g\r")
    out += framer.feed(b"\nS S   2.0 g\r\n")
    assert out == [
        (b"\x00\xffnoise", False),
        (b"S S   1.0 g\r\n", True),
        (b"S S   2.0 g\r\n", True),
    ]


def test_framer_drops_a_frame_that_never_ends() -> None:
    framer = Framer(end=b"\r\n", max_length=16)
    out = framer.feed(b"x" * 40)
    assert out == [(b"x" * 40, False)]
    assert framer.feed(b"ok\r\n") == [(b"ok\r\n", True)]


def test_weight_is_accepted_once_when_stable_and_repeated() -> None:
    rule = StableWeightFilter(repeats=3)
    offered = [rule.offer(reading("412.5")) for _ in range(5)]
    assert offered == [None, None, Decimal("412.5"), None, None]


def test_motion_overload_and_changes_restart_the_count() -> None:
    rule = StableWeightFilter(repeats=2)
    assert rule.offer(reading("412.5")) is None
    assert rule.offer(reading("412.5", stable=False)) is None  # someone touched the box
    assert rule.offer(reading("412.5")) is None
    assert rule.offer(reading("412.5")) == Decimal("412.5")
    assert rule.offer(reading(None, stable=False, state=ScaleState.OVER)) is None
    assert rule.offer(reading("412.5")) is None
    assert rule.offer(reading("412.5")) == Decimal("412.5")  # overload in between: a new load


def test_overload_is_never_accepted_however_often_it_repeats() -> None:
    rule = StableWeightFilter(repeats=2)
    over = ScaleReading.status(ScaleState.OVER, b"S +\r\n", "overload")
    assert all(rule.offer(over) is None for _ in range(10))


def test_tolerance_lets_the_last_digit_flicker() -> None:
    rule = StableWeightFilter(repeats=3, tolerance=Decimal("0.5"))
    results = [rule.offer(reading(g)) for g in ("412.5", "412.0", "412.5")]
    assert results[-1] == Decimal("412.5")
