"""What the upstream does with one batch from a station, decided without I/O.

The store locks the station's row, hands over what it holds (its head and the hashes of the
events the batch overlaps) and carries out the decision: skip what it holds, store the rest, or
refuse. Every check the wire format promises (docs/replication.md) is made here.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.journal import merkle
from edge.journal.events import (
    EVENT_VERSION,
    SHA256_HEX,
    UUID7_TEXT,
    EventType,
    canonical_bytes,
    format_ts,
)
from edge.journal.note import Checkpoint, NoteError, Verifier, open_checkpoint
from edge.journal.reader import event_from_row
from edge.limits import MAX_BATCH_EVENTS, MAX_EVENT_BYTES, MAX_NAME_LENGTH


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


class EventRow(NamedTuple):  # a tuple: built once per event on the ingest path
    seq: int
    event_id: str
    type: str
    subject: str
    return_ref: str | None  # the return an event names in its payload (customer view)
    ts: str
    body: bytes
    hash: bytes
    prev: str | None  # the hex hash the event names as its predecessor


@dataclass(frozen=True)
class CheckedBatch:
    """A decoded batch with every event checked on its own and against the event before it in
    the batch: all a station's row lock is not needed for, done before taking it. An event's
    refusal is kept, not raised: it only counts if the event turns out not to be held."""

    events: tuple[tuple[int, bytes], ...]  # (seq, body), consecutive
    hashes: tuple[bytes, ...]  # RFC 9162 leaf hashes, one per event
    results: tuple[EventRow | InvalidBatch, ...]
    checkpoint: str  # the signed note the batch ends at (checked against the head)


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
        try:  # what `b64decode(validate=True)` does, without its str-to-bytes copy first
            body = binascii.a2b_base64(event.body, strict_mode=True)
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


def check_body(site: str, station: str, raw: bytes) -> CheckedBatch:
    """An ingest request's body parsed (pydantic-core, one pass), decoded and prechecked: all
    of an ingest that needs neither the database nor the station's lock. Raises pydantic's
    ValidationError (not the wire format at all) or InvalidBatch."""
    batch = WireBatch.model_validate_json(raw)
    return precheck(site, station, decode_batch(batch), batch.checkpoint)


def precheck(
    site: str, station: str, events: Sequence[tuple[int, bytes]], checkpoint: str
) -> CheckedBatch:
    """Check each event without the station's head: hash, canonical form, shape, seq, site and
    station, and that it names the batch's previous event as its prev (the first event's prev is
    checked against the head by `decide`)."""
    hashes: list[bytes] = []
    results: list[EventRow | InvalidBatch] = []
    for seq, body in events:
        leaf = merkle.leaf_hash(body)
        try:
            row: EventRow | InvalidBatch = _check_event(site, station, seq, body, leaf)
        except InvalidBatch as exc:
            row = exc
        if hashes and isinstance(row, EventRow) and row.prev != hashes[-1].hex():
            row = _broken_chain(seq, row.prev, hashes[-1])
        hashes.append(leaf)
        results.append(row)
    return CheckedBatch(tuple(events), tuple(hashes), tuple(results), checkpoint)


def _broken_chain(seq: int, named: str | None, expected: bytes | None) -> InvalidBatch:
    return InvalidBatch(
        f"event {seq} does not continue the chain (prev {named} is not "
        f"{expected.hex() if expected is not None else None})",
        seq,
    )


def overlap(head: StationHead, batch: CheckedBatch) -> tuple[int, int] | None:
    """The seq range of the batch the upstream already holds (to fetch their hashes)."""
    first, last = batch.events[0][0], min(batch.events[-1][0], head.size)
    return (first, last) if first <= last else None


def decide(head: StationHead, batch: CheckedBatch, held_hashes: Mapping[int, bytes]) -> Decision:
    """Check a prechecked batch against what is held (`held_hashes`: the overlap's stored
    hashes)."""
    first = batch.events[0][0]
    if first > head.size + 1:
        return Gap(head.size + 1)
    for index, (seq, body) in enumerate(batch.events):
        if seq > head.size:
            return _accept(head, batch, index)
        held = held_hashes.get(seq)
        if held is None:  # the store's answer does not cover what the head says it holds
            raise RuntimeError(f"upstream store lost the hash of held event {seq}")
        if batch.hashes[index] != held:
            return Fork(seq, held, batch.hashes[index], body)
    return AlreadyHeld()


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


def _accept(head: StationHead, batch: CheckedBatch, start: int) -> Accept | Fork:
    """Events `start`.. of the batch are new: they must continue the held chain."""
    fork = _continues(head, *batch.events[start])
    if fork is not None:
        return fork
    tree = merkle.CompactRange(head.size, list(head.peaks))
    rows: list[EventRow] = []
    for row in batch.results[start:]:
        if isinstance(row, InvalidBatch):
            raise row
        if not rows and row.prev != (head.last_hash.hex() if head.last_hash else None):
            raise _broken_chain(row.seq, row.prev, head.last_hash)
        rows.append(row)
        tree.append(row.hash)
    try:
        checkpoint = open_checkpoint(batch.checkpoint, head.verifier, head.origin)
    except NoteError as exc:
        raise InvalidBatch(f"checkpoint refused: {exc}") from None
    size = rows[-1].seq
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
    return Accept(tuple(rows), size, rows[-1].hash, tuple(tree.peaks), checkpoint, batch.checkpoint)


def _check_event(site: str, station: str, seq: int, body: bytes, leaf: bytes) -> EventRow:
    fields = _plain_event(body)
    if fields is None:  # not the common shape: the journal's own full check says why
        fields = _full_check(seq, body, leaf)
    if fields["seq"] != seq:
        raise InvalidBatch(f"event at position {seq} says seq {fields['seq']}", seq)
    if (fields["site"], fields["station"]) != (site, station):
        raise InvalidBatch(
            f"event {seq} belongs to {fields['site']}/{fields['station']}, not {site}/{station}",
            seq,
        )
    return EventRow(  # by position: half the cost of by name, once per event
        seq,
        fields["event_id"],
        fields["type"],
        fields["subject"].replace("\x00", "\\u0000"),  # PostgreSQL TEXT holds no NUL
        _return_ref(fields["payload"]),
        fields["ts"],
        body,
        leaf,
        fields["prev"],
    )


_FIELDS = frozenset(
    ("v", "seq", "event_id", "type", "subject", "operator", "station", "site", "ts", "clock",
     "payload", "attachments", "prev")
)  # fmt: skip
_SORTED_FIELDS = tuple(sorted(_FIELDS))  # a canonical body's key order (orjson keeps it)
# sorted keys as RFC 8785 sorts them (these are ASCII); integers beyond 2^53 refused, as I-JSON
_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
_TYPES = frozenset(t.value for t in EventType)
_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$").fullmatch
_HEX64 = re.compile(SHA256_HEX).fullmatch
_EVENT_ID = re.compile(UUID7_TEXT).fullmatch
_RETURN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # what the customer view can ask for


def _plain_event(body: bytes) -> dict[str, Any] | None:
    """The event's fields, when its bytes are what orjson writes for them with sorted keys
    (ASCII, no floats, safe integers: then that is also their RFC 8785 form, as
    tests/upstream/test_fast_path.py holds) and every field has the type and shape the journal
    gives it; None when in any doubt (the full check decides). Written for speed: it runs once
    per event on the upstream's ingest path."""
    if not body.isascii():
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict or tuple(data) != _SORTED_FIELDS:
        return None
    try:
        if orjson.dumps(data, option=_CANONICAL) != body:
            return None
    except orjson.JSONEncodeError:  # an integer beyond 2^53
        return None
    version, event_id, ts, prev = data["v"], data["event_id"], data["ts"], data["prev"]
    subject, operator, station, site = (
        data["subject"], data["operator"], data["station"], data["site"]
    )  # fmt: skip
    payload, attachments = data["payload"], data["attachments"]
    shaped = (
        type(version) is int
        and version == EVENT_VERSION
        and type(data["seq"]) is int
        and type(event_id) is str
        and _EVENT_ID(event_id) is not None
        and type(data["type"]) is str
        and data["type"] in _TYPES
        and type(subject) is str
        and 0 < len(subject) <= MAX_NAME_LENGTH
        and type(operator) is str
        and 0 < len(operator) <= MAX_NAME_LENGTH
        and type(station) is str
        and 0 < len(station) <= MAX_NAME_LENGTH
        and type(site) is str
        and 0 < len(site) <= MAX_NAME_LENGTH
        and type(ts) is str
        and _TS(ts) is not None
        and _real_time(ts)
        and data["clock"] in ("synced", "unsynced")
        and type(payload) is dict
        and _no_floats(payload)
        and type(attachments) is list
        and all(type(a) is str and _HEX64(a) is not None for a in attachments)
        and (prev is None or (type(prev) is str and _HEX64(prev) is not None))
    )
    return data if shaped else None


def _no_floats(payload: dict[str, Any]) -> bool:
    """No float anywhere in `payload` (RFC 8785 writes some differently from orjson, 1.0 as 1);
    iterative, so depth costs no recursion."""
    stack: list[Any] = [payload]
    while stack:
        node = stack.pop()
        for item in node.values() if type(node) is dict else node:
            kind = type(item)
            if kind is float:
                return False
            if kind is dict or kind is list:
                stack.append(item)
    return True


def _real_time(text: str) -> bool:
    """A date and time that exist, in a year `format_ts` writes with four digits (glibc's
    `%Y` does not pad years before 1000: the full check refuses those as not canonical)."""
    if text < "1000":
        return False
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
