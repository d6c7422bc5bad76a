"""Expected returns: the manifest of accepted trade-ins the dock matches labels against.

Pure: bytes in, records out. The hub reads the file, calls `parse_manifest`, journals one
`manifest.synced` event per `ManifestChange` and stores `ExpectedReturn.to_record()`.
Columns and rules: docs/manifest.md.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import PurePath
from typing import Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    ValidationError,
    field_validator,
)
from stdnum import imei as stdnum_imei

from edge.characters import check_code, check_text
from edge.journal.events import format_ts
from stations.catalogue import Catalogue, CatalogueError, WeightBand
from stations.condition import DeclaredCondition

ManifestFormat = Literal["json", "csv"]

RETURN_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
MAX_QUOTE_DIGITS = 9
_MONEY = re.compile(rf"^\d{{1,{MAX_QUOTE_DIGITS}}}(\.\d{{1,2}})?$")
_STORAGE = re.compile(r"^(\d{1,5})\s*(GB|TB)$", re.IGNORECASE)
_IMEI_SEPARATORS = re.compile(r"[\s./-]")

CONDITION_COLUMNS = ("screen", "body", "battery", "function", "accessories")
REQUIRED_COLUMNS = (
    "return_id",
    "label_codes",
    "customer_ref",
    "make",
    "model",
    "quote",
    "currency",
    "status",
)
COLUMNS = (
    "return_id",
    "label_codes",
    "customer_ref",
    "make",
    "model",
    "storage",
    "colour",
    "declared_imei",
    *CONDITION_COLUMNS,
    "quote",
    "currency",
    "status",
    "expires_at",
    "weight_min_grams",
    "weight_max_grams",
    "packaging",
)


class ReturnStatus(StrEnum):
    ACCEPTED = "accepted"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ManifestProblem:
    """One bad record: where (`record 3`, `line 7`, `file`), which column, and why."""

    position: str
    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.position}: {self.field + ': ' if self.field else ''}{self.reason}"


class ManifestError(ValueError):
    """The manifest was refused as a whole; `problems` lists every bad record."""

    def __init__(self, source: str, problems: Iterable[ManifestProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}\n{lines}")


def normalise_imei(value: str) -> str:
    """15 digits with a valid check digit; spaces, dots, dashes and slashes are dropped."""
    digits = _IMEI_SEPARATORS.sub("", value)
    if not (digits.isascii() and digits.isdecimal()):
        raise ValueError("IMEI must be digits only")
    if len(digits) != 15:
        raise ValueError(f"IMEI must be 15 digits, got {len(digits)}")
    if not stdnum_imei.is_valid(digits):
        raise ValueError("IMEI check digit wrong")
    return digits


def money(value: object) -> Decimal:
    """A non-negative amount with at most 2 decimals, from a string or an integer (no floats)."""
    if isinstance(value, bool):
        raise ValueError('must be an amount such as "123.45", not true/false')
    if isinstance(value, float):
        raise ValueError(
            'must be written as a string such as "123.45" or an integer; '
            f"a number with a fraction or exponent ({value!r}) is refused: money is never a float"
        )
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, Decimal):
        text = format(value, "f") if value.is_finite() else "nan"
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValueError('must be an amount such as "123.45"')
    if not _MONEY.fullmatch(text):
        raise ValueError(
            "must be an amount such as \"123.45\": digits, '.' and at most "
            f"2 decimals, below 10^{MAX_QUOTE_DIGITS}"
        )
    return Decimal(text)


def _text(value: object, rule: Callable[[str], str] = check_text) -> object:
    """Stripped, and refused with a control character (edge/characters.py: the one rule)."""
    return rule(value.strip()) if isinstance(value, str) else value


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("expires_at needs a timezone, e.g. 2026-03-01T00:00:00Z")
    return value.astimezone(UTC)


Text = Annotated[str, Field(min_length=1, max_length=128)]
ShortText = Annotated[str, Field(min_length=1, max_length=64)]
UtcTimestamp = Annotated[datetime, PlainSerializer(format_ts, return_type=str)]


class ExpectedReturn(BaseModel):
    """One accepted trade-in the dock expects to receive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    return_id: Annotated[str, Field(pattern=RETURN_ID_PATTERN)]
    label_codes: tuple[Annotated[str, Field(min_length=1, max_length=256)], ...] = Field(
        min_length=1
    )
    customer_ref: Text
    make: ShortText
    model: ShortText
    storage: str | None = None
    colour: ShortText | None = None
    declared_imei: str | None = None
    declared_condition: DeclaredCondition = DeclaredCondition()
    quote: Decimal
    currency: str
    status: ReturnStatus
    expires_at: UtcTimestamp | None = None
    weight_band: WeightBand | None = None
    packaging: str | None = None

    @field_validator("return_id", "customer_ref", "make", "model", "colour", mode="before")
    @classmethod
    def _plain_text(cls, value: object) -> object:
        return _text(value)

    @field_validator("label_codes", mode="before")
    @classmethod
    def _labels(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError("label_codes is a list of label texts")
        if isinstance(value, list | tuple):
            codes = [_text(code, check_code) for code in value]
            if any(code == "" for code in codes):
                raise ValueError("a label code is empty")
            repeated = sorted({str(c) for c in codes if codes.count(c) > 1})
            if repeated:
                raise ValueError(f"label code {repeated[0]!r} is listed twice")
            return tuple(codes)
        return value

    @field_validator("storage", mode="before")
    @classmethod
    def _storage(cls, value: object) -> object:
        if isinstance(value, str):
            found = _STORAGE.fullmatch(value.strip())
            if not found:
                raise ValueError("storage is a size such as 128GB or 1TB")
            return f"{int(found[1])}{found[2].upper()}"
        return value

    @field_validator("declared_imei", mode="before")
    @classmethod
    def _imei(cls, value: object) -> object:
        return normalise_imei(value) if isinstance(value, str) else value

    @field_validator("quote", mode="before")
    @classmethod
    def _quote(cls, value: object) -> Decimal:
        return money(value)

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: object) -> object:
        if isinstance(value, str):
            code = value.strip().upper()
            if not re.fullmatch(r"[A-Z]{3}", code):
                raise ValueError("currency is an ISO 4217 code such as EUR or USD")
            return code
        return value

    @field_validator("expires_at", mode="before")
    @classmethod
    def _timestamp_text(cls, value: object) -> object:
        if value is not None and not isinstance(value, str | datetime):
            raise ValueError("expires_at is a timestamp such as 2026-03-01T00:00:00Z")
        return value

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)

    @field_validator("packaging", mode="before")
    @classmethod
    def _packaging(cls, value: object) -> object:
        return _text(value)

    def to_record(self) -> dict[str, JsonValue]:
        """Plain JSON (strings, ints, null; no floats) for SQLite and journal payloads."""
        return cast(dict[str, JsonValue], self.model_dump(mode="json"))

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ExpectedReturn:
        try:
            return cls.model_validate(dict(record))
        except ValidationError as exc:
            raise ManifestError(
                f"stored record {record.get('return_id')!r}",
                [ManifestProblem("record", field, reason) for field, reason in _problems(exc)],
            ) from None


def with_weight_band(expected: ExpectedReturn, catalogue: Catalogue) -> ExpectedReturn:
    """The record with its weight band filled from the catalogue, unless the manifest set one."""
    if expected.weight_band is not None:
        return expected
    band = catalogue.weight_band(expected.make, expected.model, expected.packaging)
    return expected.model_copy(update={"weight_band": band})


def detect_format(filename: str, data: bytes) -> ManifestFormat:
    """By extension (.json, .csv, .txt); otherwise by the first character of the content."""
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in {".csv", ".txt"}:
        return "csv"
    if suffix in {".xlsx", ".xls", ".ods", ".numbers"}:
        raise ManifestError(
            filename,
            [ManifestProblem("file", None, "spreadsheets are not read: export as CSV (UTF-8)")],
        )
    head = data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    return "json" if head in (b"[", b"{") else "csv"


def parse_manifest(
    data: bytes, fmt: ManifestFormat, catalogue: Catalogue, *, source: str = "manifest"
) -> list[ExpectedReturn]:
    """Every record, weight bands filled; or a `ManifestError` listing every bad record."""
    text = _decode(data, source)
    rows = _json_rows(text, source) if fmt == "json" else _csv_rows(text, source)
    problems: list[ManifestProblem] = []
    records: list[ExpectedReturn] = []
    first_seen: dict[str, str] = {}
    label_owner: dict[str, tuple[str, str]] = {}
    for position, row in rows:
        problems += _duplicates(position, row, first_seen, label_owner)
        record, row_problems = _to_return(position, row, fmt, catalogue)
        problems += row_problems
        if record is not None:
            records.append(record)
    if problems:
        raise ManifestError(source, problems)
    return records


@dataclass(frozen=True)
class ManifestChange:
    """One record the import creates or changes; the hub journals one `manifest.synced` each."""

    change: Literal["created", "updated"]
    return_id: str
    fields: tuple[str, ...]  # the changed fields of an update; empty when created
    record: ExpectedReturn

    def to_payload(self) -> dict[str, JsonValue]:
        return {
            "change": self.change,
            "return_id": self.return_id,
            "fields": list(self.fields),
            "record": self.record.to_record(),
        }


def manifest_changes(
    current: Mapping[str, ExpectedReturn], incoming: Sequence[ExpectedReturn]
) -> list[ManifestChange]:
    """What importing `incoming` changes; unchanged records (a re-import) produce nothing.

    Records in `current` that `incoming` does not mention are left alone: a manifest adds
    and updates, it never deletes (a return leaves by status, which is journalled).
    """
    seen: set[str] = set()
    changes: list[ManifestChange] = []
    for record in incoming:
        if record.return_id in seen:
            raise ManifestError(
                "incoming manifest",
                [ManifestProblem("record", "return_id", f"{record.return_id!r} appears twice")],
            )
        seen.add(record.return_id)
        before = current.get(record.return_id)
        if before is None:
            changes.append(ManifestChange("created", record.return_id, (), record))
            continue
        old, new = before.to_record(), record.to_record()
        changed = tuple(name for name in new if old.get(name) != new[name])
        if changed:
            changes.append(ManifestChange("updated", record.return_id, changed, record))
    return changes


# --- parsing helpers ---------------------------------------------------------------------


def _decode(data: bytes, source: str) -> str:
    if not data.strip():
        raise ManifestError(source, [ManifestProblem("file", None, "the manifest is empty")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(
            source,
            [
                ManifestProblem(
                    "file",
                    None,
                    f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                    "export the file as UTF-8",
                )
            ],
        ) from None
    if not text.strip():
        raise ManifestError(source, [ManifestProblem("file", None, "the manifest is empty")])
    return text


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"key {key!r} appears twice in one object")
    return dict(pairs)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _json_rows(text: str, source: str) -> list[tuple[str, dict[str, object]]]:
    try:
        data = json.loads(
            text, object_pairs_hook=_refuse_duplicate_keys, parse_constant=_refuse_constant
        )
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        problem = ManifestProblem("file", None, f"not valid JSON: {exc}")
        raise ManifestError(source, [problem]) from None
    if isinstance(data, dict):
        stray = sorted(set(data) - {"returns"})
        if stray or "returns" not in data:
            reason = 'expected a list of returns or {"returns": [...]}'
            if stray:
                reason += f"; unknown key(s): {', '.join(stray)}"
            raise ManifestError(source, [ManifestProblem("file", None, reason)])
        data = data["returns"]
    if not isinstance(data, list):
        raise ManifestError(
            source,
            [ManifestProblem("file", None, 'expected a list of returns or {"returns": [...]}')],
        )
    rows: list[tuple[str, dict[str, object]]] = []
    problems: list[ManifestProblem] = []
    for index, item in enumerate(data):
        if isinstance(item, dict):
            rows.append((f"record {index}", item))
        else:
            problems.append(ManifestProblem(f"record {index}", None, "is not an object"))
    if problems:
        raise ManifestError(source, problems)
    return rows


def _csv_rows(text: str, source: str) -> list[tuple[str, dict[str, object]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error as exc:
        raise ManifestError(source, [ManifestProblem("line 1", None, f"bad CSV: {exc}")]) from None
    header_problems: list[ManifestProblem] = []
    stray = [name for name in header if name not in COLUMNS]
    if stray:
        header_problems.append(
            ManifestProblem(
                "line 1",
                None,
                f"unknown column(s): {', '.join(repr(n) for n in stray)}; "
                f"known: {', '.join(COLUMNS)}",
            )
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        header_problems.append(
            ManifestProblem("line 1", None, f"column(s) named twice: {', '.join(repeated)}")
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        header_problems.append(
            ManifestProblem("line 1", None, f"missing column(s): {', '.join(missing)}")
        )
    if header_problems:
        raise ManifestError(source, header_problems)

    rows: list[tuple[str, dict[str, object]]] = []
    problems: list[ManifestProblem] = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(ManifestProblem(f"line {start}", None, f"bad CSV: {exc}"))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            problems.append(
                ManifestProblem(
                    f"line {start}",
                    None,
                    f"has {len(cells)} fields, the header has {len(header)}",
                )
            )
            continue
        rows.append((f"line {start}", dict(zip(header, cells, strict=True))))
    if problems:
        raise ManifestError(source, problems)
    return rows


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _split_labels(value: object) -> object:
    return value.split("|") if isinstance(value, str) else value


def _duplicates(
    position: str,
    row: Mapping[str, object],
    first_seen: dict[str, str],
    label_owner: dict[str, tuple[str, str]],
) -> list[ManifestProblem]:
    """Repeated return ids and label codes, judged on the raw values so bad rows count too."""
    found: list[ManifestProblem] = []
    return_id = row.get("return_id")
    if not isinstance(return_id, str) or not return_id.strip():
        return found
    return_id = return_id.strip()
    if return_id in first_seen:
        found.append(
            ManifestProblem(
                position,
                "return_id",
                f"return {return_id!r} is already listed at {first_seen[return_id]}",
            )
        )
    else:
        first_seen[return_id] = position
    labels = _split_labels(row.get("label_codes"))
    if isinstance(labels, list):
        for label in {code.strip() for code in labels if isinstance(code, str) and code.strip()}:
            owner = label_owner.get(label)
            if owner is not None and owner[0] != return_id:
                found.append(
                    ManifestProblem(
                        position,
                        "label_codes",
                        f"label {label!r} is also claimed by return {owner[0]!r} at {owner[1]}",
                    )
                )
            elif owner is None:
                label_owner[label] = (return_id, position)
    return found


def _to_return(
    position: str, row: Mapping[str, object], fmt: ManifestFormat, catalogue: Catalogue
) -> tuple[ExpectedReturn | None, list[ManifestProblem]]:
    problems: list[ManifestProblem] = []
    stray = sorted(set(row) - set(COLUMNS))
    if stray:
        problems.append(
            ManifestProblem(position, None, f"unknown field(s): {', '.join(map(repr, stray))}")
        )
    fields: dict[str, object] = {
        name: value
        for name, value in row.items()
        if name in COLUMNS and name not in CONDITION_COLUMNS and not _absent(value)
    }
    if fmt == "csv" and "label_codes" in fields:
        fields["label_codes"] = _split_labels(fields["label_codes"])
    fields["declared_condition"] = {
        name: row[name] for name in CONDITION_COLUMNS if not _absent(row.get(name))
    }
    low, high = fields.pop("weight_min_grams", None), fields.pop("weight_max_grams", None)
    if (low is None) != (high is None):
        problems.append(
            ManifestProblem(
                position, "weight_min_grams", "give both weight_min_grams and weight_max_grams"
            )
        )
    elif low is not None:
        fields["weight_band"] = {"min_grams": low, "max_grams": high, "source": "manifest"}
    try:
        record = ExpectedReturn.model_validate(fields)
    except ValidationError as exc:
        problems += [ManifestProblem(position, field, reason) for field, reason in _problems(exc)]
        return None, problems
    if problems:
        return None, problems
    try:
        catalogue.packaging_profile(record.packaging)  # checked even when the band is given
        return with_weight_band(record, catalogue), []
    except CatalogueError as exc:
        return None, [ManifestProblem(position, "packaging", str(exc))]


_FIELD_FOR_LOC = {
    ("weight_band", "min_grams"): "weight_min_grams",
    ("weight_band", "max_grams"): "weight_max_grams",
    ("weight_band",): "weight_min_grams",
}


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(manifest column, reason) for each pydantic error."""
    found: list[tuple[str, str]] = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        if loc[:1] == ("declared_condition",) and len(loc) > 1:
            field = loc[1]
        elif loc[:1] == ("label_codes",):
            field = "label_codes"
        else:
            field = _FIELD_FOR_LOC.get(loc[:2], _FIELD_FOR_LOC.get(loc[:1], ".".join(loc)))
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            reason = "required, but missing or empty"
        found.append((field or "record", reason))
    return found
