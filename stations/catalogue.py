"""Device and packaging weights, and the weight band a package of a given model should fall in.

The shipped catalogue is `stations/data/catalogue.toml`; an operator's override file of the
same shape is merged over it (an override entry replaces the shipped entry for that model).
A package's band is device weight plus packaging weight, widened by the tolerance:

    low  = (device low  + packaging low)  * (1 - percent/100) - allowance_grams
    high = (device high + packaging high) * (1 + percent/100) + allowance_grams

rounded outwards to 0.1 g (shipped tolerance: 5 % and 10 g). A model the catalogue does not
know gets the wide `[default]` device range and `source="default"`.

A model's `codes` are what the phone itself reports (Android's ro.product.model or
ro.product.device, an iPhone's ProductType): `identify` maps a cradle's reading to the entry a
customer would have declared, so "SM-G930F" is a Samsung Galaxy S7.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MAX_GRAMS = Decimal(100_000)
_TENTH = Decimal("0.1")
_PLAIN_DECIMAL = re.compile(r"^\d{1,6}(\.\d{1,3})?$")
_PACKAGING_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class CatalogueError(ValueError):
    """A catalogue file cannot be used; the message names the file, the entry and the problem."""


WeightSource = Literal["catalogue", "default", "manifest"]


def plain_grams(value: object, what: str = "grams") -> object:
    """Refuse floats and exponents for weights: a weight is a decimal string or an integer."""
    if isinstance(value, bool | float):
        raise ValueError(f"{what} must be a decimal string such as '174.5' or an integer")
    if isinstance(value, str):
        text = value.strip()
        if not _PLAIN_DECIMAL.fullmatch(text):
            raise ValueError(f"{what} must be a decimal number of grams such as '174.5'")
        return Decimal(text)
    return value


class WeightBand(BaseModel):
    """The weight a package should show on the dock scale, in grams, inclusive."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min_grams: Annotated[Decimal, Field(ge=0, le=MAX_GRAMS)]
    max_grams: Annotated[Decimal, Field(ge=0, le=MAX_GRAMS)]
    source: WeightSource

    @field_validator("min_grams", "max_grams", mode="before")
    @classmethod
    def _plain(cls, value: object) -> object:
        return plain_grams(value)

    @model_validator(mode="after")
    def _ordered(self) -> WeightBand:
        if self.min_grams > self.max_grams:
            raise ValueError(
                f"weight band minimum {self.min_grams} g is above its maximum {self.max_grams} g"
            )
        return self

    def contains(self, grams: Decimal) -> bool:
        return self.min_grams <= grams <= self.max_grams

    def deviation(self, grams: Decimal) -> Decimal:
        """How far outside the band: negative below it, positive above it, 0 inside."""
        if grams < self.min_grams:
            return grams - self.min_grams
        if grams > self.max_grams:
            return grams - self.max_grams
        return Decimal(0)


def name_key(text: str) -> str:
    """Lookup key for a make or model: case and spacing do not matter ("iphone13" too)."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def array_table_lines(text: str, name: str) -> list[int]:
    """1-based line numbers of each `[[name]]` header, for error messages."""
    header = re.compile(rf"^[ \t]*\[\[[ \t]*{re.escape(name)}[ \t]*\]\]", re.MULTILINE)
    return [text.count("\n", 0, match.start()) + 1 for match in header.finditer(text)]


@dataclass(frozen=True)
class DeviceWeight:
    make: str
    model: str
    min_grams: Decimal
    max_grams: Decimal
    aliases: tuple[str, ...] = ()
    source: str = ""
    codes: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        """Every name and code this entry answers to."""
        return (self.model, *self.aliases, *self.codes)

    def lookup_keys(self) -> tuple[tuple[str, str], ...]:
        make = name_key(self.make)
        return tuple((make, name_key(name)) for name in (self.model, *self.aliases))


@dataclass(frozen=True)
class PackagingProfile:
    key: str
    min_grams: Decimal
    max_grams: Decimal
    description: str = ""


@dataclass(frozen=True)
class Tolerance:
    percent: Decimal
    allowance_grams: Decimal


Grams = Annotated[Decimal, Field(gt=0, le=MAX_GRAMS)]
Name = Annotated[str, Field(min_length=1, max_length=64)]


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_grams: Annotated[Decimal, Field(ge=0, le=MAX_GRAMS)]
    max_grams: Annotated[Decimal, Field(ge=0, le=MAX_GRAMS)]

    @model_validator(mode="after")
    def _ordered(self) -> _Range:
        if self.min_grams > self.max_grams:
            raise ValueError("min_grams is above max_grams")
        return self


class _PackagingEntry(_Range):
    description: str = ""


class _DefaultEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    packaging: str | None = None
    min_grams: Grams | None = None
    max_grams: Grams | None = None


class _ToleranceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    percent: Annotated[Decimal, Field(ge=0, le=50)] | None = None
    allowance_grams: Annotated[Decimal, Field(ge=0, le=1000)] | None = None


class _ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    make: Name
    model: Name
    grams: tuple[Grams, Grams]
    aliases: tuple[Name, ...] = ()
    codes: tuple[Name, ...] = ()

    @field_validator("grams", mode="before")
    @classmethod
    def _one_or_two(cls, value: object) -> object:
        if isinstance(value, list) and len(value) == 2:
            return tuple(value)
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return (value, value)
        raise ValueError("grams is a weight (174) or [lightest, heaviest] ([487, 498])")

    @field_validator("grams")
    @classmethod
    def _lightest_first(cls, value: tuple[Decimal, Decimal]) -> tuple[Decimal, Decimal]:
        if value[0] > value[1]:
            raise ValueError("grams = [lightest, heaviest]: the first is above the second")
        return value


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()
    )


@dataclass(frozen=True)
class Catalogue:
    """Device weights by make and model, packaging profiles, the default and the tolerance."""

    devices: Mapping[tuple[str, str], DeviceWeight]
    packaging: Mapping[str, PackagingProfile]
    default_packaging: str
    default_device: tuple[Decimal, Decimal]
    tolerance: Tolerance
    sources: tuple[str, ...] = field(default=())
    codes: Mapping[str, DeviceWeight] = field(default_factory=dict)  # name_key(code) → entry

    @classmethod
    def builtin(cls) -> Catalogue:
        return _builtin()

    @classmethod
    def load(cls, override_path: Path | None = None) -> Catalogue:
        """The shipped catalogue with an operator's override file merged over it."""
        if override_path is None:
            return cls.builtin()
        try:
            text = override_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogueError(
                f"cannot read catalogue {override_path}: {exc.strerror or exc}"
            ) from None
        except UnicodeDecodeError as exc:
            raise CatalogueError(f"catalogue {override_path} is not UTF-8: {exc}") from None
        return cls.parse(text, str(override_path), base=cls.builtin())

    @classmethod
    def parse(cls, text: str, source: str, base: Catalogue | None = None) -> Catalogue:
        """A catalogue from TOML text; with `base`, the text is an override merged over it."""
        try:
            data = tomllib.loads(text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogueError(f"{source} is not valid TOML: {exc}") from None
        return _build(data, text, source, base)

    def device(self, make: str, model: str) -> DeviceWeight | None:
        return self.devices.get((name_key(make), name_key(model)))

    def identify(self, make: str | None, *models: str | None) -> DeviceWeight | None:
        """The entry for a device as a phone or a customer names it: each of `models` is tried
        as a model code (any make), then as a name or alias of `make`."""
        for model in models:
            if not model:
                continue
            entry = self.codes.get(name_key(model))
            if entry is None and make:
                entry = self.device(make, model)
            if entry is not None:
                return entry
        return None

    def packaging_profile(self, key: str | None = None) -> PackagingProfile:
        chosen = key if key is not None else self.default_packaging
        try:
            return self.packaging[chosen]
        except KeyError:
            known = ", ".join(sorted(self.packaging))
            raise CatalogueError(f"unknown packaging {chosen!r}; known: {known}") from None

    def weight_band(self, make: str, model: str, packaging: str | None = None) -> WeightBand:
        """Expected package weight for this model in this packaging (default packaging if None)."""
        box = self.packaging_profile(packaging)
        device = self.device(make, model)
        source: WeightSource = "catalogue" if device else "default"
        low, high = (device.min_grams, device.max_grams) if device else self.default_device
        share = self.tolerance.percent / 100
        allowance = self.tolerance.allowance_grams
        band_low = ((low + box.min_grams) * (1 - share) - allowance).quantize(_TENTH, ROUND_FLOOR)
        band_high = ((high + box.max_grams) * (1 + share) + allowance).quantize(
            _TENTH, ROUND_CEILING
        )
        return WeightBand(
            min_grams=max(band_low, Decimal("0.0")), max_grams=band_high, source=source
        )


def _at(source: str, lines: list[int], index: int, count: int) -> str:
    where = f" line {lines[index]}" if len(lines) == count else ""
    return f"{source}{where}"


def _build(data: dict[str, Any], text: str, source: str, base: Catalogue | None) -> Catalogue:
    known_sections = {"tolerance", "default", "packaging", "model"}
    stray = sorted(set(data) - known_sections)
    if stray:
        raise CatalogueError(
            f"{source}: unknown section(s) {', '.join(stray)}; "
            f"known: {', '.join(sorted(known_sections))}"
        )
    try:
        tolerance = _ToleranceEntry.model_validate(data.get("tolerance", {}))
    except ValidationError as exc:
        raise CatalogueError(f"{source} [tolerance]: {_problems(exc)}") from None
    try:
        default = _DefaultEntry.model_validate(data.get("default", {}))
    except ValidationError as exc:
        raise CatalogueError(f"{source} [default]: {_problems(exc)}") from None

    packaging = dict(base.packaging) if base else {}
    raw_packaging = data.get("packaging", {})
    if not isinstance(raw_packaging, dict):
        raise CatalogueError(f"{source}: packaging must be tables [packaging.<key>]")
    for key, entry in raw_packaging.items():
        if not _PACKAGING_KEY.fullmatch(key):
            raise CatalogueError(
                f"{source} [packaging.{key}]: packaging keys are 1-64 of a-z, 0-9, '_' or '-'"
            )
        try:
            parsed = _PackagingEntry.model_validate(entry)
        except ValidationError as exc:
            raise CatalogueError(f"{source} [packaging.{key}]: {_problems(exc)}") from None
        packaging[key] = PackagingProfile(
            key=key,
            min_grams=parsed.min_grams,
            max_grams=parsed.max_grams,
            description=parsed.description,
        )

    devices = dict(base.devices) if base else {}
    codes = dict(base.codes) if base else {}
    raw_models = data.get("model", [])
    if not isinstance(raw_models, list):
        raise CatalogueError(f"{source}: models are [[model]] entries")
    lines = array_table_lines(text, "model")
    claimed: dict[tuple[str, str], str] = {}
    claimed_codes: dict[str, str] = {}
    for index, entry in enumerate(raw_models):
        where = _at(source, lines, index, len(raw_models))
        label = f"model {index + 1}"
        if isinstance(entry, dict) and {"make", "model"} <= entry.keys():
            label += f" ({entry['make']} {entry['model']})"
        try:
            parsed_model = _ModelEntry.model_validate(entry)
        except ValidationError as exc:
            raise CatalogueError(f"{where}: {label}: {_problems(exc)}") from None
        low, high = parsed_model.grams
        weight = DeviceWeight(
            make=parsed_model.make,
            model=parsed_model.model,
            min_grams=low,
            max_grams=high,
            aliases=parsed_model.aliases,
            source=source,
            codes=parsed_model.codes,
        )
        for key in weight.lookup_keys():
            if key in claimed:
                raise CatalogueError(
                    f"{where}: {label}: name {key[1]!r} is already used by {claimed[key]}"
                )
            claimed[key] = label
            replaced = devices.get(key)
            if replaced is not None:  # the override wins: drop every name of the old entry
                for old_key in replaced.lookup_keys():
                    if devices.get(old_key) is replaced:
                        del devices[old_key]
                for old_code in replaced.codes:
                    if codes.get(name_key(old_code)) is replaced:
                        del codes[name_key(old_code)]
        for key in weight.lookup_keys():
            devices[key] = weight
        for code in weight.codes:
            code_key = name_key(code)
            if code_key in claimed_codes:
                raise CatalogueError(
                    f"{where}: {label}: code {code!r} is already used by {claimed_codes[code_key]}"
                )
            claimed_codes[code_key] = label
            codes[code_key] = weight

    default_packaging = default.packaging or (base.default_packaging if base else None)
    if default_packaging is None:
        raise CatalogueError(f"{source} [default]: packaging is required")
    if default_packaging not in packaging:
        raise CatalogueError(
            f"{source} [default]: packaging {default_packaging!r} is not a [packaging.<key>] "
            f"table; known: {', '.join(sorted(packaging))}"
        )
    low_default = default.min_grams or (base.default_device[0] if base else None)
    high_default = default.max_grams or (base.default_device[1] if base else None)
    if low_default is None or high_default is None:
        raise CatalogueError(f"{source} [default]: min_grams and max_grams are required")
    if low_default > high_default:
        raise CatalogueError(f"{source} [default]: min_grams is above max_grams")
    percent = tolerance.percent
    allowance = tolerance.allowance_grams
    if base is not None:
        percent = base.tolerance.percent if percent is None else percent
        allowance = base.tolerance.allowance_grams if allowance is None else allowance
    if percent is None or allowance is None:
        raise CatalogueError(f"{source} [tolerance]: percent and allowance_grams are required")
    return Catalogue(
        devices=devices,
        packaging=packaging,
        default_packaging=default_packaging,
        default_device=(low_default, high_default),
        tolerance=Tolerance(percent=percent, allowance_grams=allowance),
        sources=(*(base.sources if base else ()), source),
        codes=codes,
    )


@cache
def _builtin() -> Catalogue:
    text = resources.files("stations").joinpath("data", "catalogue.toml").read_text("utf-8")
    return Catalogue.parse(text, "stations/data/catalogue.toml")
