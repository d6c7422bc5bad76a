"""The hub in process (no broker): regressions found by an independent review."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from edge.bus.client import BusConfig
from edge.hub.bus_bridge import HubBus
from edge.hub.runtime import Hub, ManifestImport, SignIn
from edge.hub.state import HUB_FILE
from edge.journal import JOURNAL_FILE, JournalReader
from stations.catalogue import Catalogue
from stations.manifest import ExpectedReturn, parse_manifest
from stations.profile import load_hub_profile
from stations.workflow import (
    PhotoInput,
    Reading,
    ScanInput,
    SealInput,
    WeightInput,
    WorkflowRefused,
)
from tests.api.conftest import MANIFEST as RETURNS

DOCK = """
[station]
site = "ams-1"
station = "dock-1"
role = "dock"

[devices.dock-scanner]
kind = "scanner"
path = "/dev/null"

[devices.dock-scale]
kind = "scale"
path = "/dev/null"
protocol = "mtsics"

[devices.dock-camera]
kind = "camera"
source = "/tmp/nothing"

[receiving]
camera = "dock-camera"
"""

MANIFEST = RETURNS[:1]  # the iPhone 13 in its mailer box


def make_hub(tmp_path: Path) -> Hub:
    path = tmp_path / "station.toml"
    path.write_text(DOCK)
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return Hub(data, load_hub_profile(path))


async def sign_in(hub: Hub) -> None:
    await hub.handle(
        SignIn("olga", "Olga", "operator", "badge", datetime.now(UTC) + timedelta(hours=8))
    )


async def load_manifest(hub: Hub) -> None:
    records = parse_manifest(
        json.dumps({"returns": MANIFEST}).encode(), "json", hub.workflows.catalogue
    )
    await hub.handle(ManifestImport(tuple(records), "test", "ada"))


def types(hub: Hub) -> list[str]:
    with JournalReader(hub.data_dir / JOURNAL_FILE) as reader:
        return [e.type.value for e in reader.events()]


def test_a_photo_whose_blob_is_missing_does_not_block_the_receipt(tmp_path: Path) -> None:
    """A photo whose blob is missing is journalled as photo_missing, but its sha still enters
    the package's photos and is attached to package.received: the seal confirmation then fails
    in the journal (attachment not in blob store) every time; the package can never be received."""

    async def main() -> None:
        hub = make_hub(tmp_path)
        hub.start()
        try:
            await sign_in(hub)
            await load_manifest(hub)
            await hub.handle(
                ScanInput("1Z999AA10123456784", "code128", Reading("dock-scanner", 1, "a"), "olga")
            )
            await hub.handle(WeightInput(Decimal(400), Reading("dock-scale", 1, "b"), "olga"))
            req = hub.station_state.dock.current.photo_request
            await hub.handle(
                PhotoInput(
                    "ab" * 32,
                    640,
                    480,
                    req,
                    Reading("dock-camera", 1, "c"),
                    "olga",
                    blob_present=False,
                )
            )
            assert "photo_missing" in json.dumps(
                hub.state.list_exceptions(status="open", kind=None, limit=50, offset=0)[0]
            )
            result = await hub.handle(SealInput(True, "olga"))
            assert "package.received" in [e.type.value for e in result.events]
        finally:
            await hub.stop()

    asyncio.run(main())


def test_an_unattended_reading_is_deduped_on_redelivery(tmp_path: Path) -> None:
    """A reading while nobody is signed in becomes a no_operator exception, but its reading sits
    under evidence.reading, not payload.reading, so the durable dedupe never sees it: a QoS 1
    redelivery after a restart is journalled twice."""

    async def main() -> None:
        hub = make_hub(tmp_path)
        hub.start()
        try:
            scan = ScanInput("X-1", "code128", Reading("dock-scanner", 7, "d" * 32), "unattended")
            await hub.handle(scan)
            assert hub.state.seen_reading("dock-scanner", 7, "d" * 32) is not None
        finally:
            await hub.stop()

    asyncio.run(main())


def test_an_unattended_photo_without_its_blob_is_still_journalled(tmp_path: Path) -> None:
    """Unattended photo whose blob is missing: the no_operator exception attaches the sha
    anyway; the journal refuses it, the reading is retried and dead-lettered, never journalled."""

    async def main() -> None:
        hub = make_hub(tmp_path)
        hub.start()
        try:
            photo = PhotoInput(
                "cd" * 32,
                640,
                480,
                None,
                Reading("dock-camera", 3, "e" * 32),
                "unattended",
                blob_present=False,
            )
            await hub.handle(photo)
        finally:
            await hub.stop()

    asyncio.run(main())


def test_two_copies_in_flight_are_journalled_once(tmp_path: Path) -> None:
    """The bridge checks seen_reading before queueing; a redelivery that arrives while the first
    delivery is still queued or being decided (e.g. after a reconnect) passes the check too."""

    async def main() -> None:
        hub = make_hub(tmp_path)
        hub.start()
        bus = HubBus(
            hub,
            BusConfig("127.0.0.1", 1, "review-hub"),
        )
        try:
            await sign_in(hub)
            payload = json.dumps(
                {
                    "v": 1,
                    "code": "UNKNOWN-LABEL-1",
                    "symbology": "code128",
                    "aim": None,
                    "raw_b64": "",
                    "ts": "2026-01-01T00:00:00.000000Z",
                    "seq": 42,
                }
            ).encode()
            topic = f"{bus.topics.root}/dev/dock-scanner/scan"
            before = len(types(hub))
            await asyncio.gather(bus._on_reading(topic, payload), bus._on_reading(topic, payload))
            added = types(hub)[before:]
            assert added.count("label.scanned") == 1, added
        finally:
            await hub.stop()

    asyncio.run(main())


def test_the_previous_box_weight_never_weighs_the_next_package(tmp_path: Path) -> None:
    """Box A is re-weighed while awaiting the seal check (operator turns it to look at the seal):
    that stable weight is kept as a loose weight. The empty scale (< min grams) does not clear it,
    nor does package.received. The next label scanned within weight_reuse_s is weighed with box
    A's weight."""

    async def main() -> None:
        hub = make_hub(tmp_path)
        hub.start()
        try:
            await sign_in(hub)
            await load_manifest(hub)
            await hub.handle(ScanInput("UNKNOWN-A", "code128", Reading("s", 1, "a1"), "olga"))
            await hub.handle(WeightInput(Decimal(612), Reading("scale", 1, "w1"), "olga"))
            # box lifted to check the seal and put back: a new stable weight
            await hub.handle(WeightInput(Decimal(611), Reading("scale", 2, "w2"), "olga"))
            await hub.handle(SealInput(True, "olga"))
            # box removed: empty scale
            await hub.handle(WeightInput(Decimal(0), Reading("scale", 3, "w3"), "olga"))
            # next box's label scanned before it is put on the scale
            result = await hub.handle(
                ScanInput("1Z999AA10123456784", "code128", Reading("s", 2, "a2"), "olga")
            )
            weighed = [e for e in result.events if e.type.value == "package.weighed"]
            assert not weighed, [e.payload for e in weighed]
        finally:
            await hub.stop()

    asyncio.run(main())


def test_a_late_photo_finds_its_package_whatever_the_label_length(tmp_path: Path) -> None:
    """The photo request id is cut to 64 chars, so a photo that arrives after its package was
    closed is journalled under a truncated subject no package has."""

    async def main() -> None:
        hub = make_hub(tmp_path)
        hub.start()
        try:
            await sign_in(hub)
            label = "https://returns.example.com/r/RMA-000123456789"
            await hub.handle(ScanInput(label, "qr", Reading("s", 1, "a1"), "olga"))
            await hub.handle(WeightInput(Decimal(400), Reading("scale", 1, "w1"), "olga"))
            current = hub.station_state.dock.current
            req = current.photo_request
            await hub.handle(SealInput(True, "olga"))
            blob = hub.journal.blobs.put(b"jpeg")
            res = await hub.handle(
                PhotoInput(blob, 640, 480, req, Reading("dock-camera", 1, "p1"), "olga")
            )
            assert res.events[0].subject == current.subject, (
                res.events[0].subject,
                current.subject,
            )
        finally:
            await hub.stop()

    asyncio.run(main())


def test_a_label_cannot_move_silently_to_another_return(tmp_path: Path) -> None:
    async def main() -> None:
        hub = make_hub(tmp_path)
        hub.start()
        try:
            await load_manifest(hub)
            before = types(hub)
            other = {**MANIFEST[0], "return_id": "R-2000"}
            records = parse_manifest(
                json.dumps({"returns": [other]}).encode(), "json", hub.workflows.catalogue
            )
            with pytest.raises(WorkflowRefused, match="held by R-1001"):
                await hub.handle(ManifestImport(tuple(records), "test", "ada"))
            assert types(hub) == before
            found = hub.state.return_by_label("1Z999AA10123456784")
            assert found is not None and found.return_id == "R-1001"
        finally:
            await hub.stop()

    asyncio.run(main())


def test_a_hub_db_of_an_older_schema_is_rebuilt_and_upstream_returns_stay_upstreams(
    tmp_path: Path,
) -> None:
    """Item 17: a read model from before the owner column (schema 0, no owner) is dropped and
    folded again, so a return the upstream's feed brought before the upgrade is still its."""

    async def main() -> None:
        records = parse_manifest(json.dumps(MANIFEST).encode(), "json", make_hub_catalogue())
        hub = make_hub(tmp_path)
        hub.start()
        try:
            await hub.handle(ManifestImport(tuple(records), "upstream", "upstream"))
        finally:
            await hub.stop()
        old = sqlite3.connect(tmp_path / "data" / HUB_FILE)
        old.execute("ALTER TABLE manifest DROP COLUMN owner")
        old.execute("PRAGMA user_version = 0")
        old.commit()
        old.close()
        hub = make_hub(tmp_path)
        hub.start()
        try:
            assert hub.state.upstream_owned(["R-1001"]) == ["R-1001"]
            changed = ExpectedReturn.from_record({**records[0].to_record(), "quote": "9999.00"})
            with pytest.raises(WorkflowRefused, match="R-1001") as refused:
                await hub.handle(ManifestImport((changed,), "file:returns.json", "ada"))
            assert refused.value.code == "upstream_owned"
        finally:
            await hub.stop()

    asyncio.run(main())


def make_hub_catalogue() -> Catalogue:
    return Catalogue.load(None)


def _alone(path: Path, scratch: Path, sql: str) -> int:
    """A count from a database file by itself, without its WAL: what checkpoints copied."""
    copy = scratch / f"alone-{path.name}"
    shutil.copyfile(path, copy)
    conn = sqlite3.connect(copy)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def test_the_journal_and_hub_db_are_checkpointed_in_the_pause_after_work(tmp_path: Path) -> None:
    """Wiring: both writers count their commits, and their checkpointers copy the WAL into the
    database files once the station pauses (no COMMIT of theirs does it: far below 4000 pages)."""

    async def main() -> None:
        hub = make_hub(tmp_path)
        hub.start()
        try:
            for _ in range(110):  # 110 commits, one event each
                await sign_in(hub)
            size = hub.journal.size
            scratch = tmp_path / "scratch"
            scratch.mkdir()

            def copied() -> tuple[int, int]:
                try:
                    events = _alone(hub.journal.path, scratch, "SELECT count(*) FROM events")
                    applied = _alone(
                        hub.state.path, scratch, "SELECT value FROM meta WHERE key = 'applied_seq'"
                    )
                except (sqlite3.Error, TypeError):  # no such table (or row) yet in the file
                    return (0, 0)
                return events, applied

            for _ in range(100):  # a pause in a busy test run can split it into two checkpoints
                if copied() == (size, size):
                    break
                await asyncio.sleep(0.05)
            assert copied() == (size, size)
        finally:
            await hub.stop()

    asyncio.run(main())


def test_a_hub_db_of_another_journal_is_refused_and_leaves_no_thread_behind(
    tmp_path: Path,
) -> None:
    async def first() -> None:
        hub = make_hub(tmp_path / "a")
        hub.start()
        try:
            await sign_in(hub)
        finally:
            await hub.stop()

    (tmp_path / "a").mkdir()
    asyncio.run(first())
    (tmp_path / "b" / "data").mkdir(parents=True)
    shutil.copyfile(tmp_path / "a" / "data" / HUB_FILE, tmp_path / "b" / "data" / HUB_FILE)

    def ours() -> list[str]:
        return sorted(t.name for t in threading.enumerate() if t.name.startswith("checkpoint-"))

    before = ours()
    with pytest.raises(RuntimeError, match="belongs to another journal"):
        make_hub(tmp_path / "b")
    assert ours() == before


def test_a_local_return_holding_a_label_does_not_stall_the_upstream_feed(tmp_path: Path) -> None:
    """Item 17 by another path: a station admin imports a local return with a label the
    upstream later gives to one of its returns. The upstream owns the manifest: its return
    takes the label, journalled with the local return it was taken from (before: the feed page
    was refused, replication stayed in alarm and no later return reached the station)."""

    async def main() -> None:
        hub = make_hub(tmp_path)
        hub.start()
        try:
            local = {**MANIFEST[0], "return_id": "R-LOCAL"}
            records = parse_manifest(
                json.dumps({"returns": [local]}).encode(), "json", hub.workflows.catalogue
            )
            await hub.handle(ManifestImport(tuple(records), "file:returns.json", "ada"))
            await load_manifest_from_upstream(hub)
            found = hub.state.return_by_label("1Z999AA10123456784")
            assert found is not None and found.return_id == "R-1001"
            assert hub.state.upstream_owned(["R-1001"]) == ["R-1001"]
            with JournalReader(hub.data_dir / JOURNAL_FILE) as reader:
                synced = [e for e in reader.events() if e.subject == "R-1001"]
            assert synced[-1].payload["labels_taken"] == {"1Z999AA10123456784": "R-LOCAL"}
        finally:
            await hub.stop()

    asyncio.run(main())


async def load_manifest_from_upstream(hub: Hub) -> None:
    records = parse_manifest(
        json.dumps({"returns": MANIFEST}).encode(), "json", hub.workflows.catalogue
    )
    await hub.handle(ManifestImport(tuple(records), "upstream", "upstream"))
