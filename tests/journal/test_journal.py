"""The journal on real SQLite files: appends, chain, group commit, checkpoints, start-up check."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import rfc8785

from edge.journal import (
    ClockState,
    EventDraft,
    Journal,
    JournalClosedError,
    JournalDamagedError,
    JournalError,
    JournalInputError,
    JournalLockedError,
    JournalPolicy,
    JournalReader,
    verify_journal,
)
from edge.journal.note import open_checkpoint
from tests.conftest import draft


def raw(station_dir: Path) -> sqlite3.Connection:
    """A connection behind the journal's back, as an attacker or a bad tool would have."""
    return sqlite3.connect(station_dir / "journal.db", isolation_level=None)


def test_appended_event_is_stored_as_hashed_canonical_json(
    journal: Journal, station_dir: Path
) -> None:
    event = journal.append(draft(code="1ZRT0000000001", symbology="code128"))
    stored = raw(station_dir).execute("SELECT body, hash FROM events WHERE seq = 1").fetchone()
    body = json.loads(stored[0])
    # Independent recomputation: RFC 8785 bytes of the stored fields, RFC 9162 leaf hash.
    assert bytes(stored[0]) == rfc8785.dumps(body)
    assert hashlib.sha256(b"\x00" + bytes(stored[0])).hexdigest() == event.hash == stored[1].hex()
    assert body["payload"] == {"code": "1ZRT0000000001", "symbology": "code128"}
    assert (body["seq"], body["prev"], body["site"], body["station"]) == (
        1,
        None,
        "ams-1",
        "dock-1",
    )
    assert uuid.UUID(body["event_id"]).version == 7
    assert body["ts"].endswith("Z") and body["clock"] in {"synced", "unsynced"}
    assert journal.reader.event(1) == event


def test_seq_is_gap_free_and_each_event_links_to_the_previous(journal: Journal) -> None:
    events = [journal.append(draft(n=i)) for i in range(10)]
    assert [e.seq for e in events] == list(range(1, 11))
    assert [e.prev for e in events[1:]] == [e.hash for e in events[:-1]]


def test_concurrent_appends_share_transactions_and_lose_nothing(journal: Journal) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def worker(w: int) -> None:
        for i in range(40):
            seq = journal.append(draft(worker=w, i=i)).seq
            with lock:
                results.append(seq)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(1, 321))
    stats = journal.stats()
    assert stats.appended == 320
    assert stats.commits < 320, "appends that arrive together must share a commit"
    payloads = {(e.payload["worker"], e.payload["i"]) for e in journal.reader.events()}
    assert len(payloads) == 320


def test_append_many_is_all_or_nothing(journal: Journal) -> None:
    journal.append(draft())
    batch = [draft(i=1), draft(i=2), draft(bad=float("nan")), draft(i=4)]
    with pytest.raises(JournalInputError, match="not JSON-serialisable"):
        journal.append_many(batch)
    assert journal.reader.size() == 1
    assert [e.seq for e in journal.append_many([draft(i=1), draft(i=2)])] == [2, 3]


class PausableClock:
    """The journal's clock, which can hold the writer thread inside a commit, so the test
    decides which appends arrive together (one group) instead of leaving it to timing."""

    def __init__(self) -> None:
        self.armed = threading.Event()
        self.release = threading.Event()
        self.holding = threading.Event()

    def __call__(self) -> datetime:
        if self.armed.is_set() and not self.release.is_set():
            self.holding.set()
            self.release.wait(10)
        return datetime.now(UTC)


def wait_for_queue(journal: Journal, depth: int) -> None:
    deadline = time.monotonic() + 10
    while journal._queued < depth:  # handed to the writer, not yet committed
        assert time.monotonic() < deadline, "appends never reached the writer's queue"
        time.sleep(0.005)


def test_one_bad_append_in_a_group_does_not_fail_the_others(station_dir: Path) -> None:
    clock = PausableClock()
    with Journal(station_dir, site="ams-1", station="dock-1", now=clock) as journal:
        clock.armed.set()
        outcomes: dict[int, int | Exception] = {}

        def append(i: int, d: EventDraft) -> None:
            try:
                outcomes[i] = journal.append(d).seq
            except JournalInputError as exc:
                outcomes[i] = exc

        first = threading.Thread(target=append, args=(0, draft(i=0)))
        first.start()
        assert clock.holding.wait(10)  # the writer is inside the first commit
        rest = [
            threading.Thread(target=append, args=(i, draft(i=i) if i != 5 else draft(huge=2**60)))
            for i in range(1, 12)
        ]
        for t in rest:
            t.start()
        wait_for_queue(journal, 11)  # all eleven will be taken as one group
        clock.release.set()
        for t in [first, *rest]:
            t.join()
        assert isinstance(outcomes.pop(5), JournalInputError)
        assert sorted(outcomes.values()) == list(range(1, 12))  # type: ignore[type-var]
        assert journal.stats().commits == 2
    assert verify_journal(station_dir / "journal.db").ok


def test_a_cancelled_caller_does_not_fail_the_others_in_its_group(station_dir: Path) -> None:
    clock = PausableClock()
    with Journal(station_dir, site="ams-1", station="dock-1", now=clock) as journal:
        clock.armed.set()
        results: dict[str, int] = {}
        first = threading.Thread(
            target=lambda: results.update(first=journal.append(draft(i=0)).seq)
        )
        first.start()
        assert clock.holding.wait(10)

        async def cancel_one() -> None:
            task = asyncio.ensure_future(journal.append_async(draft(i=1)))
            await asyncio.sleep(0)  # the append is now queued
            task.cancel()
            await asyncio.sleep(0)

        asyncio.run(cancel_one())
        last = threading.Thread(target=lambda: results.update(last=journal.append(draft(i=2)).seq))
        last.start()
        wait_for_queue(journal, 2)
        clock.release.set()
        first.join()
        last.join()
        assert results == {"first": 1, "last": 2}
        assert [e.payload["i"] for e in journal.reader.events()] == [0, 2]
    assert verify_journal(station_dir / "journal.db").ok


def test_appends_racing_close_either_land_or_are_refused(station_dir: Path) -> None:
    journal = Journal(station_dir, site="ams-1", station="dock-1")
    landed: list[int] = []
    refused: list[Exception] = []

    def keep_appending() -> None:
        for i in range(10_000):
            try:
                landed.append(journal.append(draft(i=i), timeout=10).seq)
            except JournalClosedError as exc:
                refused.append(exc)
                return

    workers = [threading.Thread(target=keep_appending) for _ in range(4)]
    for t in workers:
        t.start()
    time.sleep(0.05)
    journal.close()
    for t in workers:
        t.join(15)
        assert not t.is_alive(), "an append racing close() never returned"
    assert len(refused) == 4
    with JournalReader(station_dir / "journal.db") as reader:
        assert sorted(landed) == list(range(1, reader.size() + 1))
        latest = reader.latest_checkpoint()
        assert latest is not None and latest.size == reader.size()


def test_a_failed_startup_checkpoint_releases_the_journal(station_dir: Path) -> None:
    policy = JournalPolicy(checkpoint_every_events=1000, checkpoint_every_seconds=3600)
    with Journal(station_dir, site="ams-1", station="dock-1", policy=policy) as journal:
        journal.append_many([draft(i=i) for i in range(5)])
        journal.checkpoint()
        journal.append(draft(i=5))
        # Leave seq 6 unsigned, as a power cut before the next checkpoint would.
        conn = raw(station_dir)
        conn.execute(
            "CREATE TRIGGER no_signing BEFORE INSERT ON checkpoints "
            "BEGIN SELECT RAISE(ABORT, 'storage refused the checkpoint'); END"
        )
    for _ in range(2):  # the second attempt must meet the same fault, not a stale lock
        with pytest.raises(JournalError, match="storage refused the checkpoint"):
            Journal(station_dir, policy=policy)
    conn.execute("DROP TRIGGER no_signing")
    with Journal(station_dir, policy=policy) as journal:
        assert journal.stats().signed_size == 6


def test_the_shared_reader_survives_a_caller_closing_it(journal: Journal) -> None:
    journal.append(draft())
    with journal.reader as reader:
        assert reader.size() == 1
    journal.append(draft())
    assert journal.checkpoint() is not None
    assert journal.reader.size() == 2


@pytest.mark.parametrize(
    ("kind", "value"),
    [("site", "ams 1"), ("station", "x" * 65), ("station", "../dock"), ("site", "")],
)
def test_site_and_station_ids_are_checked_before_anything_is_created(
    station_dir: Path, kind: str, value: str
) -> None:
    ids = {"site": "ams-1", "station": "dock-1", kind: value}
    with pytest.raises(JournalInputError, match=f"{kind} id"):
        Journal(station_dir, **ids)
    assert not (station_dir / "journal.db").exists()


def test_a_float_that_would_not_verify_is_refused_and_others_are_kept(journal: Journal) -> None:
    with pytest.raises(JournalInputError, match="does not read back as itself"):
        journal.append(draft(grams=1e20))
    kept = journal.append(draft(tare_fraction=0.25, grams="412.5"))
    assert kept.seq == 1
    assert verify_journal(journal.path).ok


def test_a_refused_payload_does_not_echo_its_values() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as refused:
        EventDraft.model_validate(
            {"type": "operator.signed_in", "subject": "op-1", "operator": "op-1",
             "payload": {"badge": {"pin": "4321"}}}
        )  # fmt: skip
    assert "4321" not in str(refused.value)


def test_append_async_from_an_event_loop(journal: Journal) -> None:
    async def scan_burst() -> list[int]:
        events = await asyncio.gather(*(journal.append_async(draft(i=i)) for i in range(20)))
        return sorted(e.seq for e in events)

    assert asyncio.run(scan_burst()) == list(range(1, 21))


def test_checkpoint_every_64_events_and_at_close(station_dir: Path) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1") as journal:
        journal.append_many([draft(i=i) for i in range(63)])
        assert journal.reader.latest_checkpoint() is None
        journal.append(draft(i=63))
        latest = journal.reader.latest_checkpoint()
        assert latest is not None and latest.size == 64
        journal.append(draft(i=64))
        verifier = journal.verifier
    with JournalReader(station_dir / "journal.db") as reader:
        final = reader.latest_checkpoint()
        assert final is not None and final.size == 65
        body = open_checkpoint(final.note, verifier, "ams-1/dock-1")
        assert body.root == reader.root_at(65)


def test_checkpoint_on_the_time_cadence(station_dir: Path) -> None:
    policy = JournalPolicy(checkpoint_every_seconds=0.2)
    with Journal(station_dir, site="ams-1", station="dock-1", policy=policy) as journal:
        journal.append(draft())
        deadline = time.monotonic() + 10
        while journal.reader.latest_checkpoint() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        latest = journal.reader.latest_checkpoint()
        assert latest is not None and latest.size == 1


def test_checkpoints_never_shrink_and_rows_never_change(
    journal: Journal, station_dir: Path
) -> None:
    journal.append_many([draft(i=i) for i in range(5)])
    journal.checkpoint()
    conn = raw(station_dir)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE events SET subject = 'RET-forged' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM events WHERE seq = 5")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM checkpoints")
    with pytest.raises(sqlite3.IntegrityError, match="gap-free"):
        conn.execute(
            "INSERT INTO events SELECT 9, event_id, type, subject, ts, body, hash, nodes "
            "FROM events WHERE seq = 1"
        )
    with pytest.raises(sqlite3.IntegrityError, match="more events"):
        conn.execute("INSERT INTO checkpoints SELECT 3, root, note, signed_at FROM checkpoints")


def test_a_second_writer_is_refused_with_a_clear_message(
    journal: Journal, station_dir: Path
) -> None:
    with pytest.raises(JournalLockedError, match=r"locked by another writer \(pid \d+\)"):
        Journal(station_dir)
    journal.append(draft())  # the first writer is unaffected
    with JournalReader(station_dir / "journal.db") as reader:  # readers are never refused
        assert reader.size() == 1


def test_reopening_continues_the_chain(station_dir: Path) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1") as journal:
        last = journal.append_many([draft(i=i) for i in range(70)])[-1]
    with Journal(station_dir) as journal:
        assert (journal.site, journal.station, journal.size) == ("ams-1", "dock-1", 70)
        nxt = journal.append(draft())
    assert (nxt.seq, nxt.prev) == (71, last.hash)
    assert verify_journal(station_dir / "journal.db").ok


def test_a_journal_belongs_to_one_station(station_dir: Path) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1"):
        pass
    with pytest.raises(JournalError, match="belongs to station 'dock-1'"):
        Journal(station_dir, station="dock-2")
    with pytest.raises(JournalError, match="give a site and station"):
        Journal(station_dir.parent / "new")


def test_attachments_must_be_in_the_blob_store_first(journal: Journal) -> None:
    missing = hashlib.sha256(b"photo that was never stored").hexdigest()
    with pytest.raises(JournalInputError, match="not in the blob store"):
        journal.append(
            EventDraft(
                type="photo.captured", subject="RET-1", operator="op-1", attachments=(missing,)
            )
        )
    sha = journal.blobs.put(b"\xff\xd8\xff\xe0 jpeg bytes")
    event = journal.append(
        EventDraft(type="photo.captured", subject="RET-1", operator="op-1", attachments=(sha,))
    )
    assert event.attachments == (sha,)
    assert (journal.blobs.root / sha[:2] / sha[2:]).read_bytes() == b"\xff\xd8\xff\xe0 jpeg bytes"
    assert journal.reader.size() == 1


def test_attachments_of_a_range_skip_events_without_any_and_list_each_blob_once(
    journal: Journal,
) -> None:
    photos = [journal.blobs.put(f"photo {i}".encode()) for i in range(3)]
    drafts = [draft(i=i) for i in range(10)]
    drafts[2] = EventDraft(
        type="photo.captured", subject="RET-2", operator="op-1", attachments=(photos[1],)
    )
    drafts[5] = EventDraft(
        type="photo.captured",
        subject="RET-5",
        operator="op-1",
        attachments=(photos[0], photos[1], photos[2]),
    )
    drafts[7] = EventDraft(
        type="photo.captured", subject="RET-7", operator="op-1", attachments=(photos[2],)
    )
    journal.append_many(drafts)
    everything = [e.attachments for e in journal.reader.events()]  # parsed in full
    expected = list(dict.fromkeys(name for names in everything for name in names))
    assert expected == [photos[1], photos[0], photos[2]]
    assert journal.reader.attachments(1, 10) == expected
    assert journal.reader.attachments(4, 7) == [photos[0], photos[1], photos[2]]
    assert journal.reader.attachments(7, 8) == [photos[2]]
    assert journal.reader.attachments(9, 10) == []


def test_clock_state_and_utc_timestamp_come_from_the_journal(station_dir: Path) -> None:
    fixed = datetime(1970, 1, 1, 0, 0, 42, tzinfo=UTC)  # a Pi that booted without NTP
    with Journal(station_dir, site="ams-1", station="dock-1", now=lambda: fixed) as journal:
        event = journal.append(draft())
    assert event.ts == fixed
    assert event.clock is ClockState.UNSYNCED
    stored = JournalReader(station_dir / "journal.db").event(1)
    assert stored.ts == fixed and stored.clock is ClockState.UNSYNCED


def test_startup_refuses_a_history_edited_behind_its_back(station_dir: Path) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1") as journal:
        journal.append_many([draft(i=i) for i in range(100)])
    conn = raw(station_dir)
    conn.execute("DROP TRIGGER events_no_update")
    forged = hashlib.sha256(b"\x00forged").digest()
    conn.execute("UPDATE events SET hash = ? WHERE seq = 10", (forged,))
    with pytest.raises(JournalDamagedError, match="seq 10"):
        Journal(station_dir)


def test_startup_refuses_an_edited_unsigned_tail(station_dir: Path) -> None:
    policy = JournalPolicy(checkpoint_every_events=1000, checkpoint_every_seconds=3600)
    with Journal(station_dir, site="ams-1", station="dock-1", policy=policy) as journal:
        journal.append_many([draft(i=i) for i in range(64)])
        journal.checkpoint()
    conn = raw(station_dir)
    conn.execute("DROP TRIGGER checkpoints_grow")
    conn.execute("DROP TRIGGER events_no_update")
    # Tail after the last checkpoint: edit the bytes (not the stored hash) of seq 64's successor.
    with Journal(station_dir, policy=policy) as journal:
        journal.append(draft(i=64))
    conn.execute("DROP TRIGGER checkpoints_no_delete")
    conn.execute("DELETE FROM checkpoints WHERE size = 65")
    body = conn.execute("SELECT body FROM events WHERE seq = 65").fetchone()[0]
    conn.execute("UPDATE events SET body = ? WHERE seq = 65", (body.replace(b'"i":64', b'"i":99'),))
    with pytest.raises(JournalDamagedError, match="seq 65"):
        Journal(station_dir, policy=policy)


def test_startup_refuses_a_swapped_station_key(station_dir: Path) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1") as journal:
        journal.append(draft())
    key = station_dir / "keys" / "station.key"
    key.unlink()
    with pytest.raises(JournalDamagedError, match="not the key this journal was created with"):
        Journal(station_dir)


def test_station_key_is_private(station_dir: Path) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1"):
        pass
    key = station_dir / "keys" / "station.key"
    assert key.stat().st_mode & 0o777 == 0o600
    key.chmod(0o644)
    with pytest.raises(JournalError, match="readable by others"):
        Journal(station_dir)


def test_closed_journal_refuses_appends(station_dir: Path) -> None:
    journal = Journal(station_dir, site="ams-1", station="dock-1")
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.append(draft())
