"""Versioned JSON payloads of the topic scheme, one pydantic model per topic kind.

Every payload carries `v`; a reader refuses a version it does not know rather than guess.
Readings that become custody carry the driver's `seq` (per device, persistent across
restarts) so a QoS 1 redelivery or an outbox replay is recognised by device id + seq.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    ValidationError,
    model_validator,
)

from edge.characters import Code, check_code
from edge.journal.events import Sha256Hex, format_ts
from edge.limits import MAX_BUS_PAYLOAD_BYTES, MAX_CODE_LENGTH

PAYLOAD_VERSION: Literal[1] = 1
Timestamp = Annotated[datetime, PlainSerializer(format_ts, return_type=str)]
DecimalText = Annotated[Decimal, PlainSerializer(str, return_type=str)]
Seq = Annotated[int, Field(ge=1)]
# The bytes a scanner sent for one code: up to 4 UTF-8 bytes a character, plus an AIM prefix.
_MAX_RAW_B64 = 4 * ((4 * MAX_CODE_LENGTH + 3 + 2) // 3)
_Gs1Value = Annotated[str, Field(max_length=MAX_CODE_LENGTH), AfterValidator(check_code)]


class PayloadError(ValueError):
    """A payload that is not valid JSON for its topic; the message says what is wrong."""


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)
    v: Literal[1] = PAYLOAD_VERSION

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class DeviceStatus(_Payload):
    """Retained on `dev/{id}/status`: what a technician needs to know about one device."""

    kind: str
    state: Literal["online", "offline", "silent", "error", "attention"]
    reason: str
    ts: Timestamp
    detail: dict[str, JsonValue] = Field(default_factory=dict)


class Scan(_Payload):
    code: Code
    symbology: str = Field(min_length=1, max_length=32)
    aim: str | None = Field(max_length=3)
    raw_b64: str = Field(max_length=_MAX_RAW_B64)
    ts: Timestamp
    seq: Seq
    gs1: dict[Annotated[str, Field(max_length=4)], _Gs1Value] = Field(default_factory=dict)
    imei: str | None = Field(None, pattern=r"^[0-9]{15}$")
    source: Literal["scanner", "keyboard", "camera"] = "scanner"

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.raw_b64)


class Weight(_Payload):
    """A scale reading: a weight (`state` ok, `grams` set) or a state without a number (any
    other state, `grams` null, not stable). Only an accepted weight carries a `seq`."""

    grams: DecimalText | None = None
    stable: bool
    state: Literal["ok", "over", "under", "error", "busy"]
    raw: str = Field(max_length=MAX_CODE_LENGTH)  # the frame as sent (non-printables escaped)
    ts: Timestamp
    seq: Seq | None = None  # only accepted (stable, repeated) weights are custody readings
    accepted: bool = False

    @model_validator(mode="after")
    def _a_state_is_never_a_number(self) -> Weight:
        if self.state == "ok" and self.grams is None:
            raise ValueError("grams: an ok reading carries its weight")
        if self.state != "ok" and (self.grams is not None or self.stable):
            raise ValueError(f"grams: a {self.state} reading carries no weight and is not stable")
        if self.accepted and (self.state != "ok" or not self.stable or self.seq is None):
            raise ValueError("accepted: only a stable ok weight with a seq is accepted")
        return self


class Photo(_Payload):
    sha256: Sha256Hex
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    ts: Timestamp
    seq: Seq
    request_id: str | None = None


class Diag(_Payload):
    ts: Timestamp
    seq: Seq
    platform: Literal["android", "ios"]
    imei: str | None = None
    serial: str | None = None
    model: str | None = None
    battery_health: str | None = None
    lock: dict[str, JsonValue] = Field(default_factory=dict)
    fields: dict[str, JsonValue] = Field(default_factory=dict)  # name → {value, source}


class Command(_Payload):
    """A request on `cmd/{device}/{verb}`; the answer goes to `dev/{device}/reply`."""

    request_id: str = Field(min_length=1, max_length=64)
    args: dict[str, JsonValue] = Field(default_factory=dict)


class Reply(_Payload):
    request_id: str
    verb: str
    ok: bool
    message: str
    ts: Timestamp
    result: dict[str, JsonValue] = Field(default_factory=dict)


READING_MODELS: dict[str, type[_Payload]] = {
    "dev-status": DeviceStatus,
    "scan": Scan,
    "weight": Weight,
    "photo": Photo,
    "diag": Diag,
    "cmd": Command,
    "reply": Reply,
}


def now() -> datetime:
    return datetime.now(UTC)


def decode(kind: str, data: bytes) -> _Payload:
    """Parse a payload of topic kind `kind`; `PayloadError` says what is wrong, briefly. A
    payload over MAX_BUS_PAYLOAD_BYTES is refused before any parsing."""
    model = READING_MODELS.get(kind)
    if model is None:
        raise PayloadError(f"no payload model for topic kind {kind!r}")
    if len(data) > MAX_BUS_PAYLOAD_BYTES:
        raise PayloadError(
            f"{kind} payload is {len(data)} bytes, over the limit of {MAX_BUS_PAYLOAD_BYTES}"
        )
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise PayloadError(
            f"{kind} payload invalid ({exc.error_count()} problem(s)); "
            f"first: {where}: {first['msg']}"
        ) from None
