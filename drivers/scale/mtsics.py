"""Mettler Toledo MT-SICS (level 0/1): SI polling, Z and T; CR LF framed text lines.

Replies: `S S <value> <unit>` stable, `S D …` dynamic, `S I` not executable now, `S +`
overload, `S -` underload; `Z A` zeroed; `T S <value> <unit>` tared; `ES`/`ET`/`EL` errors;
`I4 A "<serial>"` after a reset or power-on.

A weight reply has a fixed shape: `S`, space, `S`/`D`, space, the value right-aligned in a field
of 10 characters (leading spaces, a minus sign for negative values), space, the unit. A reply
that lost or gained a byte no longer has that shape and is refused rather than read.
`S I` means "ask again" (busy), not a fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from drivers.scale.framing import Framer, ascii_line
from drivers.scale.protocol import CommandResult, Info, Output, SerialSettings
from drivers.scale.reading import FrameError, ScaleReading, ScaleState, to_grams

_GENERAL_ERRORS = {
    "ES": "syntax error: the scale did not recognise the command",
    "ET": "transmission error: check baud rate, parity and cable",
    "EL": "logical error: the scale cannot execute the command",
}
_NOT_EXECUTABLE = "not executable now (scale busy, or no stability before its timeout)"
_WEIGHT = re.compile(r"S ([SD]) (.{10}) ([A-Za-z]{1,5})")
# The value field: leading spaces, an optional minus, digits without a leading zero, decimals.
_VALUE = re.compile(r" *-?(0|[1-9][0-9]*)(\.[0-9]+)?")


@dataclass
class MtSics:
    unit: str = "g"  # the unit the balance reports in (its host / definition unit)
    name: str = "mtsics"
    serial: SerialSettings = field(default_factory=SerialSettings)  # 9600 8N1, as drivers use
    _framer: Framer = field(default_factory=lambda: Framer(end=b"\r\n", max_length=64))

    def poll(self) -> bytes:
        return b"SI\r\n"

    def zero(self) -> bytes:
        return b"Z\r\n"

    def tare(self) -> bytes:
        return b"T\r\n"

    def feed(self, data: bytes) -> list[Output]:
        return self._framer.parse(data, self._parse, "no CR LF frame")

    def _parse(self, frame: bytes) -> Output:
        text = ascii_line(frame)
        if isinstance(text, FrameError):
            return text
        tokens = text.split()
        if not tokens:
            return FrameError(frame, "empty line")
        head, rest = tokens[0], tokens[1:]
        if head in _GENERAL_ERRORS and not rest:
            return ScaleReading(
                None, False, ScaleState.ERROR, frame, f"{head}: {_GENERAL_ERRORS[head]}"
            )
        if head == "S":
            return self._weight(frame, text, rest)
        if head in ("Z", "T"):
            return self._command("zero" if head == "Z" else "tare", frame, rest)
        if head == "I4" and rest[:1] == ["A"]:
            serial_number = " ".join(rest[1:]).strip('"')
            return Info(f"scale reset or powered on (serial {serial_number})", frame)
        return FrameError(frame, f"unexpected reply {text[:20]!r}")

    def _weight(self, frame: bytes, text: str, rest: list[str]) -> Output:
        status = rest[0] if rest else ""
        if status in ("S", "D") and len(rest) >= 2 and rest[1] == "Error":
            return ScaleReading.status(ScaleState.ERROR, frame, f"scale error {' '.join(rest[2:])}")
        if text in ("S +", "S -", "S I"):
            state, detail = {
                "+": (ScaleState.OVER, "overload"),
                "-": (ScaleState.UNDER, "underload (is the pan on?)"),
                "I": (ScaleState.BUSY, _NOT_EXECUTABLE),
            }[status]
            return ScaleReading.status(state, frame, detail)
        match = _WEIGHT.fullmatch(text)
        if not match:
            return FrameError(frame, "malformed weight reply (not S S|D <10-char value> <unit>)")
        stability, value, unit = match.groups()
        if unit != self.unit:
            return FrameError(frame, f"weight in {unit!r}, but the profile says unit {self.unit!r}")
        if not _VALUE.fullmatch(value):
            return FrameError(frame, f"malformed weight value {value!r}")
        try:
            grams = to_grams(value, unit)
        except ValueError as exc:
            return FrameError(frame, str(exc))
        return ScaleReading(grams, stability == "S", ScaleState.OK, frame)

    def _command(self, command: Literal["zero", "tare"], frame: bytes, rest: list[str]) -> Output:
        status = rest[0] if rest else ""
        if (command == "zero" and status == "A" and len(rest) == 1) or (
            command == "tare" and status == "S" and len(rest) == 3
        ):
            detail = "zeroed" if command == "zero" else f"tare {rest[1]} {rest[2]}"
            return CommandResult(command, True, detail, frame)
        reasons = {
            "I": _NOT_EXECUTABLE,
            "+": "above the allowed range",
            "-": "below the allowed range",
            "L": "refused",
        }
        if status in reasons and len(rest) == 1:
            return CommandResult(command, False, reasons[status], frame)
        return FrameError(frame, f"malformed {command} reply")
