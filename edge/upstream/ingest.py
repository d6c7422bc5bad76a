"""What the upstream does with one batch from a station, decided without I/O.

The store locks the station's row, hands over what it holds (its head and the hashes of the
events the batch overlaps) and carries out the decision: skip what it holds, store the rest, or
refuse. Every check the wire format promises (docs/replication.md) is made here.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.journal import merkle
from edge.journal.events import (
    EVENT_VERSION,
    SHA256_HEX,
    EventType,
    canonical_bytes,
    format_ts,
    is_uuid7,
)
from edge.journal.note import Checkpoint, NoteError, Verifier, open_checkpoint
from edge.journal.reader import event_from_row

MAX_BATCH_EVENTS = 1000
MAX_EVENT_BYTES = 256 * 1024


class InvalidBatch(ValueError):
    """A batch that is malformed or does not verify; nothing of it is stored."""

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.message, self.seq = message, seq


class WireEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    seq: int = Field(ge=1, le=2**53 - 1)
    body: str = Field(min_length=1, max_length=MAX_EVENT_BYTES * 4 // 3 + 4)  # base64


class WireBatch(BaseModel):
    """The JSON body of an ingest request."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    events: list[WireEvent] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)
    checkpoint: str = Field(min_length=1, max_length=16_384)


@dataclass(frozen=True)
class StationHead:
    """What the upstream holds of one station, as locked for a batch."""

    site: str
    station: str
    origin: str
    verifier: Verifier
    size: int = 0
    last_hash: bytes | None = None  # leaf hash of the event at `size`
    peaks: tuple[tuple[int, bytes], ...] = ()  # the tree's compact range at `size`
    checkpoint_size: int = 0
    cosignature: str | None = None


@dataclass(frozen=True)
class EventRow:
    seq: int
    event_id: str
    type: str
    subject: str
    return_ref: str | None  # the return an event names in its payload (customer view)
    ts: str
    body: bytes
    hash: bytes


@dataclass(frozen=True)
class Accept:
    rows: tuple[EventRow, ...]  # the new events, in seq order
    size: int
    last_hash: bytes
    peaks: tuple[tuple[int, bytes], ...]
    checkpoint: Checkpoint
    checkpoint_note: str


@dataclass(frozen=True)
class AlreadyHeld:
    """Every event of the batch is held with the same hash: a replay, answered as success."""


@dataclass(frozen=True)
class Gap:
    need: int  # the seq the station must send from


@dataclass(frozen=True)
class Fork:
    seq: int
    held_hash: bytes
    offered_hash: bytes
    offered_body: bytes


Decision = Accept | AlreadyHeld | Gap | Fork


def decode_batch(batch: WireBatch) -> list[tuple[int, bytes]]:
    """(seq, body bytes) in order; consecutive seqs, bounded sizes."""
    events: list[tuple[int, bytes]] = []
    for position, event in enumerate(batch.events):
        try:
            body = base64.b64decode(event.body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidBatch(f"event {event.seq}: body is not base64", event.seq) from None
        if len(body) > MAX_EVENT_BYTES:
            raise InvalidBatch(f"event {event.seq}: body over {MAX_EVENT_BYTES} bytes", event.seq)
        if position and event.seq != events[-1][0] + 1:
            raise InvalidBatch(
                f"events must be consecutive: {event.seq} follows {events[-1][0]}", event.seq
            )
        events.append((event.seq, body))
    return events


def overlap(head: StationHead, events: Sequence[tuple[int, bytes]]) -> tuple[int, int] | None:
    """The seq range of the batch the upstream already holds (to fetch their hashes)."""
    first, last = events[0][0], min(events[-1][0], head.size)
    return (first, last) if first <= last else None


def decide(
    head: StationHead,
    events: Sequence[tuple[int, bytes]],
    checkpoint_note: str,
    held_hashes: Mapping[int, bytes],
) -> Decision:
    """Check a decoded batch against what is held (`held_hashes`: the overlap's stored hashes)."""
    first = events[0][0]
    if first > head.size + 1:
        return Gap(head.size + 1)
    fresh: list[tuple[int, bytes]] = []
    for seq, body in events:
        if seq > head.size:
            fresh.append((seq, body))
            continue
        held = held_hashes.get(seq)
        if held is None:  # the store's answer does not cover what the head says it holds
            raise RuntimeError(f"upstream store lost the hash of held event {seq}")
        offered = merkle.leaf_hash(body)
        if offered != held:
            return Fork(seq, held, offered, body)
    if not fresh:
        return AlreadyHeld()
    return _accept(head, fresh, checkpoint_note)


def _continues(head: StationHead, seq: int, body: bytes) -> Fork | None:
    """The first new event must name the held last event as its prev; another prev is another
    history (a rewritten or replaced journal): a fork at the held event."""
    if head.last_hash is None:
        return None
    try:
        prev = json.loads(body).get("prev")
    except (ValueError, AttributeError, RecursionError):
        return None  # not JSON: refused as invalid by the full check
    if isinstance(prev, str) and prev != head.last_hash.hex():
        try:
            offered = bytes.fromhex(prev)
        except ValueError:
            return None
        return Fork(head.size, head.last_hash, offered, body)
    return None


def _accept(
    head: StationHead, fresh: list[tuple[int, bytes]], checkpoint_note: str
) -> Accept | Fork:
    fork = _continues(head, *fresh[0])
    if fork is not None:
        return fork
    tree = merkle.CompactRange(head.size, list(head.peaks))
    prev = head.last_hash
    rows: list[EventRow] = []
    for seq, body in fresh:
        rows.append(_check_event(head, seq, body, prev))
        tree.append(rows[-1].hash)
        prev = rows[-1].hash
    try:
        checkpoint = open_checkpoint(checkpoint_note, head.verifier, head.origin)
    except NoteError as exc:
        raise InvalidBatch(f"checkpoint refused: {exc}") from None
    size = fresh[-1][0]
    if checkpoint.size != size:
        raise InvalidBatch(
            f"the checkpoint covers {checkpoint.size} events but the batch ends at seq {size}; "
            "send a batch that ends at its checkpoint"
        )
    if checkpoint.root != tree.root():
        raise InvalidBatch(
            f"the checkpoint's root is not the root of events 1..{size}: the events or the "
            "checkpoint were altered"
        )
    assert prev is not None
    return Accept(tuple(rows), size, prev, tuple(tree.peaks), checkpoint, checkpoint_note)


def _check_event(head: StationHead, seq: int, body: bytes, prev: bytes | None) -> EventRow:
    leaf = merkle.leaf_hash(body)
    fields = _plain_event(body)
    if fields is None:  # not the common shape: the journal's own full check says why
        fields = _full_check(seq, body, leaf)
    if fields["seq"] != seq:
        raise InvalidBatch(f"event at position {seq} says seq {fields['seq']}", seq)
    if (fields["site"], fields["station"]) != (head.site, head.station):
        raise InvalidBatch(
            f"event {seq} belongs to {fields['site']}/{fields['station']}, "
            f"not {head.site}/{head.station}",
            seq,
        )
    expected_prev = prev.hex() if prev is not None else None
    if fields["prev"] != expected_prev:
        raise InvalidBatch(
            f"event {seq} does not continue the chain (prev {fields['prev']} is not "
            f"{expected_prev})",
            seq,
        )
    return EventRow(
        seq=seq,
        event_id=fields["event_id"],
        type=fields["type"],
        subject=fields["subject"].replace("\x00", "\\u0000"),  # PostgreSQL TEXT holds no NUL
        return_ref=_return_ref(fields["payload"]),
        ts=fields["ts"],
        body=body,
        hash=leaf,
    )


_FIELDS = frozenset(
    ("v", "seq", "event_id", "type", "subject", "operator", "station", "site", "ts", "clock",
     "payload", "attachments", "prev")
)  # fmt: skip
_TYPES = frozenset(t.value for t in EventType)
_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
_HEX64 = re.compile(SHA256_HEX)
_MAX_SAFE_INT = 2**53 - 1
_RETURN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # what the customer view can ask for


class _NotPlain(Exception):
    pass


def _no_float(text: str) -> float:
    raise _NotPlain(text)


def _safe_int(text: str) -> int:
    value = int(text)
    if not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
        raise _NotPlain(text)
    return value


_DECODER = json.JSONDecoder(parse_float=_no_float, parse_int=_safe_int)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _plain_event(body: bytes) -> dict[str, Any] | None:
    """The event's fields, when its bytes are what the stdlib encoder writes for them (ASCII, no
    floats, safe integers: then that is also their RFC 8785 form) and every field has the type
    and shape the journal gives it; None when in any doubt (the full check decides)."""
    if not body.isascii():
        return None
    try:
        data = _DECODER.decode(body.decode("ascii"))
    except (ValueError, _NotPlain, RecursionError):
        return None
    if type(data) is not dict or data.keys() != _FIELDS:
        return None
    if _ENCODER.encode(data).encode() != body:
        return None
    text = (data["event_id"], data["subject"], data["operator"], data["station"], data["site"])
    prev, attachments = data["prev"], data["attachments"]
    shaped = (
        type(data["v"]) is int
        and data["v"] == EVENT_VERSION
        and type(data["seq"]) is int
        and all(type(t) is str and 0 < len(t) <= 200 for t in text)
        and is_uuid7(data["event_id"])
        and data["type"] in _TYPES
        and type(data["ts"]) is str
        and _TS.fullmatch(data["ts"]) is not None
        and _real_time(data["ts"])
        and data["clock"] in ("synced", "unsynced")
        and type(data["payload"]) is dict
        and type(attachments) is list
        and all(type(a) is str and _HEX64.fullmatch(a) for a in attachments)
        and (prev is None or (type(prev) is str and _HEX64.fullmatch(prev) is not None))
    )
    return data if shaped else None


def _real_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text[:-1])
    except ValueError:
        return False
    return True


def _full_check(seq: int, body: bytes, leaf: bytes) -> dict[str, Any]:
    try:
        event = event_from_row(body, leaf)
    except (ValueError, ValidationError, RecursionError) as exc:
        raise InvalidBatch(f"event {seq} is not a custody event: {_short(exc)}", seq) from None
    if canonical_bytes(event.body()) != body:
        raise InvalidBatch(f"event {seq} is not in canonical (RFC 8785) form", seq)
    return {
        "seq": event.seq,
        "site": event.site,
        "station": event.station,
        "prev": event.prev,
        "event_id": str(event.event_id),
        "type": event.type.value,
        "subject": event.subject,
        "payload": event.payload,
        "ts": format_ts(event.ts),
    }


def _return_ref(payload: Mapping[str, Any]) -> str | None:
    value = payload.get("return_id")
    return value if isinstance(value, str) and _RETURN_ID.fullmatch(value) else None


def _short(exc: Exception) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) <= 200 else text[:197] + "..."
