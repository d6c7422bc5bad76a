"""A journal commit bigger than `batch_events` (a manifest page of hundreds of records) still
goes upstream: the journal signs a checkpoint every 64 events inside one commit, so every batch
ends at one; a batch size below that is refused by the profile, and stretched to the next
checkpoint by a replicator given one anyway, never a silent stall."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from drivers.profile import ProfileError
from edge.journal import EventDraft
from edge.operators import Role
from edge.replication.service import build_replicator
from tests.api.conftest import OPERATORS, sign_in
from tests.replication.conftest import SITE, STATION, make_station, write_token
from tests.replication.test_hub_replication import hub_with_upstream, station_vkey, wait_for
from tests.replication.test_replicator import fast
from tests.replication.upstream_process import UpstreamProcess


def _synced(i: int) -> EventDraft:
    return EventDraft.model_validate(
        {
            "type": "manifest.synced",
            "subject": f"R-{i:05d}",
            "operator": "upstream",
            "payload": {"change": "created", "source": "upstream"},
        }
    )


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_one_big_commit_replicates_in_checkpointed_batches(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    station = make_station(tmp_path, upstream.url, upstream.cosigner_vkey)
    with station.open() as journal:
        write_token(station.folder, upstream.register(SITE, STATION, journal.verifier.encode()))
        # what the hub does with a 600-record manifest page: one append_many, one commit
        journal.append_many([_synced(i) for i in range(600)])
        replicator, _, client = build_replicator(journal, station.folder, station.profile)
        assert replicator.batch_events == 200  # the conftest profile; the default 500 stalls too

        async def scenario() -> None:
            stop = asyncio.Event()
            task = asyncio.ensure_future(fast(replicator).run(stop))
            try:
                for _ in range(100):  # 5 s: many rounds, each one signing the tail again
                    if replicator.stats.upstream_size == journal.size:
                        break
                    await asyncio.sleep(0.05)
            finally:
                stop.set()
                await task
                await client.close()

        asyncio.run(scenario())
        assert replicator.stats.upstream_size == journal.size == 600


def _returns(count: int) -> list[dict[str, object]]:
    return [
        {
            "return_id": f"R-{i:05d}",
            "label_codes": [f"LBL-{i:06d}"],
            "customer_ref": "C-1",
            "make": "Apple",
            "model": "iPhone 13",
            "quote": "100.00",
            "currency": "EUR",
            "status": "accepted",
        }
        for i in range(count)
    ]


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_a_big_manifest_page_does_not_stall_the_hubs_replication(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    """End to end in a running hub with the default batch_events (500): the upstream's
    manifest has 600 returns; the hub pulls them as one page (one commit of 600 events) and
    then never gets its journal upstream again."""
    app, data_dir = hub_with_upstream(tmp_path, upstream.url, upstream.cosigner_vkey)
    write_token(data_dir, upstream.register(SITE, STATION, station_vkey(data_dir)))
    upstream.import_manifest(SITE, _returns(600))
    with TestClient(app) as client:
        token = sign_in(client, OPERATORS[Role.OPERATOR][1])
        headers = {"Authorization": f"Bearer {token}"}

        def backlog() -> int:
            body = client.get("/api/v1/replication", headers=headers).json()
            return int(body["backlog"]["events"])

        wait_for(lambda: client.get("/api/v1/journal", headers=headers).json() is not None)
        try:
            wait_for(lambda: backlog() == 0, within=20)
        except AssertionError:
            body = client.get("/api/v1/replication", headers=headers).json()
            raise AssertionError(f"replication stalled: {body}") from None


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_batch_events_below_the_checkpoint_cadence_is_refused_or_stretched(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    """The journal signs every 64 events: a batch size below that could never end at a
    checkpoint. The profile refuses it; a replicator given one anyway ends each batch at the
    next checkpoint (at most `MAX_BATCH_EVENTS` away), never idles."""
    station = make_station(tmp_path, upstream.url, upstream.cosigner_vkey)
    text = station.profile_path.read_text().replace("batch_events = 200", "batch_events = 50")
    station.profile_path.write_text(text)
    with pytest.raises(ProfileError, match="batch_events"):
        station.profile  # noqa: B018
    station.profile_path.write_text(text.replace("batch_events = 50", "batch_events = 200"))
    with station.open() as journal:
        write_token(station.folder, upstream.register(SITE, STATION, journal.verifier.encode()))
        for i in range(100):
            journal.append(_synced(i))
        replicator, _, client = build_replicator(journal, station.folder, station.profile)
        replicator.batch_events = 50

        async def scenario() -> None:
            stop = asyncio.Event()
            task = asyncio.ensure_future(fast(replicator).run(stop))
            try:
                for _ in range(600):
                    if replicator.stats.upstream_size == journal.size:
                        break
                    await asyncio.sleep(0.05)
            finally:
                stop.set()
                await task
                await client.close()

        asyncio.run(scenario())
        assert replicator.stats.upstream_size == journal.size == 100
        assert not replicator.stats.alarm
