"""The ingest fast path (`_plain_event`) accepts nothing the full check refuses."""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from edge.journal import merkle
from edge.journal.note import Checkpoint, sign_checkpoint
from edge.upstream import Ledger
from edge.upstream.ingest import InvalidBatch, WireBatch, _full_check, _plain_event
from tests.upstream.conftest import StationJournal
from tests.upstream.test_ledger import held_events

GOOD = {
    "v": 1,
    "seq": 1,
    "event_id": "01890a5d-ac96-774b-bcce-b302099a8057",
    "type": "label.scanned",
    "subject": "R-1001",
    "operator": "olga",
    "station": "dock-1",
    "site": "ams-1",
    "ts": "2026-01-01T00:00:00.000000Z",
    "clock": "synced",
    "payload": {},
    "attachments": [],
    "prev": None,
}


def signed_batch(station: StationJournal, event: dict[str, object]) -> WireBatch:
    """A one-event batch signed with the station's real key (only the station can do this)."""
    body = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    leaf = merkle.leaf_hash(body)
    journal = station.journal
    note = sign_checkpoint(Checkpoint(journal.origin, 1, merkle.root_of([leaf])), journal.signer)
    return WireBatch.model_validate(
        {"events": [{"seq": 1, "body": base64.b64encode(body).decode()}], "checkpoint": note}
    )


@pytest.mark.parametrize(
    "change",
    [
        {"ts": "2026-02-30T25:61:61.000000Z"},  # no such date or time: not a datetime
        {"v": True},  # not version 1 (`true == 1` in Python)
        {"type": []},  # not a type at all (and unhashable)
        {"ts": "0999-01-01T00:00:00.000000Z"},  # a year the journal writes with three digits
    ],
    ids=["impossible-ts", "v-true", "type-list", "year-999"],
)
def test_the_fast_path_refuses_what_the_full_check_refuses(
    ledger: Ledger, station: StationJournal, change: dict[str, object]
) -> None:
    ledger.register_station("ams-1", "dock-1", station.vkey)
    batch = signed_batch(station, {**GOOD, **change})
    try:
        with pytest.raises(InvalidBatch):
            ledger.ingest("ams-1", "dock-1", batch)
    finally:
        held = held_events(ledger, "ams-1", "dock-1")
    assert held == []  # docs/replication.md: a body that does not parse: 422, nothing stored


def test_the_good_event_is_accepted(ledger: Ledger, station: StationJournal) -> None:
    """Control: the same construction with valid fields is stored."""
    ledger.register_station("ams-1", "dock-1", station.vkey)
    assert ledger.ingest("ams-1", "dock-1", signed_batch(station, GOOD)).outcome == "stored"


@pytest.mark.parametrize("code", range(128))
def test_orjson_writes_each_ascii_character_as_rfc_8785_does(code: int) -> None:
    """The fast path takes ASCII bodies only; in them orjson's string form must be RFC 8785's
    (controls as \\uXXXX or their short escapes, `"` and `\\` escaped, DEL as is)."""
    text = f"a{chr(code)}z"
    assert orjson.dumps(text) == rfc8785.dumps(text)


_LIMIT = 2**53
_ascii = st.text(st.characters(max_codepoint=0x7F), max_size=6)  # the fast path's own ground
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.sampled_from([_LIMIT - 1, _LIMIT, -(_LIMIT - 1), -_LIMIT])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, -0.0, 1.0, 1e20, 1e21, 1e-7, 0.1])  # where the two forms differ
    | _ascii
    | st.text(st.characters(max_codepoint=0x2FF), max_size=4)
)
# keys that RFC 8785 (UTF-16 units) and code-point order sort differently, beside plain ones
_keys = _ascii | _ascii | st.sampled_from(["\ue000", "\U0001d11e", "\u00e9"])
_payloads = st.dictionaries(
    _keys,
    st.recursive(
        _scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
        max_leaves=6,
    ),
    max_size=3,
)
_HEX = "ab" * 32
_FIELD_VALUES = {
    "v": st.sampled_from([1, True, 1.0, 2, "1"]),
    "seq": st.sampled_from([1, 1.0, "1", True, _LIMIT]),
    "event_id": st.sampled_from(
        ["01890a5d-ac96-774b-bcce-b302099a8057", "01890A5D-AC96-774B-BCCE-B302099A8057",
         "01890a5d-ac96-474b-bcce-b302099a8057", "", 7]
    ),
    "type": st.sampled_from(["label.scanned", "label.unknown", 3, [], {}]),
    "subject": st.text(st.characters(max_codepoint=0x17F), max_size=210) | st.just(5),
    "operator": st.sampled_from(["", "o" * 200, "o" * 201, None]),
    "ts": st.sampled_from(
        ["2026-01-01T00:00:00.000000Z", "2026-02-30T00:00:00.000000Z",
         "2026-01-01T00:00:00Z", "2026-01-01 00:00:00.000000Z", "0999-01-01T00:00:00.000000Z",
         "0001-01-01T00:00:00.000000Z", 0]
    ),
    "clock": st.sampled_from(["synced", "unsynced", "drifting", None]),
    "attachments": st.sampled_from([[], [_HEX], [_HEX.upper()], ["x"], {}, None]),
    "prev": st.sampled_from([None, _HEX, _HEX[:-1], _HEX.upper(), 0]),
    "payload": _payloads
    | st.dictionaries(_ascii, st.floats(allow_nan=False) | st.integers(), max_size=2),
}  # fmt: skip
# one or two fields changed from GOOD: a forgery that differs in one place
_changes = st.lists(
    st.one_of(*(st.tuples(st.just(k), values) for k, values in _FIELD_VALUES.items())),
    min_size=1,
    max_size=2,
).map(dict)


def _as_written(event: dict[str, Any]) -> list[bytes]:
    """The bodies a station (or a forger) could send for `event`: orjson's and RFC 8785's."""
    bodies = []
    for write in (lambda e: orjson.dumps(e, option=orjson.OPT_SORT_KEYS), rfc8785.dumps):
        try:
            bodies.append(bytes(write(event)))
        except Exception:  # not writable that way (an integer beyond 64 bits, say)
            continue
    return bodies


@settings(max_examples=1500, deadline=None, derandomize=True, database=None)
@given(changes=_changes, drop=st.sampled_from([None] * 6 + ["v", "prev", "payload"]))
# the known places where orjson's form and RFC 8785's part, each tried every run
@example(changes={"payload": {"grams": 1.0}}, drop=None)
@example(changes={"payload": {"grams": 1e20}}, drop=None)
@example(changes={"payload": {"n": _LIMIT}}, drop=None)
@example(changes={"payload": {"\ue000": 1, "\U0001d11e": 2}}, drop=None)
@example(changes={"v": True}, drop=None)
def test_what_the_fast_path_accepts_the_full_check_accepts_with_the_same_fields(
    changes: dict[str, Any], drop: str | None
) -> None:
    event = {**GOOD, **changes}
    if drop is not None:
        del event[drop]
    for body in _as_written(event):
        fast = _plain_event(body)
        if fast is None:
            continue  # the full check decides: nothing to compare
        leaf = merkle.leaf_hash(body)
        full = _full_check(1, body, leaf)  # raises InvalidBatch: the fast path let it through
        assert {key: fast[key] for key in full} == full


def test_the_fast_path_takes_the_journals_own_events(station: StationJournal) -> None:
    """Control for the property above: it is not vacuous, real events take the fast path."""
    station.append(20)
    bodies = station.journal.reader.bodies(1, 20)
    assert all(_plain_event(body) is not None for _, body in bodies)
