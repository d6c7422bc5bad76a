"""Grading (A-D) from an observed condition, and the payout change when the unit is worse
than the customer declared. Criteria and factors: docs/grading.md.

Each item caps the grade; the grade is the lowest cap:

    item       A                B                 C                D
    screen     flawless         minor_scratches   heavy_scratches  cracked
    body       flawless,        -                 heavy_wear       damaged
               minor_wear
    battery    >= 85 %          >= 80 %           below 80 %       -
    function   all_working      -                 minor_fault      major_fault, dead

Accessories never change the grade; they change the payout through their own factor.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Final, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from stations.condition import (
    Accessories,
    BatteryBand,
    Body,
    Condition,
    ConditionItem,
    DeclaredCondition,
    Function,
    Screen,
    claim,
    rank,
)

Grade = Literal["A", "B", "C", "D"]
GRADES: Final[tuple[Grade, ...]] = ("A", "B", "C", "D")
CENT: Final = Decimal("0.01")

_SCREEN_CAP: Final[Mapping[Screen, Grade]] = {
    Screen.FLAWLESS: "A",
    Screen.MINOR_SCRATCHES: "B",
    Screen.HEAVY_SCRATCHES: "C",
    Screen.CRACKED: "D",
}
_BODY_CAP: Final[Mapping[Body, Grade]] = {
    Body.FLAWLESS: "A",
    Body.MINOR_WEAR: "A",
    Body.HEAVY_WEAR: "C",
    Body.DAMAGED: "D",
}
_BATTERY_CAP: Final[Mapping[BatteryBand, Grade]] = {
    BatteryBand.GOOD: "A",
    BatteryBand.FAIR: "B",
    BatteryBand.POOR: "C",
}
_FUNCTION_CAP: Final[Mapping[Function, Grade]] = {
    Function.ALL_WORKING: "A",
    Function.MINOR_FAULT: "C",
    Function.MAJOR_FAULT: "D",
    Function.DEAD: "D",
}


class GradingError(ValueError):
    """A grading factors file cannot be used; the message names the file and the problem."""


class GradeResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    grade: Grade
    reasons: tuple[str, ...]


def _grade_of(
    screen: Screen, body: Body, battery: BatteryBand, function: Function, battery_text: str
) -> GradeResult:
    caps: list[tuple[Grade, str]] = [
        (_SCREEN_CAP[screen], f"screen {screen.value}"),
        (_BODY_CAP[body], f"body {body.value}"),
        (_BATTERY_CAP[battery], f"battery {battery_text}"),
        (_FUNCTION_CAP[function], f"function {function.value}"),
    ]
    worst = max(cap for cap, _ in caps)
    limiting = sorted(
        ((cap, what) for cap, what in caps if cap != "A"),
        key=lambda pair: GRADES.index(pair[0]),
        reverse=True,
    )
    if not limiting:
        return GradeResult(grade="A", reasons=("screen, body, battery and function meet grade A",))
    return GradeResult(
        grade=worst, reasons=tuple(f"{what} caps at {cap}" for cap, what in limiting)
    )


def grade(observed: Condition) -> GradeResult:
    """The grade and, for each item that keeps it below A, which grade that item caps it at."""
    return _grade_of(
        observed.screen,
        observed.body,
        observed.battery_band,
        observed.function,
        f"{observed.battery}%",
    )


def declared_grade(declared: DeclaredCondition) -> GradeResult:
    """The grade the customer's answers claim; an unanswered item counts as its baseline."""
    full = claim(declared)
    return _grade_of(full.screen, full.body, full.battery, full.function, full.battery.value)


Factor = Annotated[Decimal, Field(gt=0, le=1)]


@cache
def _builtin_factors() -> GradeFactors:
    text = resources.files("stations").joinpath("data", "grading.toml").read_text("utf-8")
    return GradeFactors.parse(text, "stations/data/grading.toml")


class GradeFactors(BaseModel):
    """Payout factors per grade and per accessories answer. `GradeFactors()` is the shipped
    set (stations/data/grading.toml); `load` merges an operator's file over it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    grade: dict[Grade, Factor] = Field(default_factory=lambda: dict(_builtin_factors().grade))
    accessories: dict[Accessories, Factor] = Field(
        default_factory=lambda: dict(_builtin_factors().accessories)
    )

    @model_validator(mode="after")
    def _complete_and_falling(self) -> GradeFactors:
        for section, scale in (("grade", GRADES), ("accessories", tuple(Accessories))):
            factors = cast(Mapping[Any, Decimal], getattr(self, section))
            missing = [str(key) for key in scale if key not in factors]
            if missing:
                raise ValueError(f"[{section}] has no factor for {', '.join(missing)}")
            for better, worse in pairwise(scale):
                if factors[worse] > factors[better]:
                    raise ValueError(
                        f"[{section}] {worse} ({factors[worse]}) pays more than "
                        f"{better} ({factors[better]}): factors must not rise as things get worse"
                    )
        return self

    @classmethod
    def builtin(cls) -> GradeFactors:
        return _builtin_factors()

    @classmethod
    def parse(cls, text: str, source: str, base: GradeFactors | None = None) -> GradeFactors:
        """Factors from TOML; keys the text leaves out come from `base` (default: shipped)."""
        try:
            data = tomllib.loads(text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            raise GradingError(f"{source} is not valid TOML: {exc}") from None
        stray = sorted(set(data) - {"grade", "accessories"})
        if stray:
            raise GradingError(
                f"{source}: unknown section(s) {', '.join(stray)}; known: accessories, grade"
            )
        merged: dict[str, Any] = {}
        for section in ("grade", "accessories"):
            given = data.get(section, {})
            if not isinstance(given, dict):
                raise GradingError(f"{source}: [{section}] must be a table")
            inherited = getattr(base, section) if base else {}
            merged[section] = {**{str(k): v for k, v in inherited.items()}, **given}
        try:
            return cls.model_validate(merged)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'factors'}: "
                f"{e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            raise GradingError(f"{source}: {problems}") from None

    @classmethod
    def load(cls, path: Path) -> GradeFactors:
        """An operator's factors file merged over the shipped factors."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GradingError(f"cannot read grading factors {path}: {exc}") from None
        return cls.parse(text, str(path), base=cls.builtin())

    def factor(self, grade: Grade, accessories: Accessories) -> Decimal:
        return self.grade[grade] * self.accessories[accessories]


class ItemDelta(BaseModel):
    """An item observed worse than declared; `declared` None means the question went unanswered."""

    model_config = ConfigDict(frozen=True)
    item: ConditionItem
    declared: str | None
    observed: str


class DamageReport(BaseModel):
    """Declared against observed: what is beyond disclosure and what the payout becomes."""

    model_config = ConfigDict(frozen=True)
    beyond_disclosure: bool
    items: tuple[ItemDelta, ...]
    declared_grade: Grade
    observed_grade: Grade
    quote: Decimal
    revised_payout: Decimal
    delta: Decimal
    delta_pct: Decimal

    def to_payload(self) -> dict[str, JsonValue]:
        return cast(dict[str, JsonValue], self.model_dump(mode="json"))


def _worse_items(declared: DeclaredCondition, observed: Condition) -> tuple[ItemDelta, ...]:
    full = claim(declared)
    observed_values: dict[ConditionItem, Screen | Body | BatteryBand | Function | Accessories] = {
        "screen": observed.screen,
        "body": observed.body,
        "battery": observed.battery_band,
        "function": observed.function,
        "accessories": observed.accessories,
    }
    worse: list[ItemDelta] = []
    for item, seen in observed_values.items():
        claimed = getattr(full, item)
        if rank(seen) > rank(claimed):
            answered = getattr(declared, item)
            worse.append(
                ItemDelta(
                    item=item,
                    declared=None if answered is None else str(answered),
                    observed=str(seen),
                )
            )
    return tuple(worse)


def payout_delta(
    declared: DeclaredCondition,
    observed: Condition,
    quote: Decimal,
    factors: GradeFactors | None = None,
) -> DamageReport:
    """Revised payout = quote × factor(observed) / factor(declared), to the cent (half-even),
    never above the quote. Battery counts as worse only when it falls into a lower band."""
    if not quote.is_finite() or quote < 0 or quote != quote.quantize(CENT):
        raise ValueError(f"quote must be a non-negative amount in cents, got {quote}")
    factors = factors or GradeFactors.builtin()
    claimed = declared_grade(declared).grade
    found = grade(observed).grade
    ratio = factors.factor(found, observed.accessories) / factors.factor(
        claimed, claim(declared).accessories
    )
    revised = min(quote, (quote * ratio).quantize(CENT, ROUND_HALF_EVEN))
    delta = revised - quote
    delta_pct = (delta * 100 / quote).quantize(CENT, ROUND_HALF_EVEN) if quote else Decimal(0)
    if delta_pct == 0:
        delta_pct = Decimal("0.00")  # never "-0.00"
    items = _worse_items(declared, observed)
    return DamageReport(
        beyond_disclosure=bool(items),
        items=items,
        declared_grade=claimed,
        observed_grade=found,
        quote=quote,
        revised_payout=revised,
        delta=delta,
        delta_pct=delta_pct,
    )
