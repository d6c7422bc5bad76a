"""Scales that stream readings by themselves, CR LF terminated.

- `indicator` (A&D indicator 18-byte format, copied by many indicators): `ST,GS,+  4.876kg`:
  header ST stable / US unstable / OL overload, then GS gross / NT net / TR tare, then 8
  characters of signed value, then a 2-character unit.
- `and` (A&D balances' standard format, 15 characters): `ST,+00123.45  g`: header ST / US /
  QT (piece count) / OL, 9 characters of signed value, a 3-character unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from drivers.scale.framing import Framer, ascii_line
from drivers.scale.protocol import Info, Output, SerialSettings
from drivers.scale.reading import FrameError, ScaleReading, ScaleState, to_grams

_INDICATOR = re.compile(r"^(ST|US|OL),(GS|NT|TR),([+-] *[0-9. ]+?) *(kg|lb| g| t|g|t)?$")
_AND = re.compile(r"^(ST|US|QT|OL),([+-][0-9.]{8})(.{3})$")
_UNITS = {"t": "kg", "g": "g", "kg": "kg", "lb": "lb", "oz": "oz"}


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
        match = _INDICATOR.fullmatch(text)
        if not match:
            return FrameError(frame, "not an indicator weight line")
        header, mode, value, unit = match.groups()
        if header == "OL":
            return ScaleReading(None, False, ScaleState.OVER, frame, "overload")
        if mode == "TR":
            return Info("tare value shown", frame)
        if unit is None:
            return FrameError(frame, "weight line without a unit")
        unit = unit.strip()
        try:
            grams = to_grams(value, _UNITS[unit]) * (1000 if unit == "t" else 1)
        except ValueError as exc:
            return FrameError(frame, str(exc))
        return ScaleReading(
            grams, header == "ST", ScaleState.OK, frame, "net" if mode == "NT" else "gross"
        )

    def _and(self, frame: bytes, text: str) -> Output:
        match = _AND.fullmatch(text)
        if not match:
            return FrameError(frame, "not an A&D standard-format line")
        header, value, unit = match.group(1), match.group(2), match.group(3).strip()
        if header == "OL":
            return ScaleReading(None, False, ScaleState.OVER, frame, "overload")
        if header == "QT" or unit in ("PC", "%"):
            return Info("piece count or percentage, not a weight", frame)
        try:
            grams = to_grams(value, unit)
        except ValueError as exc:
            return FrameError(frame, str(exc))
        return ScaleReading(grams, header == "ST", ScaleState.OK, frame)
