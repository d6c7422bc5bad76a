"""What every scale protocol produces: a reading in grams, or a frame it could not use."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

GRAMS_PER_UNIT = {
    "g": Decimal(1),
    "kg": Decimal(1000),
    "mg": Decimal("0.001"),
    "lb": Decimal("453.59237"),  # exact, by international agreement (1959)
    "oz": Decimal("28.349523125"),
    # Units A&D and Mettler balances also show; each defined exactly.
    "ct": Decimal("0.2"),  # metric carat
    "mom": Decimal("3.75"),  # momme
    "ozt": Decimal("31.1034768"),  # troy ounce
    "dwt": Decimal("1.55517384"),  # pennyweight, 1/20 troy ounce
    "gn": Decimal("0.06479891"),  # grain
}


class ScaleState(StrEnum):
    OK = "ok"
    OVER = "over"  # overload: above capacity; the number shown is meaningless
    UNDER = "under"  # underload: below zero range
    ERROR = "error"  # a fault: command refused, zero point not found, scale error
    BUSY = "busy"  # no weight yet, ask again (MT-SICS `S I`, 8217 motion): not a fault


# When one reply carries several conditions, the first of these names the state.
STATE_PRECEDENCE = (ScaleState.OVER, ScaleState.UNDER, ScaleState.ERROR, ScaleState.BUSY)


@dataclass(frozen=True)
class ScaleReading:
    """One reading: a weight (state OK, `grams` set) or a state without a number (any other
    state, `grams` None, never stable). Nothing else can be built."""

    grams: Decimal | None
    stable: bool
    state: ScaleState
    raw: bytes
    detail: str = ""
    moving: bool = False  # a state reply that also says the load is in motion (8217 bit 0)

    def __post_init__(self) -> None:
        if (self.state is ScaleState.OK) != (self.grams is not None):
            raise ValueError(f"a {self.state.value} reading cannot carry grams={self.grams}")
        if self.grams is None and self.stable:
            raise ValueError("a reading without a weight cannot be stable")

    @classmethod
    def status(
        cls, state: ScaleState, raw: bytes, detail: str, moving: bool = False
    ) -> ScaleReading:
        """A reply that says how the scale is but carries no weight."""
        return cls(None, False, state, raw, detail, moving)


@dataclass(frozen=True)
class FrameError:
    """Bytes that did not form a valid frame: counted and logged, never turned into a weight."""

    raw: bytes
    reason: str


def to_grams(number: str, unit: str) -> Decimal:
    """Exact conversion of a decimal string in a scale unit to grams; ValueError if it is not."""
    factor = GRAMS_PER_UNIT.get(unit.strip().lower())
    if factor is None:
        raise ValueError(f"unknown weight unit {unit!r}")
    text = number.replace(" ", "")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"{number!r} is not a number") from exc
    if not value.is_finite():
        raise ValueError(f"{number!r} is not a finite number")
    return value * factor
