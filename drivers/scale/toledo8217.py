"""Toledo 8217 (PS60-style shipping and retail scales): `W` polling, 7E1, STX … CR frames.

`W` → `<STX>01.234<CR>` (gross, stable; `N` appended when net), or `<STX>?<status><CR>` when
there is no valid weight. Status byte: bit 0 motion, 1 over capacity, 2 under zero, 3 outside
zero capture range, 4 centre of zero; bits 5 and 6 differ between makes (net flag, "always 1",
"bad command") and bit 7 is parity, so only bits 0-4 are read. The reply carries no unit: the
profile says whether the scale is set to kg or lb, and how many digits it sends on each side of
the decimal point (`weight_format`, e.g. `00.000`); a weight of any other width is refused.

A status reply is a state, never a number. When several bits are set the state follows
`STATE_PRECEDENCE` (over > under > error > busy): over capacity is `over`, under zero `under`,
outside the zero capture range `error`, motion alone `busy` ("ask again"); a status reply naming
none of those is an `error` (no weight, no reason).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from drivers.scale.framing import Framer
from drivers.scale.protocol import CommandResult, Output, SerialSettings
from drivers.scale.reading import (
    STATE_PRECEDENCE,
    FrameError,
    ScaleReading,
    ScaleState,
    to_grams,
)

MOTION, OVER_CAPACITY, UNDER_ZERO, OUTSIDE_ZERO_CAPTURE, CENTRE_OF_ZERO = (1 << i for i in range(5))
_STATE_BITS = {
    ScaleState.OVER: OVER_CAPACITY,
    ScaleState.UNDER: UNDER_ZERO,
    ScaleState.ERROR: OUTSIDE_ZERO_CAPTURE,
    ScaleState.BUSY: MOTION,
}
# What each unit's weight looks like unless the profile says otherwise: five digits with the
# point where the scale's resolution puts it (8217-mode tables of PS60-class scales), so a
# 150 lb PS60 in 0.01 lb steps sends 150.00 and a 15 kg one in 0.005 kg steps 15.000.
DEFAULT_WEIGHT_FORMAT = {"kg": "00.000", "lb": "000.00"}
WEIGHT_FORMAT = re.compile(r"0{1,6}\.0{1,4}")


def weight_pattern(weight_format: str) -> re.Pattern[str]:
    """The exact shape of a weight reply's body for a mask such as `00.000`: that many digits
    (leading ones may be spaces) on each side of the point, then `N` when net."""
    if not WEIGHT_FORMAT.fullmatch(weight_format):
        raise ValueError(f"weight_format {weight_format!r} is not like 00.000")
    whole, decimals = (len(part) for part in weight_format.split("."))
    lead = f"(?=[ 0-9]{{{whole}}}\\.)" if whole > 1 else ""
    return re.compile(f"{lead}( {{0,{whole - 1}}}[0-9]{{1,{whole}}}\\.[0-9]{{{decimals}}})(N?)")


def describe_status(status: int) -> str:
    names = [
        (MOTION, "in motion"),
        (OVER_CAPACITY, "over capacity"),
        (UNDER_ZERO, "under zero"),
        (OUTSIDE_ZERO_CAPTURE, "outside zero capture range"),
        (CENTRE_OF_ZERO, "centre of zero"),
    ]
    return ", ".join(name for bit, name in names if status & bit) or "no flags"


@dataclass
class Toledo8217:
    unit: Literal["kg", "lb"] = "kg"
    weight_format: str | None = None  # None: DEFAULT_WEIGHT_FORMAT of the unit
    name: str = "toledo8217"
    serial: SerialSettings = field(default_factory=lambda: SerialSettings(bytesize=7, parity="E"))
    _framer: Framer = field(default_factory=lambda: Framer(end=b"\r", start=b"\x02", max_length=16))
    _pending: Literal["weight", "zero", "tare"] = "weight"
    _weight: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self._weight = weight_pattern(self.weight_format or DEFAULT_WEIGHT_FORMAT[self.unit])

    def poll(self) -> bytes:
        self._pending = "weight"
        return b"W"

    def zero(self) -> bytes:
        self._pending = "zero"
        return b"Z"

    def tare(self) -> bytes:
        self._pending = "tare"
        return b"T"

    def feed(self, data: bytes) -> list[Output]:
        # A host whose port is set to 8N1 sees the even-parity bit as bit 7: drop it.
        seven_bit = bytes(b & 0x7F for b in data)
        return self._framer.parse(seven_bit, self._parse, "no STX … CR frame")

    def _parse(self, frame: bytes) -> Output:
        body = frame[1:-1]
        if body[:1] == b"?" and len(body) == 2:
            return self._status(frame, body[1] & 0x1F)
        if self._pending != "weight":
            return FrameError(frame, f"weight reply while waiting for {self._pending}")
        match = self._weight.fullmatch(body.decode("ascii", "replace"))
        if not match:
            return FrameError(frame, "malformed weight (not the configured weight_format)")
        grams = to_grams(match.group(1), self.unit)
        return ScaleReading(grams, True, ScaleState.OK, frame, "net" if match.group(2) else "gross")

    def _status(self, frame: bytes, status: int) -> Output:
        detail = describe_status(status)
        if self._pending in ("zero", "tare"):
            command = self._pending
            self._pending = "weight"
            ok = not status & (MOTION | OVER_CAPACITY | OUTSIDE_ZERO_CAPTURE)
            if command == "zero":
                ok = ok and bool(status & CENTRE_OF_ZERO)
            return CommandResult(command, ok, detail, frame)
        moving = bool(status & MOTION)  # its only sign of a load change: no unstable weights
        for state in STATE_PRECEDENCE:
            if status & _STATE_BITS[state]:
                return ScaleReading.status(state, frame, detail, moving)
        return ScaleReading.status(ScaleState.ERROR, frame, f"no weight ({detail})")
