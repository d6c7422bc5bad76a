"""The ingest fast path (`_plain_event`) accepts nothing the full check refuses."""

from __future__ import annotations

import base64
import json

import pytest

from edge.journal import merkle
from edge.journal.note import Checkpoint, sign_checkpoint
from edge.upstream import Ledger
from edge.upstream.ingest import InvalidBatch, WireBatch
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
    ],
    ids=["impossible-ts", "v-true"],
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
