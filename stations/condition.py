"""Condition vocabulary shared by the manifest (what the customer declared) and grading
(what the bench observed). Every scale is ordinal, best first, worst last.

A declared condition may leave any question unanswered (`None`). An unanswered question is
read as the claim the quote was priced on (`UNDECLARED_BASELINE`): no damage, working, a good
battery, and no accessories. So damage on an item the customer did not answer is damage they
did not disclose, while missing accessories are never held against them unless they said they
would send some. docs/grading.md gives the reasoning.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Screen(StrEnum):
    FLAWLESS = "flawless"
    MINOR_SCRATCHES = "minor_scratches"
    HEAVY_SCRATCHES = "heavy_scratches"
    CRACKED = "cracked"


class Body(StrEnum):
    FLAWLESS = "flawless"
    MINOR_WEAR = "minor_wear"
    HEAVY_WEAR = "heavy_wear"
    DAMAGED = "damaged"


class Function(StrEnum):
    ALL_WORKING = "all_working"
    MINOR_FAULT = "minor_fault"
    MAJOR_FAULT = "major_fault"
    DEAD = "dead"


class Accessories(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"
    NONE = "none"


class BatteryBand(StrEnum):
    """Battery health as a customer can declare it: good >= 85 %, fair >= 80 %, poor below."""

    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"


BATTERY_GOOD_MIN: Final = 85
BATTERY_FAIR_MIN: Final = 80


def rank(value: Screen | Body | Function | Accessories | BatteryBand) -> int:
    """Position on its scale: 0 is the best answer, higher is worse."""
    return list(type(value)).index(value)


def battery_band(health_percent: int) -> BatteryBand:
    if health_percent >= BATTERY_GOOD_MIN:
        return BatteryBand.GOOD
    if health_percent >= BATTERY_FAIR_MIN:
        return BatteryBand.FAIR
    return BatteryBand.POOR


ConditionItem = Literal["screen", "body", "battery", "function", "accessories"]
CONDITION_ITEMS: Final[tuple[ConditionItem, ...]] = (
    "screen",
    "body",
    "battery",
    "function",
    "accessories",
)


class Condition(BaseModel):
    """What the bench observed: every item answered, battery health in percent."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    screen: Screen
    body: Body
    battery: int = Field(ge=0, le=100, strict=True, description="battery health, percent")
    function: Function
    accessories: Accessories

    @property
    def battery_band(self) -> BatteryBand:
        return battery_band(self.battery)


class DeclaredCondition(BaseModel):
    """The customer's questionnaire answers; `None` means the question was not answered.

    Battery is declared as a band; a percent (an int, or text such as "87" or "87%") is
    taken as the band it falls in, since only the band is ever compared.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    screen: Screen | None = None
    body: Body | None = None
    battery: BatteryBand | None = None
    function: Function | None = None
    accessories: Accessories | None = None

    @field_validator("battery", mode="before")
    @classmethod
    def _percent_to_band(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("battery is good, fair, poor or a health percent 0-100")
        text = value.strip().removesuffix("%").strip() if isinstance(value, str) else None
        if isinstance(value, int) or (text is not None and text.isdecimal()):
            percent = int(value if isinstance(value, int) else str(text))
            if not 0 <= percent <= 100:
                raise ValueError("battery health percent must be 0-100")
            return battery_band(percent)
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered not in {band.value for band in BatteryBand}:
                raise ValueError("battery is good, fair, poor or a health percent 0-100")
            return lowered
        return value

    def answered(self) -> tuple[ConditionItem, ...]:
        return tuple(item for item in CONDITION_ITEMS if getattr(self, item) is not None)


@dataclass(frozen=True)
class Claim:
    """A declared condition with every unanswered item read as `UNDECLARED_BASELINE`."""

    screen: Screen
    body: Body
    battery: BatteryBand
    function: Function
    accessories: Accessories


# What an unanswered question is taken to claim (see the module docstring).
UNDECLARED_BASELINE: Final = Claim(
    screen=Screen.FLAWLESS,
    body=Body.FLAWLESS,
    battery=BatteryBand.GOOD,
    function=Function.ALL_WORKING,
    accessories=Accessories.NONE,
)


def claim(declared: DeclaredCondition) -> Claim:
    base = UNDECLARED_BASELINE
    return Claim(
        screen=declared.screen or base.screen,
        body=declared.body or base.body,
        battery=declared.battery or base.battery,
        function=declared.function or base.function,
        accessories=declared.accessories or base.accessories,
    )
