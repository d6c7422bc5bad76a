"""Scales that stream readings by themselves, CR LF terminated; every field has a fixed width.

- `indicator` (A&D indicator 18-byte format, copied by many indicators): `ST,GS,+  4.876kg`:
  header ST stable / US unstable / OL overload (under load with a minus sign), comma,
  GS gross / NT net / TR tare, comma,
  8 characters of value (sign, then digits and the point, leading zeros may be spaces), then a
  2-character unit (`kg`, `lb`, ` g`, ` t`).
- `and` (A&D balances' standard format, 15 characters): `ST,+00123.45  g`: header ST stable /
  US unstable / QT piece count / OL overload, comma, 9 characters of data (sign, then digits
  and the point with leading zeros), then the unit in 3 characters, right-aligned and padded
  with spaces (`  g`, ` kg`, ` PC`, `  %`, `mom`). Overload replaces data and unit with
  `+9999999E+19` (over capacity) or `-9999999E+19` (below the weighing range); balances that
  keep the unit (A&D EK-L: `OL,+999999.9  g`) are over or under by the data's sign.

A line that is not exactly this shape (a byte lost, doubled or garbled in transit) is refused.
`US` is a weight that has not settled (stable=False), not a busy reply: it carries a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from drivers.scale.framing import Framer, ascii_line
from drivers.scale.protocol import Info, Output, SerialSettings
from drivers.scale.reading import FrameError, ScaleReading, ScaleState, to_grams

_INDICATOR = re.compile(r"(ST|US|OL),(GS|NT|TR),([+-][0-9. ]{7})(kg|lb| g| t)")
# Sign, then leading spaces or leading zeros (not both), then the number.
_INDICATOR_VALUE = re.compile(r"[+-](?: *|0*)(0|[1-9][0-9]*)?(\.[0-9]+)?")
_AND = re.compile(r"(ST|US|QT|OL),([+-][0-9.]{8})( {0,2}[A-Za-z%]{1,3})")
_AND_DATA = re.compile(r"[+-][0-9]+(\.[0-9]+)?")
_AND_OVERLOAD = {
    "OL,+9999999E+19": (ScaleState.OVER, "overload"),
    "OL,-9999999E+19": (ScaleState.UNDER, "below the weighing range"),
}
_NOT_WEIGHTS = ("PC", "%")
_INDICATOR_UNITS = {"kg": ("1", "kg"), "lb": ("1", "lb"), " g": ("1", "g"), " t": ("1000", "kg")}


@dataclass
class Continuous:
    variant: Literal["indicator", "and"] = "indicator"
    name: str = "continuous"
    serial: SerialSettings = field(default_factory=SerialSettings)
    _framer: Framer = field(default_factory=lambda: Framer(end=b"\r\n", max_length=40))

    def poll(self) -> None:
        return None

    def zero(self) -> bytes | None:
        return b"Z\r\n" if self.variant == "and" else None

    def tare(self) -> bytes | None:
        return b"T\r\n" if self.variant == "and" else None

    def feed(self, data: bytes) -> list[Output]:
        return self._framer.parse(data, self._parse, "no CR LF frame")

    def _parse(self, frame: bytes) -> Output:
        text = ascii_line(frame)
        if isinstance(text, FrameError):
            return text
        if self.variant == "and":
            return self._and(frame, text)
        return self._indicator(frame, text)

    def _indicator(self, frame: bytes, text: str) -> Output:
        match = _INDICATOR.fullmatch(text)
        if not match:
            return FrameError(frame, "not an indicator weight line (ST|US|OL,GS|NT|TR,±7,unit)")
        header, mode, value, unit = match.groups()
        if header == "OL":  # "overload, under load": the sign says which
            if value.startswith("-"):
                return ScaleReading.status(ScaleState.UNDER, frame, "under load")
            return ScaleReading.status(ScaleState.OVER, frame, "overload")
        if not _INDICATOR_VALUE.fullmatch(value) or not any(c.isdigit() for c in value):
            return FrameError(frame, f"malformed weight value {value!r}")
        if mode == "TR":
            return Info("tare value shown", frame)
        factor, base = _INDICATOR_UNITS[unit]
        grams = to_grams(value, base) * int(factor)
        return ScaleReading(
            grams, header == "ST", ScaleState.OK, frame, "net" if mode == "NT" else "gross"
        )

    def _and(self, frame: bytes, text: str) -> Output:
        if text in _AND_OVERLOAD:
            state, detail = _AND_OVERLOAD[text]
            return ScaleReading.status(state, frame, detail)
        match = _AND.fullmatch(text)
        if not match or len(match.group(3)) != 3:
            return FrameError(frame, "not an A&D standard-format line (header,±8 data,3 unit)")
        header, data, unit = match.group(1), match.group(2), match.group(3).strip()
        if header == "OL" and _AND_DATA.fullmatch(data):
            # Balances that keep the unit (A&D EK-L: `OL,+999999.9  g`): the sign says which way.
            state, detail = _AND_OVERLOAD[f"OL,{data[0]}9999999E+19"]
            return ScaleReading.status(state, frame, detail)
        if header == "OL" or not _AND_DATA.fullmatch(data):
            return FrameError(frame, f"malformed A&D data {data!r}")
        if header == "QT" or unit in _NOT_WEIGHTS:
            return Info("piece count or percentage, not a weight", frame)
        try:
            grams = to_grams(data, unit)
        except ValueError as exc:
            return FrameError(frame, str(exc))
        return ScaleReading(grams, header == "ST", ScaleState.OK, frame)
