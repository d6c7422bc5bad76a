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
}


class ScaleState(StrEnum):
    OK = "ok"
    OVER = "over"  # overload: above capacity; the number shown is meaningless
    UNDER = "under"  # underload: below zero range
    ERROR = "error"  # the scale answered, but with an error (command refused, not ready)


@dataclass(frozen=True)
class ScaleReading:
    """One reading. `grams` is None when the state is not OK."""

    grams: Decimal | None
    stable: bool
    state: ScaleState
    raw: bytes
    detail: str = ""


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
