"""Which blobs a station may upload: those its held events name. An upstream whose events were
stored before the ledger kept that list gets it filled from the events (migration 2)."""

from __future__ import annotations

import pytest

from edge.journal import EventDraft
from edge.upstream import Ledger, LedgerError, Store
from edge.upstream.store import migrate
from tests.upstream.conftest import StationJournal


def test_the_names_of_events_stored_before_the_list_existed_are_filled_in(
    store: Store, ledger: Ledger, station: StationJournal
) -> None:
    ledger.register_station("ams-1", "dock-1", station.vkey)
    photo = station.journal.blobs.put(b"a dock photo")
    station.journal.append_many(
        [
            EventDraft.model_validate(
                {
                    "type": "photo.captured",
                    "subject": "R-1001",
                    "operator": "olga",
                    "payload": {"note": "a NUL \x00 in a payload"},  # PostgreSQL's jsonb refuses
                    "attachments": [photo],
                }
            ),
            EventDraft.model_validate(
                {"type": "package.weighed", "subject": "R-1001", "operator": "olga"}
            ),
        ]
    )
    station.journal.checkpoint()
    ledger.ingest("ams-1", "dock-1", station.wire(0))
    assert ledger.blob_room("ams-1", "dock-1", photo) == ledger.blob_quota_bytes
    with store.transaction() as tx:  # the upstream as it was before migration 2
        tx.execute("DROP TABLE event_blobs")
        tx.execute("ALTER TABLE stations DROP COLUMN blob_bytes")
        tx.execute("DELETE FROM schema_migrations WHERE version = 2")
    migrate(store)
    assert ledger.blob_room("ams-1", "dock-1", photo) == ledger.blob_quota_bytes
    assert ledger.put_blob("ams-1", "dock-1", photo, b"a dock photo") is True
    with pytest.raises(LedgerError) as unnamed:
        ledger.blob_room("ams-1", "dock-1", "0" * 64)
    assert unnamed.value.status == 409
