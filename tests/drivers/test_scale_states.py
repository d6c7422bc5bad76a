"""Scale states (busy is not an error, a status is never a weight) and damaged frames."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scale.acceptance import StableWeightFilter
from drivers.scale.continuous import Continuous
from drivers.scale.mtsics import MtSics
from drivers.scale.protocol import Output, ScaleProtocol
from drivers.scale.reading import FrameError, ScaleReading, ScaleState
from drivers.scale.toledo8217 import Toledo8217


def only(outputs: list[Output]) -> Output:
    assert len(outputs) == 1, outputs
    return outputs[0]


def weight(grams: str, stable: bool = True) -> ScaleReading:
    return ScaleReading(Decimal(grams), stable, ScaleState.OK, b"")


def busy() -> ScaleReading:
    return ScaleReading.status(ScaleState.BUSY, b"S I\r\n", "not executable now")


# -- a reply without a weight is a state, never a number --


def test_a_reading_cannot_be_ok_without_grams_nor_carry_grams_in_another_state() -> None:
    with pytest.raises(ValueError, match="ok reading cannot carry grams=None"):
        ScaleReading(None, False, ScaleState.OK, b"\x02?A\r")
    with pytest.raises(ValueError, match="over reading cannot carry grams=99999"):
        ScaleReading(Decimal(99999), False, ScaleState.OVER, b"")
    with pytest.raises(ValueError, match="cannot be stable"):
        ScaleReading(None, True, ScaleState.BUSY, b"")


def test_8217_motion_status_is_busy_and_carries_no_weight() -> None:
    scale = Toledo8217()
    scale.poll()
    out = only(scale.feed(b"\x02?A\r"))  # 0x41: motion (bit 6 set on Mettler scales)
    assert isinstance(out, ScaleReading)
    assert (out.state, out.grams, out.stable) == (ScaleState.BUSY, None, False)


# -- precedence when several status bits are set: over > under > error > busy --


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (0x41, ScaleState.BUSY),  # motion
        (0x43, ScaleState.OVER),  # motion + over capacity
        (0x46, ScaleState.OVER),  # over capacity + under zero
        (0x45, ScaleState.UNDER),  # motion + under zero
        (0x4C, ScaleState.UNDER),  # under zero + outside zero capture
        (0x49, ScaleState.ERROR),  # motion + outside zero capture range
        (0x48, ScaleState.ERROR),  # outside zero capture range
        (0x50, ScaleState.ERROR),  # centre of zero and still no weight: no reason given
        (0x51, ScaleState.BUSY),  # motion + centre of zero
    ],
)
def test_8217_status_bits_follow_the_documented_precedence(status: int, state: ScaleState) -> None:
    scale = Toledo8217()
    scale.poll()
    out = only(scale.feed(b"\x02?" + bytes([status]) + b"\r"))
    assert isinstance(out, ScaleReading) and out.state is state and out.grams is None


def test_mtsics_busy_is_not_an_error() -> None:
    out = only(MtSics().feed(b"S I\r\n"))
    assert isinstance(out, ScaleReading) and out.state is ScaleState.BUSY and out.grams is None


def test_a_continuous_unstable_line_is_a_weight_not_busy() -> None:
    out = only(Continuous().feed(b"US,GS,+  4.880kg\r\n"))
    assert isinstance(out, ScaleReading)
    assert (out.state, out.grams, out.stable) == (ScaleState.OK, Decimal("4880.000"), False)


# -- the acceptance rule: busy is "not yet" --


def test_busy_is_never_accepted_and_does_not_forget_the_accepted_load() -> None:
    rule = StableWeightFilter(repeats=2)
    assert all(rule.offer(busy()) is None for _ in range(10))
    assert [rule.offer(weight("412.5")) for _ in range(2)] == [None, Decimal("412.5")]
    assert rule.offer(busy()) is None
    # The same box after a busy reply: still the load already accepted.
    assert [rule.offer(weight("412.5")) for _ in range(3)] == [None, None, None]


def test_8217_motion_between_two_identical_boxes_weighs_the_second() -> None:
    # An 8217 has no unstable weight: its motion status is the only sign that the load changed.
    # Box A is lifted and box B of the same weight set down while the scale is still moving.
    scale = Toledo8217()
    rule = StableWeightFilter(repeats=2)
    stream = [b"\x0201.234\r"] * 2 + [b"\x02?A\r"] * 3 + [b"\x0201.234\r"] * 2
    accepted = []
    for frame in stream:
        scale.poll()
        out = only(scale.feed(frame))
        assert isinstance(out, ScaleReading)
        if (grams := rule.offer(out)) is not None:
            accepted.append(grams)
    assert accepted == [Decimal("1234.000"), Decimal("1234.000")]


def test_busy_breaks_a_run_of_agreeing_readings() -> None:
    rule = StableWeightFilter(repeats=2)
    assert rule.offer(weight("412.5")) is None
    assert rule.offer(busy()) is None
    assert rule.offer(weight("412.5")) is None  # not consecutive with the first
    assert rule.offer(weight("412.5")) == Decimal("412.5")


def test_a_real_fault_forgets_the_accepted_load() -> None:
    rule = StableWeightFilter(repeats=1)
    assert rule.offer(weight("412.5")) == Decimal("412.5")
    assert rule.offer(ScaleReading.status(ScaleState.ERROR, b"EL\r\n", "logical error")) is None
    assert rule.offer(weight("412.5")) == Decimal("412.5")  # weighed anew after the fault


# -- A&D standard format (GX/GF/GH manuals: header, comma, 9 data, 3 unit, CR LF) --


@pytest.mark.parametrize(
    ("line", "state"),
    [
        (b"OL,+9999999E+19\r\n", ScaleState.OVER),  # over capacity ("E" on the display)
        (b"OL,-9999999E+19\r\n", ScaleState.UNDER),  # negative error ("-E")
        # A&D EK-L (same standard format): out of range keeps the unit, data all nines.
        (b"OL,+999999.9  g\r\n", ScaleState.OVER),
        (b"OL,-99999999 PC\r\n", ScaleState.UNDER),
    ],
)
def test_and_overload_frames_from_the_manual(line: bytes, state: ScaleState) -> None:
    out = only(Continuous(variant="and").feed(line))
    assert isinstance(out, ScaleReading) and out.state is state and out.grams is None


@pytest.mark.parametrize(
    ("line", "grams", "stable"),
    [
        (b"ST,+000.1278  g\r\n", "0.1278", True),  # 0.1 mg balance, unit padded to 3
        (b"US,-00183.96  g\r\n", "-183.96", False),
        (b"ST,+0001.234 kg\r\n", "1234.000", True),
        (b"ST,+00012.50 ct\r\n", "2.500", True),  # metric carat = 0.2 g
        (b"ST,+0003.000mom\r\n", "11.250000", True),  # momme = 3.75 g
    ],
)
def test_and_units_padded_to_three_characters(line: bytes, grams: str, stable: bool) -> None:
    out = only(Continuous(variant="and").feed(line))
    assert out == ScaleReading(Decimal(grams), stable, ScaleState.OK, line)


@pytest.mark.parametrize(
    "line",
    [
        b"ST,+00123.45 g\r\n",  # unit field lost a byte
        b"ST,+00123.45g\r\n",
        b"ST,+0123.45  g\r\n",  # data field lost a byte
        b"ST,+00123.45 g \r\n",  # unit not right-aligned
        b"ST,+0012 .45  g\r\n",
        b"OL,+9999999E+1\r\n",  # damaged overload
        b"OL,+999999.9 g\r\n",  # EK-L overload that lost a byte of its unit
    ],
)
def test_and_lines_without_the_exact_layout_are_refused(line: bytes) -> None:
    assert isinstance(only(Continuous(variant="and").feed(line)), FrameError)


@pytest.mark.parametrize(
    ("line", "state"),
    [
        # Salter Brecknell S122 (this 18-byte format): header OL is "overload, under load".
        (b"OL,GS,+99999.9kg\r\n", ScaleState.OVER),
        (b"OL,GS,-99999.9kg\r\n", ScaleState.UNDER),
    ],
)
def test_an_indicator_ol_line_is_over_or_under_by_its_sign(line: bytes, state: ScaleState) -> None:
    out = only(Continuous().feed(line))
    assert isinstance(out, ScaleReading) and out.state is state and out.grams is None


def test_an_indicator_line_missing_two_characters_is_refused() -> None:
    # `ST,GS,+  4.876kg` that lost "76" in transit used to read as 4800 g.
    assert isinstance(only(Continuous().feed(b"ST,GS,+  4.8kg\r\n")), FrameError)


@pytest.mark.parametrize(
    "line", [b"S S    100.00 g\r\n", b"S S      100.00 g\r\n", b"S S     10 .00 g\r\n"]
)
def test_mtsics_value_field_is_ten_characters(line: bytes) -> None:
    assert isinstance(only(MtSics().feed(line)), FrameError)


def test_mtsics_reply_in_another_unit_than_the_profile_says_is_refused() -> None:
    out = only(MtSics(unit="kg").feed(b"S S     4.8760 g\r\n"))  # "kg" that lost its "k"
    assert isinstance(out, FrameError) and "profile says unit 'kg'" in out.reason


@pytest.mark.parametrize(
    ("weight_format", "frame", "grams"),
    [
        ("00.000", b"\x0201.234\r", "1234.000"),
        ("00.000", b"\x02 1.234\r", "1234.000"),  # leading zero sent as a space
        ("00.000", b"\x021.234\r", None),  # a digit short
        ("00.000", b"\x0201.23\r", None),
        ("00.000", b"\x0201 .234\r", None),
        ("000.00", b"\x02123.45N\r", "55995.9780765"),
        ("000.00", b"\x0223.45\r", None),
    ],
)
def test_8217_weight_has_the_width_the_profile_says(
    weight_format: str, frame: bytes, grams: str | None
) -> None:
    unit = "kg" if weight_format == "00.000" else "lb"
    scale = Toledo8217(unit=unit, weight_format=weight_format)  # type: ignore[arg-type]
    scale.poll()
    out = only(scale.feed(frame))
    if grams is None:
        assert isinstance(out, FrameError)
    else:
        assert isinstance(out, ScaleReading) and out.grams == Decimal(grams)


# -- property: damage never turns a frame into another weight --

VALID: list[tuple[str, bytes, Decimal]] = [
    ("mtsics", b"S S     100.00 g\r\n", Decimal("100.00")),
    ("mtsics", b"S D    -129.07 g\r\n", Decimal("-129.07")),
    ("mtsics-kg", b"S S     4.8760 kg\r\n", Decimal("4876.0000")),
    ("toledo8217", b"\x0201.234\r", Decimal("1234.000")),
    ("toledo8217", b"\x0212.345N\r", Decimal("12345.000")),
    ("toledo8217-lb", b"\x02001.25\r", Decimal("1.25") * Decimal("453.59237")),
    ("indicator", b"ST,GS,+  4.876kg\r\n", Decimal("4876.000")),
    ("indicator", b"US,NT,- 10.020kg\r\n", Decimal("-10020.000")),
    ("indicator", b"ST,GS,+  10.25lb\r\n", Decimal("10.25") * Decimal("453.59237")),
    ("and", b"ST,+00123.45  g\r\n", Decimal("123.45")),
    ("and", b"US,-0001.234 kg\r\n", Decimal("-1234.000")),
]


def parser(name: str) -> ScaleProtocol:
    made: ScaleProtocol = {
        "mtsics": MtSics,
        "mtsics-kg": lambda: MtSics(unit="kg"),
        "toledo8217": Toledo8217,
        "toledo8217-lb": lambda: Toledo8217(unit="lb"),
        "indicator": Continuous,
        "and": lambda: Continuous(variant="and"),
    }[name]()
    made.poll()
    return made


# A byte that turns into another digit, letter, sign or padding space leaves a well-formed
# frame that no check without a checksum can tell from a real one (docs/scales.md says so);
# everything else a line can do to a frame is drawn here. Bit 7 is parity on 7E1 lines.
_INVISIBLE = frozenset(b"0123456789+- ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
NOISE = [b for b in range(256) if (b & 0x7F) not in _INVISIBLE]
NOT_A_LETTER = [b for b in range(256) if not chr(b & 0x7F).isalpha()]


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, bytes, Decimal, bytes]:
    name, frame, grams = draw(st.sampled_from(VALID))
    kind = draw(st.sampled_from(["head", "tail", "delete", "insert", "replace"]))
    if kind == "head":
        bad = frame[draw(st.integers(1, len(frame) - 1)) :]
    elif kind == "tail":
        bad = frame[: draw(st.integers(1, len(frame) - 1))]
    else:
        at = draw(st.integers(0, len(frame) - 1))
        if kind == "delete":
            bad = frame[:at] + frame[at + 1 :]
        elif kind == "insert":
            bad = frame[:at] + bytes([draw(st.sampled_from(NOT_A_LETTER))]) + frame[at:]
        else:
            bad = frame[:at] + bytes([draw(st.sampled_from(NOISE))]) + frame[at + 1 :]
    return name, frame, grams, bad


@settings(max_examples=400, deadline=None)
@given(damaged())
def test_no_damage_to_a_frame_yields_another_weight(
    case: tuple[str, bytes, Decimal, bytes],
) -> None:
    name, frame, grams, bad = case
    scale = parser(name)
    outputs = scale.feed(frame + bad + frame)  # damaged between two good frames
    numbers = [o.grams for o in outputs if isinstance(o, ScaleReading) and o.grams is not None]
    assert set(numbers) <= {grams}, (bad, outputs)
    assert numbers[:1] == [grams], "the good frame before the damage still reads"
