"""Whatever the journal accepts, the upstream accepts: one set of limits (edge/limits.py) at both.

Events a station could append (unicode names at the length limit, GS1 separators, nested
payloads, floats, bodies up to the size limit) go into a real journal; each one it accepts must
pass the upstream's ingest checks, the fast path and the full check alike, and a batch of them
must be stored by a real ledger. A refused batch would stall replication for good (issue 14.4).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from edge.journal import EventDraft, JournalInputError, merkle
from edge.limits import MAX_EVENT_BYTES, MAX_NAME_LENGTH, MAX_PAYLOAD_DEPTH
from edge.upstream import Ledger
from edge.upstream.ingest import (
    EventRow,
    WireBatch,
    _full_check,
    _plain_event,
    decode_batch,
    precheck,
)
from tests.upstream.conftest import StationJournal
from tests.upstream.test_ledger import held_events

# every plane, separators and controls included (the journal refuses some: those are skipped)
_any_text = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)
_names = (
    _any_text
    | st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=MAX_NAME_LENGTH)
    | st.sampled_from(
        [
            "x" * MAX_NAME_LENGTH,
            "é" * MAX_NAME_LENGTH,
            "\U0001d11e" * MAX_NAME_LENGTH,  # four UTF-8 bytes, two UTF-16 units each
            "x" * (MAX_NAME_LENGTH + 1),
            "label:]d2\x1d0109501234567891\x1d10LOT",  # a GS1 label's subject keeps its GS
            "label:\x1b[2J",
            "\u202eR-1001",
        ]
    )
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1.0, -0.0, 1e20, 1e21, 1e-7, 0.1, 2**53, -(2**53) + 1])
    | _any_text
)
_keys = _any_text | st.sampled_from(["code", "grams", "\ue000", "\U0001d11e", "é"])
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)


def _nested(depth: int) -> dict[str, Any]:
    """A payload whose innermost value sits `depth` levels down (the payload is level 1)."""
    value: Any = "bottom"
    for level in range(depth - 1):
        value = [value] if level % 2 else {"n": value}
    return {"deep": value}


@st.composite
def _drafts(draw: st.DrawFn) -> dict[str, Any]:
    payload: dict[str, Any] = draw(st.dictionaries(_keys, _json, max_size=5))
    shape = draw(st.sampled_from(["plain", "plain", "deep", "big"]))
    if shape == "deep":
        payload = {**payload, **_nested(draw(st.integers(1, MAX_PAYLOAD_DEPTH + 2)))}
    elif shape == "big":  # a body around the size limit, in one- and two-byte characters
        size = draw(st.integers(MAX_EVENT_BYTES - 1500, MAX_EVENT_BYTES + 50))
        payload["filler"] = draw(st.sampled_from(["x" * size, "é" * (size // 2)]))
    return {
        "type": draw(st.sampled_from(["label.scanned", "package.weighed", "exception.raised"])),
        "subject": draw(_names),
        "operator": draw(_names),
        "payload": payload,
    }


def _wire(events: list[tuple[int, bytes]]) -> WireBatch:
    return WireBatch.model_validate(
        {
            "events": [{"seq": s, "body": base64.b64encode(b).decode()} for s, b in events],
            "checkpoint": "signed later",
        }
    )


@settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(draft=_drafts())
@example(draft={"type": "label.scanned", "subject": "é" * 200, "operator": "o", "payload": {}})
@example(draft={"type": "label.scanned", "subject": "s", "operator": "o", "payload": _nested(32)})
def test_every_event_the_journal_accepts_passes_the_upstreams_checks(
    station: StationJournal, draft: dict[str, Any]
) -> None:
    try:
        event = station.journal.append(EventDraft.model_validate(draft))
    except (ValidationError, JournalInputError):
        return  # refused with a clear error before anything was written: nothing to send
    body = station.journal.reader.canonical_body(event.seq)
    assert len(body) <= MAX_EVENT_BYTES
    events = decode_batch(_wire([(event.seq, body)]))  # the wire: base64 and size bounds
    checked = precheck("ams-1", "dock-1", events, "signed later")
    assert isinstance(checked.results[0], EventRow), checked.results[0]
    full = _full_check(event.seq, body, merkle.leaf_hash(body))  # the slow path, always
    fast = _plain_event(body)  # the fast path, when it takes the event, agrees with it
    if fast is not None:
        assert {key: fast[key] for key in full} == full


def _event_size(station: StationJournal, filler: int) -> int:
    event = station.journal.append(
        EventDraft.model_validate(
            {
                "type": "label.scanned",
                "subject": "R-1",
                "operator": "o",
                "payload": {"f": "x" * filler},
            }
        )
    )
    return len(station.journal.reader.canonical_body(event.seq))


def test_a_batch_of_events_at_every_limit_is_stored_upstream(
    ledger: Ledger, station: StationJournal
) -> None:
    """End to end through a real ledger (SQLite and PostgreSQL): the largest event, the longest
    names in four-byte characters, the deepest payload and a GS1 subject are all stored."""
    _event_size(station, 0)  # from seq 2 on every event names a prev: the same overhead
    overhead = _event_size(station, 0)
    largest = _event_size(station, MAX_EVENT_BYTES - overhead)
    assert largest == MAX_EVENT_BYTES
    with pytest.raises(JournalInputError, match=f"over the limit of {MAX_EVENT_BYTES}"):
        _event_size(station, MAX_EVENT_BYTES - overhead + 1)
    for subject, payload in [
        ("\U0001d11e" * MAX_NAME_LENGTH, {}),
        ("label:]d2\x1d0109501234567891", {"code": "]d2\x1d0109501234567891"}),
        ("R-1", _nested(MAX_PAYLOAD_DEPTH)),
    ]:
        station.journal.append(
            EventDraft.model_validate(
                {
                    "type": "label.scanned",
                    "subject": subject,
                    "operator": "é" * 200,
                    "payload": payload,
                }
            )
        )
    station.journal.checkpoint()
    ledger.register_station("ams-1", "dock-1", station.vkey)
    assert ledger.ingest("ams-1", "dock-1", station.wire(0)).outcome == "stored"
    assert len(held_events(ledger, "ams-1", "dock-1")) == station.journal.size == 6
