"""Custody events: the types, what a caller hands in, what the journal stores, canonical bytes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

import rfc8785
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    field_validator,
)

from edge.characters import check_code
from edge.journal.clock import ClockState
from edge.journal.errors import JournalInputError
from edge.limits import MAX_EVENT_BYTES, MAX_NAME_LENGTH, MAX_PAYLOAD_DEPTH

EVENT_VERSION: Literal[1] = 1
SHA256_HEX = r"^[0-9a-f]{64}$"
# Payload keys that would put a secret into a permanent, replicated record.
SECRET_KEYS = frozenset({"pin", "password", "passcode", "secret", "token", "private_key"})


class EventType(StrEnum):
    """Custody event types. Extend as needed; never repurpose one."""

    LABEL_SCANNED = "label.scanned"
    PACKAGE_RECEIVED = "package.received"
    PACKAGE_WEIGHED = "package.weighed"
    SEAL_CHECKED = "seal.checked"
    PHOTO_CAPTURED = "photo.captured"
    DEVICE_IDENTIFIED = "device.identified"
    DIAGNOSTICS_RECORDED = "diagnostics.recorded"
    GRADE_ASSIGNED = "grade.assigned"
    ERASURE_COMPLETED = "erasure.completed"
    DISPOSITION_ROUTED = "disposition.routed"
    LOCATION_MOVED = "location.moved"
    EXCEPTION_RAISED = "exception.raised"
    EXCEPTION_RESOLVED = "exception.resolved"
    OPERATOR_SIGNED_IN = "operator.signed_in"
    STATION_PROVISIONED = "station.provisioned"
    MANIFEST_SYNCED = "manifest.synced"
    UNIT_REOPENED = "unit.reopened"  # a finished unit reopened, with a reason
    OPERATOR_SIGNED_OUT = "operator.signed_out"  # a session ended: sign-out, expiry, revoked
    RECEIPT_CANCELLED = "receipt.cancelled"  # an open package undone, with a reason


def format_ts(ts: datetime) -> str:
    """RFC 3339 UTC with microseconds, always the same width."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


Sha256Hex = Annotated[str, Field(pattern=SHA256_HEX)]
UtcTimestamp = Annotated[datetime, PlainSerializer(format_ts, return_type=str)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
# What a new event may name: a subject is often made from a code ("label:..."), so the rule for
# codes (no control characters but the GS1 separators) holds for both.
NewName = Annotated[Name, AfterValidator(check_code)]


def _find_secret_key(value: Any, path: str = "payload") -> str | None:
    """Where in `value` a key names a secret (`payload.a.b[2].pin`), or None. The path is only
    spelled out for a find: every draft's payload goes through here."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if str(key).lower() in SECRET_KEYS:
                return f"{path}.{key}"
            if isinstance(inner, dict | list):
                found = _find_secret_key(inner, "")
                if found is not None:
                    return f"{path}.{key}{found}"
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            if isinstance(inner, dict | list):
                found = _find_secret_key(inner, "")
                if found is not None:
                    return f"{path}[{i}]{found}"
    return None


def payload_depth(value: Any, limit: int = MAX_PAYLOAD_DEPTH) -> int:
    """How deep objects and lists nest in `value` (a scalar is 0), counting no further than
    `limit + 1`; iterative, so any depth costs no recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            inner: Any = item.values()
        elif isinstance(item, list | tuple):
            inner = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
        pending.extend((child, depth) for child in inner if isinstance(child, dict | list | tuple))
    return deepest


def check_event_size(data: bytes) -> bytes:
    """An event's canonical bytes, refused over MAX_EVENT_BYTES: the upstream takes no bigger."""
    if len(data) > MAX_EVENT_BYTES:
        raise JournalInputError(
            f"event is {len(data)} bytes as stored, over the limit of {MAX_EVENT_BYTES}; "
            "the payload is too large (put large data in a blob and attach it)"
        )
    return data


_KNOWN_TYPES = frozenset(t.value for t in EventType)


class EventDraft(BaseModel):
    """What a workflow, driver or operator hands to the journal; the journal adds the rest."""

    # hide_input_in_errors: a refused payload may hold a PIN; its value must not reach a log.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    type: EventType
    subject: NewName
    operator: NewName
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    attachments: tuple[Sha256Hex, ...] = ()

    @field_validator("payload", mode="before")
    @classmethod
    def _not_too_deep(cls, value: object) -> object:
        # before pydantic's own walk, whose recursion guard answers with a path of every level
        if payload_depth(value) > MAX_PAYLOAD_DEPTH:  # the payload object itself is level 1
            raise ValueError(
                f"nests objects and lists more than {MAX_PAYLOAD_DEPTH} levels deep; flatten it"
            )
        return value

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: object) -> object:
        if isinstance(value, str) and value not in _KNOWN_TYPES:
            raise ValueError(
                f"unknown event type {value!r}; known types: {', '.join(sorted(_KNOWN_TYPES))}"
            )
        return value

    @field_validator("payload")
    @classmethod
    def _no_secrets(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        found = _find_secret_key(value)
        if found:
            raise ValueError(f"{found} looks like a secret; custody events never carry secrets")
        return value


class CustodyEvent(BaseModel):
    """One stored custody event, as hashed (all fields but `hash`) and as replicated."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    v: Literal[1] = EVENT_VERSION
    seq: int = Field(ge=1)
    event_id: UUID
    type: EventType
    subject: Name
    operator: Name
    station: Name
    site: Name
    ts: UtcTimestamp
    clock: ClockState
    payload: dict[str, JsonValue]
    attachments: tuple[Sha256Hex, ...] = ()
    prev: Sha256Hex | None
    hash: Sha256Hex

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() != UTC.utcoffset(None):
            raise ValueError("ts must be UTC")
        return value

    def body(self) -> dict[str, Any]:
        """The hashed part, as JSON values."""
        return self.model_dump(mode="json", exclude={"hash"})

    def canonical_body(self) -> bytes:
        return canonical_bytes(self.body())

    def as_stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


_MAX_SAFE_INT = 2**53 - 1


def is_plain(value: Any) -> bool:
    """True if the stdlib encoder writes RFC 8785 bytes for this value: strings, booleans,
    null, integers within +-(2**53 - 1), and objects with ASCII keys (where code-point order is
    UTF-16 order). Floats and anything else take the rfc8785 path (ECMAScript number format)."""
    pending = [value]
    budget = 100_000  # items; a cyclic or absurd value takes the rfc8785 path, which refuses it
    while pending:
        budget -= 1
        if budget < 0:
            return False
        item = pending.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if not -_MAX_SAFE_INT <= item <= _MAX_SAFE_INT:
                return False
        elif kind is dict:
            for key, inner in item.items():
                if type(key) is not str or not key.isascii():
                    return False
                pending.append(inner)
        elif kind is list or kind is tuple:
            pending.extend(item)
        else:
            return False
    return True


def canonical_bytes(value: Any, *, plain: bool | None = None) -> bytes:
    """RFC 8785 (JCS) bytes; refuses what JSON cannot carry exactly (NaN, huge ints, bytes).

    Custody events are almost always plain (weights are decimal strings), and the C encoder is
    several times faster than rfc8785 on them; tests/journal/test_canonical.py checks that both
    give the same bytes, or both refuse, for arbitrary JSON values. A caller that knows the
    value's shape may pass `plain` to skip the walk.
    """
    if plain if plain is not None else is_plain(value):
        try:
            return json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 refuses it with its own message
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise JournalInputError(f"payload is not JSON-serialisable: {exc}") from exc
    except RecursionError as exc:
        raise JournalInputError("payload is not JSON-serialisable: nested too deep") from exc


def event_bytes(body: dict[str, Any], *, plain: bool) -> bytes:
    """Canonical bytes of an event body, refused unless reading them back gives the same bytes.

    A float such as 1e20 is written by RFC 8785 as 100000000000000000000, which reads back as an
    integer beyond 2**53: the event could be stored but never verified. Plain values (no floats)
    always round-trip, so only the others pay for the check.
    """
    data = canonical_bytes(body, plain=plain)
    if not plain:
        try:
            again = canonical_bytes(json.loads(data))
        except JournalInputError:
            again = b""
        if again != data:
            raise JournalInputError(
                "payload has a number that does not read back as itself; "
                'send measurements as decimal strings (e.g. "grams": "412.5")'
            )
    return data


_STATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_station_id(kind: str, value: str) -> str:
    """Site and station ids go into every event and the checkpoint origin: keep them plain."""
    if not _STATION_ID.fullmatch(value):
        raise JournalInputError(
            f"{kind} id {value!r} must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


UUID7_TEXT = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
_UUID_TEXT = re.compile(UUID7_TEXT)


def is_uuid7(text: str) -> bool:
    return bool(_UUID_TEXT.fullmatch(text))
