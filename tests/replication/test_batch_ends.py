"""Which signed checkpoint a batch ends on: events appended while the replicator reads ahead
are no reason for an alarm, and checkpoints further apart than `batch_events` still go up."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from edge.journal import Journal, JournalPolicy, JournalReader
from edge.journal.blobs import BlobStore
from edge.limits import MAX_BATCH_EVENTS
from edge.replication.replicator import ReplicationAlarm
from edge.replication.service import build_replicator
from tests.replication.conftest import SITE, STATION, Station, fill, make_station, write_token
from tests.replication.upstream_process import UpstreamProcess

RARELY = JournalPolicy(checkpoint_every_events=100_000, checkpoint_every_seconds=3600)


class WatchedReader:
    """A journal reader that says when a batch end past `held` was looked up."""

    def __init__(self, reader: JournalReader, looked_up: dict[int, threading.Event]) -> None:
        self._reader, self._looked_up = reader, looked_up

    def last_checkpoint_within(self, above: int, at_most: int) -> Any:
        found = self._reader.last_checkpoint_within(above, at_most)
        self._looked_up.setdefault(above, threading.Event()).set()
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class WatchedJournal:
    """The hub's journal as the replicator sees it, with its lookups watched."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.looked_up: dict[int, threading.Event] = {}

    @property
    def size(self) -> int:
        return self.journal.size

    @property
    def reader(self) -> JournalReader:
        return WatchedReader(self.journal.reader, self.looked_up)  # type: ignore[return-value]

    @property
    def blobs(self) -> BlobStore:
        return self.journal.blobs

    def checkpoint(self) -> object:
        return self.journal.checkpoint()

    def record_cosignature(self, size: int, cosigner: str, line: str) -> bool:
        return self.journal.record_cosignature(size, cosigner, line)

    def looked_up_after(self, held: int) -> threading.Event:
        return self.looked_up.setdefault(held, threading.Event())


def registered(tmp_path: Path, upstream: UpstreamProcess, **policy: Any) -> Station:
    station = make_station(tmp_path, upstream.url, upstream.cosigner_vkey)
    with Journal(station.folder, site=SITE, station=STATION, **policy) as journal:
        write_token(station.folder, upstream.register(SITE, STATION, journal.verifier.encode()))
    return station


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_a_burst_while_the_next_batch_is_read_ahead_is_sent_not_an_alarm(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    """The reported case: upstream at 489, the journal signed 553 while the read-ahead (which
    found nothing past 489) waited; 64 events away is no reason for an alarm."""
    station = registered(tmp_path, upstream)
    with station.open() as journal:
        fill(journal, 489)
        journal.checkpoint()  # the tail signed at 489 (by time, as the hub does)
        view = WatchedJournal(journal)
        replicator, _, client = build_replicator(view, station.folder, station.profile)
        replicator.batch_events = 500
        burst: list[int] = []

        def on_progress(held: int, size: int) -> None:
            if held == 489 and not burst:  # the batch 1..489 is acknowledged
                # the read-ahead past 489 found no checkpoint; then the burst comes
                assert view.looked_up_after(489).wait(10)
                fill(journal, 64)  # the journal signs at 553 in the same commit
                burst.append(journal.size)

        replicator.on_progress = on_progress

        async def one_round() -> int:
            try:
                return await replicator.send_events()
            finally:
                await client.close()

        held = asyncio.run(one_round())  # ReplicationAlarm: "… 489 is at 553, more than …"
        assert burst == [553]
        assert held == 553
        assert len(upstream.held(SITE, STATION)) == 553


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_checkpoints_further_apart_than_batch_events_are_still_sent(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    """A journal signed at 300 and 450 only (written by something else, or an older version):
    the batch ends at the nearest checkpoint past `batch_events` (the profile says 200)."""
    station = registered(tmp_path, upstream, policy=RARELY)
    with Journal(station.folder, policy=RARELY) as journal:
        fill(journal, 300)
        journal.checkpoint()
        fill(journal, 150)
        journal.checkpoint()
        replicator, _, client = build_replicator(journal, station.folder, station.profile)
        assert replicator.batch_events == 200

        async def one_round() -> int:
            try:
                return await replicator.send_events()
            finally:
                await client.close()

        assert asyncio.run(one_round()) == 450
    assert len(upstream.held(SITE, STATION)) == 450


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_a_checkpoint_beyond_what_the_upstream_takes_is_an_alarm_naming_both(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    station = registered(tmp_path, upstream, policy=RARELY)
    with Journal(station.folder, policy=RARELY) as journal:
        fill(journal, MAX_BATCH_EVENTS + 10)
        journal.checkpoint()
        replicator, _, client = build_replicator(journal, station.folder, station.profile)

        async def one_round() -> int:
            try:
                return await replicator.send_events()
            finally:
                await client.close()

        with pytest.raises(ReplicationAlarm) as refused:
            asyncio.run(one_round())
    message = str(refused.value)
    assert f"at {MAX_BATCH_EVENTS + 10}" in message
    assert f"at most {MAX_BATCH_EVENTS}" in message
