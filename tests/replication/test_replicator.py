"""The replicator against a real upstream process on SQLite and PostgreSQL: whatever happens on
the way, afterwards the upstream holds exactly the station's events (no duplicates, no gaps)
and the same Merkle root."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from edge.journal import EventDraft, Journal, merkle
from edge.replication.client import UpstreamClient
from edge.replication.replicator import Replicator
from edge.replication.service import build_replicator
from edge.upstream.cosign import CosignatureVerifier
from tests.replication.conftest import (
    SITE,
    STATION,
    Station,
    fill,
    make_station,
    until,
    write_token,
)
from tests.replication.flaky_proxy import FlakyProxy
from tests.replication.upstream_process import UpstreamProcess

ROOT = Path(__file__).resolve().parents[2]


def registered(tmp_path: Path, upstream: UpstreamProcess, url: str | None = None) -> Station:
    station = make_station(tmp_path, url or upstream.url, upstream.cosigner_vkey)
    with station.open() as journal:
        token = upstream.register(SITE, STATION, journal.verifier.encode())
    write_token(station.folder, token)
    return station


def assert_same_history(upstream: UpstreamProcess, journal: Journal) -> None:
    ours = [(seq, leaf) for seq, leaf, _ in journal.reader.leaf_rows()]
    held = upstream.held(SITE, STATION)
    assert [seq for seq, _ in held] == list(range(1, len(held) + 1))  # no gaps, no duplicates
    assert held == ours
    assert upstream.last_checkpoint == (len(ours), merkle.root_of([leaf for _, leaf in ours]))


def fast(replicator: Replicator) -> Replicator:
    replicator.backoff_min_s, replicator.backoff_max_s = 0.05, 0.3
    return replicator


@asynccontextmanager
async def running(replicator: Replicator, client: UpstreamClient) -> AsyncIterator[None]:
    """The replicator runs in the background meanwhile; then it stops and the client closes."""
    stop = asyncio.Event()
    task = asyncio.ensure_future(replicator.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task
        await client.close()


def catch_up(replicator: Replicator, client: UpstreamClient, journal: Journal) -> None:
    """Run the replicator until the upstream holds the whole journal, then close the client."""

    async def scenario() -> None:
        async with running(fast(replicator), client):
            await until(lambda: replicator.stats.upstream_size == journal.size, 60)

    asyncio.run(scenario())


def test_catch_up_is_exact_and_every_checkpoint_is_cosigned(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    station = registered(tmp_path, upstream)
    with station.open() as journal:
        fill(journal, 730)  # the tail past the last checkpoint is signed by the replicator
        replicator, state, client = build_replicator(journal, station.folder, station.profile)
        catch_up(replicator, client, journal)
        assert_same_history(upstream, journal)
        latest = journal.reader.latest_checkpoint()
        assert latest is not None and latest.size == journal.size
        [(cosigner, line, _)] = journal.reader.cosignatures(latest.size)
        verifier = CosignatureVerifier.parse(upstream.cosigner_vkey)
        assert cosigner == verifier.name
        assert verifier.verify_over_note(line, latest.note) <= time.time() + 1
        assert state.read().upstream_size == journal.size
        state.close()


def test_upstream_killed_mid_transfer_then_restarted(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    # the proxy holds the third batch: the upstream is killed with the first ones stored and
    # the rest on their way (a whole catch-up takes well under a second)
    with FlakyProxy(upstream.port, hold_post=3, hold_s=5.0) as proxy:
        station = registered(tmp_path, upstream, proxy.url)
        with station.open() as journal:
            fill(journal, 3000)
            replicator, state, client = build_replicator(journal, station.folder, station.profile)
            fast(replicator)

            async def scenario() -> None:
                async with running(replicator, client):
                    await until(lambda: replicator.stats.upstream_size > 0, 30)
                    upstream.kill()  # batches are flowing: on the wire or in a transaction
                    await until(lambda: replicator.stats.status == "away", 10)
                    assert 0 < replicator.stats.upstream_size < journal.size
                    await asyncio.sleep(0.5)
                    await asyncio.to_thread(upstream.start)
                    await until(lambda: replicator.stats.upstream_size == journal.size, 60)

            asyncio.run(scenario())
            state.close()
            assert_same_history(upstream, journal)


def test_a_flapping_link_loses_and_duplicates_nothing(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    with FlakyProxy(upstream.port, drop=0.4) as proxy:
        station = registered(tmp_path, upstream, proxy.url)
        with station.open() as journal:
            fill(journal, 2000)
            replicator, state, client = build_replicator(journal, station.folder, station.profile)

            async def scenario() -> None:
                async with running(fast(replicator), client):
                    await until(lambda: replicator.stats.upstream_size > 0, 30)
                    proxy.up = False  # the link goes down for a while, then comes back
                    await asyncio.sleep(1.0)
                    proxy.up = True
                    await until(lambda: replicator.stats.upstream_size == journal.size, 90)

            asyncio.run(scenario())
            state.close()
            assert proxy.cuts > 0  # the link really did drop connections mid-request
            assert replicator.stats.batches.get("failed", 0) > 0
            assert_same_history(upstream, journal)


def test_a_batch_that_overtakes_the_one_before_it_is_sent_again_not_lost(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    # batches are on the wire side by side; the proxy holds the first, so the next reach the
    # upstream before it and are answered with a gap (the upstream orders only what arrived)
    with FlakyProxy(upstream.port, hold_post=1, hold_s=0.5) as proxy:
        station = registered(tmp_path, upstream, proxy.url)
        with station.open() as journal:
            fill(journal, 640)  # ten batches of 64
            replicator, state, client = build_replicator(journal, station.folder, station.profile)
            replicator.batch_events = 64
            assert replicator.in_flight >= 2
            catch_up(replicator, client, journal)
            state.close()
            assert proxy.posts > 10  # the overtaken batches were sent again
            assert replicator.stats.batches.get("gap", 0) >= 1
            assert replicator.stats.status == "idle" and not replicator.stats.alarm
            assert_same_history(upstream, journal)


def test_station_killed_mid_transfer_resumes_from_the_upstream(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    # the proxy holds the third batch for a while: the first ones are stored, the rest are
    # still on their way when the station is killed (a whole catch-up takes well under a second)
    with FlakyProxy(upstream.port, hold_post=3, hold_s=5.0) as proxy:
        station = registered(tmp_path, upstream, proxy.url)
        with station.open() as journal:
            fill(journal, 6000)
        command = [
            sys.executable, "-m", "edge", "--data-dir", str(station.folder),
            "replicate", "--once", "--profile", str(station.profile_path),
        ]  # fmt: skip
        first = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while not upstream.held(SITE, STATION) and time.monotonic() < deadline:
            time.sleep(0.05)
        first.kill()  # SIGKILL while batches are flowing
        first.wait()
        partial = len(upstream.held(SITE, STATION))
        second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        with station.open() as journal:
            assert 0 < partial < journal.size
            assert_same_history(upstream, journal)


def test_a_rewritten_station_journal_is_a_fork_alarm_not_an_overwrite(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    station = registered(tmp_path, upstream)
    with station.open() as journal:
        fill(journal, 100)
        replicator, state, client = build_replicator(journal, station.folder, station.profile)
        catch_up(replicator, client, journal)
        state.close()
        original = upstream.held(SITE, STATION)
    # the journal file is replaced by another history under the same key, a little longer
    for name in ("journal.db", "journal.db-wal", "journal.db-shm", "hub.db", "replication.db"):
        (station.folder / name).unlink(missing_ok=True)
    with station.open() as journal:
        journal.append_many([_other(i) for i in range(120)])
        journal.checkpoint()
        replicator, state, client = build_replicator(journal, station.folder, station.profile)

        async def scenario() -> None:
            async with running(fast(replicator), client):
                await until(lambda: replicator.stats.status == "alarm", 30)

        asyncio.run(scenario())
        state.close()
        assert "fork" in replicator.stats.alarm
    assert upstream.held(SITE, STATION) == original  # nothing overwritten


def test_an_upstream_claiming_more_than_the_station_holds_is_an_alarm(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    station = registered(tmp_path, upstream)
    with station.open() as journal:
        fill(journal, 200)
        replicator, state, client = build_replicator(journal, station.folder, station.profile)
        catch_up(replicator, client, journal)
        state.close()
    for name in ("journal.db", "journal.db-wal", "journal.db-shm", "replication.db"):
        (station.folder / name).unlink(missing_ok=True)  # a station restored from an old image
    with station.open() as journal:
        fill(journal, 50)
        replicator, state, client = build_replicator(journal, station.folder, station.profile)

        async def scenario() -> None:
            try:
                with pytest.raises(Exception, match="holds 200 events but this journal has 50"):
                    await replicator.send_events()
            finally:
                await client.close()

        asyncio.run(scenario())
        state.close()
    assert len(upstream.held(SITE, STATION)) == 200


def test_blobs_follow_the_events_that_name_them(tmp_path: Path, upstream: UpstreamProcess) -> None:
    station = registered(tmp_path, upstream)
    photo = b"\xff\xd8\xff\xe0" + hashlib.sha256(b"dock photo").digest() * 500
    with station.open() as journal:
        sha256 = journal.blobs.put(photo)
        journal.append(
            EventDraft.model_validate(
                {
                    "type": "photo.captured",
                    "subject": "R-1001",
                    "operator": "olga",
                    "payload": {"device": "dock-camera"},
                    "attachments": [sha256],
                }
            )
        )
        replicator, state, client = build_replicator(journal, station.folder, station.profile)
        catch_up(replicator, client, journal)
        assert state.read().blobs_through == journal.size
        state.close()
    token = (station.folder / "keys" / "upstream-token").read_text().strip()
    answer = httpx.head(
        f"{upstream.url}/api/v1/blobs/{sha256}", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    assert replicator.stats.blobs_sent == 1


def _other(i: int) -> EventDraft:
    return EventDraft.model_validate(
        {"type": "label.scanned", "subject": f"R-X{i}", "operator": "mallory", "payload": {}}
    )
