"""Disposition: which lane a graded unit goes to, by rules kept as data (TOML).

Rules are evaluated in order and the first whose conditions all match decides. Independent of
any rules file, a resale route (resale-a, resale-b) only fires for a unit whose erasure is
verified and whose lock is clear; a resale rule that matches any other unit is skipped, the
skip is recorded, and evaluation goes on. If no rule fires the unit is held (route "hold"),
never resold by default. Reference: docs/disposition.md.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Final, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
    model_validator,
)

from stations.catalogue import array_table_lines, name_key
from stations.condition import Body, Function, Screen
from stations.grading import Grade

Route = Literal["resale-a", "resale-b", "refurbish", "parts", "recycle", "hold"]
RESALE_ROUTES: Final = frozenset({"resale-a", "resale-b"})
Lock = Literal["clear", "locked", "unknown"]
Erasure = Literal["verified", "failed", "not_run"]
Demand = Literal["high", "normal", "low"]

RULE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
GUARD_FACTS: Final = ("erasure", "lock")


class RulesError(ValueError):
    """A rules or demand file cannot be used; the message names the file, the rule and why."""


class UnitFacts(BaseModel):
    """What the rules may look at for one unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    grade: Grade
    screen: Screen
    body: Body
    function: Function
    battery_health: Annotated[int, Field(ge=0, le=100)] | None = None
    lock: Lock
    erasure: Erasure
    demand: Demand = "normal"
    make: str
    model: str

    def fact(self, name: str) -> JsonValue:
        value = getattr(self, name)
        return value.value if isinstance(value, Screen | Body | Function) else value


class Conditions(BaseModel):
    """A rule's `when` table: every key given must match; a list matches any of its values."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    grade: tuple[Grade, ...] | None = None
    screen: tuple[Screen, ...] | None = None
    body: tuple[Body, ...] | None = None
    function: tuple[Function, ...] | None = None
    lock: tuple[Lock, ...] | None = None
    erasure: tuple[Erasure, ...] | None = None
    demand: tuple[Demand, ...] | None = None
    make: tuple[Annotated[str, Field(min_length=1)], ...] | None = None
    model: tuple[Annotated[str, Field(min_length=1)], ...] | None = None
    battery_health_min: Annotated[int, Field(ge=0, le=100, strict=True)] | None = None
    battery_health_max: Annotated[int, Field(ge=0, le=100, strict=True)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: object) -> object:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise ValueError(
                    f"unknown condition key(s) {', '.join(map(repr, unknown))}; "
                    f"known: {', '.join(cls.model_fields)}"
                )
        return data

    @field_validator(
        "grade",
        "screen",
        "body",
        "function",
        "lock",
        "erasure",
        "demand",
        "make",
        "model",
        mode="before",
    )
    @classmethod
    def _one_value_is_a_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _bounds(self) -> Conditions:
        empty = [name for name in self.given() if getattr(self, name) == ()]
        if empty:
            raise ValueError(f"{', '.join(empty)}: an empty list never matches")
        low, high = self.battery_health_min, self.battery_health_max
        if low is not None and high is not None and low > high:
            raise ValueError(f"battery_health_min {low} is above battery_health_max {high}")
        return self

    def given(self) -> tuple[str, ...]:
        return tuple(name for name in type(self).model_fields if getattr(self, name) is not None)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Annotated[str, Field(pattern=RULE_NAME)]
    route: Route
    checklist: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = ()
    when: Conditions = Conditions()

    @field_validator("route", mode="before")
    @classmethod
    def _known_route(cls, value: object) -> object:
        if isinstance(value, str) and value not in get_args(Route):
            raise ValueError(f"unknown route {value!r}; routes: {', '.join(get_args(Route))}")
        return value

    @model_validator(mode="after")
    def _refurbish_has_checklist(self) -> Rule:
        if self.route == "refurbish" and not self.checklist:
            raise ValueError("a refurbish rule needs a checklist (the work to do)")
        return self

    def check(self, facts: UnitFacts) -> tuple[bool, dict[str, JsonValue], list[str]]:
        """Whether every condition holds, the facts consulted, and each as text."""
        seen: dict[str, JsonValue] = {}
        said: list[str] = []
        matched = True
        when = self.when
        for name in when.given():
            if name in ("battery_health_min", "battery_health_max"):
                health = facts.battery_health
                seen["battery_health"] = health
                bound = getattr(when, name)
                if name == "battery_health_min":
                    holds = health is not None and health >= bound
                    said.append(f"battery_health {health} >= {bound}")
                else:
                    holds = health is not None and health <= bound
                    said.append(f"battery_health {health} <= {bound}")
            else:
                value = facts.fact(name)
                allowed = [str(v) for v in getattr(when, name)]
                seen[name] = value
                if name in ("make", "model"):
                    holds = name_key(str(value)) in {name_key(v) for v in allowed}
                else:
                    holds = value in allowed
                said.append(f"{name} {value} in [{', '.join(allowed)}]")
            matched = matched and holds
        return matched, seen, said


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    source: str
    digest: str  # sha256 of the rules file, so a decision names the exact rules it used

    @classmethod
    def parse(cls, text: str, source: str) -> RuleSet:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RulesError(f"{source} is not valid TOML: {exc}") from None
        stray = sorted(set(data) - {"rule"})
        if stray:
            raise RulesError(f"{source}: unknown key(s) {', '.join(stray)}; rules are [[rule]]")
        raw = data.get("rule", [])
        if not isinstance(raw, list) or not raw:
            raise RulesError(f"{source}: no rules; add at least one [[rule]]")
        lines = array_table_lines(text, "rule")
        rules: list[Rule] = []
        problems: list[str] = []
        names: dict[str, int] = {}
        for index, entry in enumerate(raw):
            label = f"rule {index + 1}"
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                label += f" {entry['name']!r}"
            if len(lines) == len(raw):
                label += f" (line {lines[index]})"
            try:
                rule = Rule.model_validate(entry)
            except ValidationError as exc:
                problems += [f"{label}: {problem}" for problem in _problems(exc)]
                continue
            if rule.name in names:
                problems.append(f"{label}: name already used by rule {names[rule.name]}")
            names.setdefault(rule.name, index + 1)
            rules.append(rule)
        if len(problems) == 1:
            raise RulesError(f"{source}: {problems[0]}")
        if problems:
            raise RulesError(f"{source}: {len(problems)} problems\n  " + "\n  ".join(problems))
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return cls(rules=tuple(rules), source=source, digest=digest)

    @classmethod
    def load(cls, path: Path | None = None) -> RuleSet:
        """An operator's rules file (it replaces the shipped rules); None: the shipped rules."""
        if path is None:
            return cls.builtin()
        return cls.parse(_read(path, "rules"), str(path))

    @classmethod
    def builtin(cls) -> RuleSet:
        return _builtin_rules()


def _problems(exc: ValidationError) -> list[str]:
    found = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        found.append(f"{where}: {message}" if where else message)
    return found


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"cannot read {what} file {path}: {exc}") from None


def _shipped(name: str) -> str:
    return resources.files("stations").joinpath("data", name).read_text("utf-8")


@cache
def _builtin_rules() -> RuleSet:
    return RuleSet.parse(_shipped("disposition.toml"), "stations/data/disposition.toml")


class Decision(BaseModel):
    """The route, the rule that chose it, and what it looked at; journalled as is."""

    model_config = ConfigDict(frozen=True)
    route: Route
    rule_name: str | None
    checklist: tuple[str, ...]
    seen: dict[str, JsonValue]  # the facts the fired rule consulted, plus the guard facts
    skipped: tuple[tuple[str, str], ...]  # (rule name, why) for resale rules the guard refused
    explanation: str
    rules_source: str
    rules_digest: str


def _guard_refusal(facts: UnitFacts) -> str | None:
    if facts.erasure == "verified" and facts.lock == "clear":
        return None
    return (
        f"resale needs erasure verified and lock clear; "
        f"this unit has erasure {facts.erasure}, lock {facts.lock}"
    )


def decide(rules: RuleSet, facts: UnitFacts) -> Decision:
    """The first rule that matches and passes the resale guard; "hold" if there is none."""
    guard = {name: facts.fact(name) for name in GUARD_FACTS}
    refusal = _guard_refusal(facts)
    skipped: list[tuple[str, str]] = []
    for rule in rules.rules:
        matched, seen, said = rule.check(facts)
        if not matched:
            continue
        if rule.route in RESALE_ROUTES and refusal is not None:
            skipped.append((rule.name, refusal))
            continue
        because = "; ".join(said) if said else "no conditions (catch-all)"
        if rule.route in RESALE_ROUTES:
            because += f"; guard passed: erasure {facts.erasure}, lock {facts.lock}"
        return Decision(
            route=rule.route,
            rule_name=rule.name,
            checklist=rule.checklist,
            seen={**seen, **guard},
            skipped=tuple(skipped),
            explanation=_skip_note(skipped) + f"rule {rule.name!r} → {rule.route}: {because}",
            rules_source=rules.source,
            rules_digest=rules.digest,
        )
    every_fact = {name: facts.fact(name) for name in type(facts).model_fields}
    return Decision(
        route="hold",
        rule_name=None,
        checklist=(),
        seen=every_fact,
        skipped=tuple(skipped),
        explanation=_skip_note(skipped) + "no rule matched: hold for a person to decide",
        rules_source=rules.source,
        rules_digest=rules.digest,
    )


def _skip_note(skipped: list[tuple[str, str]]) -> str:
    if not skipped:
        return ""
    names = ", ".join(repr(name) for name, _ in skipped)
    return f"skipped {names} ({skipped[0][1]}); "


@dataclass(frozen=True)
class DemandList:
    """Resale demand per make and model; a model not listed has the default."""

    models: Mapping[tuple[str, str], Demand]
    default: Demand = "normal"
    source: str = ""

    @classmethod
    def parse(cls, text: str, source: str) -> DemandList:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RulesError(f"{source} is not valid TOML: {exc}") from None
        stray = sorted(set(data) - {"default", "models"})
        if stray:
            raise RulesError(f"{source}: unknown key(s) {', '.join(stray)}; known: default, models")
        levels = get_args(Demand)
        default = data.get("default", "normal")
        if default not in levels:
            raise RulesError(f"{source}: default {default!r} is not one of {', '.join(levels)}")
        makes = data.get("models", {})
        if not isinstance(makes, dict):
            raise RulesError(f"{source}: models are tables [models.<make>]")
        models: dict[tuple[str, str], Demand] = {}
        for make, entries in makes.items():
            if not isinstance(entries, dict):
                raise RulesError(f'{source}: [models.{make}] is a table of "model" = "demand"')
            for model, level in entries.items():
                if level not in levels:
                    raise RulesError(
                        f"{source}: [models.{make}] {model!r} = {level!r}: "
                        f"demand is one of {', '.join(levels)}"
                    )
                key = (name_key(make), name_key(model))
                if key in models:
                    raise RulesError(f"{source}: {make} {model!r} is listed twice")
                models[key] = level
        return cls(models=models, default=default, source=source)

    @classmethod
    def load(cls, path: Path | None = None) -> DemandList:
        """An operator's demand file (it replaces the shipped list); None: the shipped list."""
        if path is None:
            return cls.builtin()
        return cls.parse(_read(path, "demand"), str(path))

    @classmethod
    def builtin(cls) -> DemandList:
        return _builtin_demand()

    def demand_for(self, make: str, model: str) -> Demand:
        return self.models.get((name_key(make), name_key(model)), self.default)


@cache
def _builtin_demand() -> DemandList:
    return DemandList.parse(_shipped("demand.toml"), "stations/data/demand.toml")
