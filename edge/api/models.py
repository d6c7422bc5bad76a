"""Request and answer bodies of the hub API, with the examples OpenAPI shows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue

from edge.characters import Code, Words, check_code


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScanBody(_Body):
    """A code typed or pasted by a person (a scanner's reads arrive over the bus)."""

    # at least one visible character: a stray space from the keypad is not a label, and as a
    # scan it would close the package in progress as incomplete. MAX_CODE_LENGTH, and no
    # control characters but the GS1 separators (edge/characters.py), as on the bus.
    code: Code = Field(pattern=r"\S", examples=["1Z999AA10123456784"])


class TypedScanBody(ScanBody):
    """A typed code and the screen it was typed on: `dock` or `bench` (on a station that runs
    both; by default the flow the person attends)."""

    flow: str | None = Field(None, pattern=r"^[a-z][a-z_-]{0,31}$", examples=["bench"])


class SealBody(_Body):
    intact: bool = Field(examples=[True])
    note: Words = Field("", examples=["tape re-applied, seal number torn"])


class CancelReceiptBody(_Body):
    """Why the package open at the dock is undone (a mis-scan, the wrong box)."""

    reason: Words = Field(min_length=3, pattern=r"\S", examples=["scanned the wrong box's label"])


class ChecklistBody(_Body):
    """The grading checklist. Battery health defaults to the cradle's reading."""

    screen: Literal["flawless", "minor_scratches", "heavy_scratches", "cracked"]
    body: Literal["flawless", "minor_wear", "heavy_wear", "damaged"]
    function: Literal["all_working", "minor_fault", "major_fault", "dead"]
    accessories: Literal["complete", "partial", "none"]
    battery: int | None = Field(None, ge=0, le=100, description="battery health, percent")
    note: Words = ""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "screen": "minor_scratches",
                    "body": "minor_wear",
                    "function": "all_working",
                    "accessories": "complete",
                    "battery": 88,
                }
            ]
        },
    )


class ResolveBody(_Body):
    resolution: Literal["accept", "reject", "correct"] = Field(examples=["accept"])
    reason: Words = Field(min_length=3, examples=["extra packaging from the carrier; device ok"])


class MoveBody(_Body):
    bin: Annotated[str, AfterValidator(check_code)] = Field(
        min_length=1, max_length=64, examples=["BIN-A-01-03"]
    )


class ManifestBody(_Body):
    """Expected returns, as `edge manifest import` reads them from a JSON file."""

    returns: list[dict[str, JsonValue]] = Field(
        max_length=50_000,
        examples=[
            [
                {
                    "return_id": "R-1001",
                    "label_codes": ["1Z999AA10123456784"],
                    "customer_ref": "C-77",
                    "make": "Apple",
                    "model": "iPhone 13",
                    "declared_imei": "356938035643809",
                    "screen": "flawless",
                    "body": "minor_wear",
                    "quote": "240.00",
                    "currency": "EUR",
                    "status": "accepted",
                }
            ]
        ],
    )


class ProfileBody(_Body):
    toml: str = Field(min_length=1, max_length=200_000)


class ActionResult(BaseModel):
    """What an action did: a word for the screen and the custody events it appended."""

    message: str
    events: list[dict[str, Any]]


class Page(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class JournalPage(BaseModel):
    events: list[dict[str, Any]]
    next_after: int | None = Field(
        description="pass as `after` for the next page; null when this page is the last"
    )
    size: int


class ReopenBody(_Body):
    reason: Words = Field(min_length=3, examples=["customer disputes the grade"])
