"""The custody journal: one writer thread, group commit, signed checkpoints, start-up check."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import uuid6

from edge.journal import merkle
from edge.journal.blobs import BlobStore
from edge.journal.clock import ClockState, clock_state
from edge.journal.errors import (
    JournalClosedError,
    JournalDamagedError,
    JournalError,
    JournalInputError,
    JournalLockedError,
)
from edge.journal.events import (
    EVENT_VERSION,
    CustodyEvent,
    EventDraft,
    check_event_size,
    check_station_id,
    event_bytes,
    format_ts,
    is_plain,
)
from edge.journal.files import private_database, private_dir, private_file
from edge.journal.keys import load_or_create_signer
from edge.journal.note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    check_key_name,
    open_checkpoint,
    sign_note,
)
from edge.journal.reader import JournalReader, event_from_row
from edge.journal.schema import connect, migrate, translate
from edge.wal_checkpoints import WalCheckpointer, defer_checkpoints

log = logging.getLogger(__name__)

JOURNAL_FILE = "journal.db"
LOCK_FILE = "journal.lock"
_STOP = object()
_TICK = object()  # wakes the writer to (re)start its checkpoint timer


@dataclass(frozen=True)
class JournalPolicy:
    """Group-commit and checkpoint cadence."""

    max_group_events: int = 100
    checkpoint_every_events: int = 64
    checkpoint_every_seconds: float = 10.0


@dataclass
class _TreeState:
    size: int = 0
    prev: str | None = None
    tree: merkle.CompactRange = field(default_factory=merkle.CompactRange)

    def copy(self) -> _TreeState:
        return _TreeState(self.size, self.prev, self.tree.copy())


@dataclass
class _Request:
    drafts: Sequence[EventDraft]
    future: Future[list[CustodyEvent]]


@dataclass
class _WriterState:
    """Everything the writer thread owns."""

    tree: _TreeState
    signed_size: int
    first_unsigned_at: float | None
    clock: ClockState = ClockState.UNSYNCED
    clock_read_at: float = float("-inf")
    commits: int = 0  # transactions that appended events
    appended: int = 0  # events appended since open


@dataclass(frozen=True)
class JournalStats:
    size: int
    signed_size: int
    commits: int
    appended: int


def default_origin(site: str, station: str) -> str:
    return f"{site}/{station}"


def _acquire_lock(path: Path) -> IO[str]:
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise JournalLockedError(
            f"journal {path.parent / JOURNAL_FILE} is locked by another writer (pid {holder}); "
            "stop that process (is the station hub running?) or use read-only commands"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


class Journal:
    """The station's custody journal. Only one Journal per file exists at a time (file lock)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        site: str | None = None,
        station: str | None = None,
        origin: str | None = None,
        policy: JournalPolicy | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        for kind, value in (("site", site), ("station", station)):
            if value is not None:
                check_station_id(kind, value)
        if origin is not None:
            try:
                check_key_name(origin)
            except NoteError as exc:
                raise JournalInputError(f"origin {origin!r}: {exc}") from exc
        self.data_dir = data_dir
        self.path = data_dir / JOURNAL_FILE
        self.policy = policy or JournalPolicy()
        self._now = now or (lambda: datetime.now(UTC))
        # Taking requests and stopping are one atomic step, so no request is queued after the
        # writer's last look at the queue.
        self._gate = threading.Lock()
        # Held by whoever commits: the writer thread, or a blocking caller who found the writer
        # idle and commits its own request (one thread hand-off less per append).
        self._write_lock = threading.RLock()
        self._accepting = False
        self._queued = 0  # requests handed to the writer and not yet committed by it
        self._readers: list[JournalReader] = []
        private_dir(data_dir)
        self._lock = _acquire_lock(private_file(data_dir / LOCK_FILE))
        self._conn: sqlite3.Connection | None = None
        self._checkpointer: WalCheckpointer | None = None
        try:
            self._conn = connect(private_database(self.path))
            defer_checkpoints(self._conn)
            quick = self._conn.execute("PRAGMA quick_check").fetchone()[0]
            if quick != "ok":
                raise translate(sqlite3.DatabaseError(quick), self.path)
            migrate(self._conn, self.path)
            self.site, self.station, self.origin, self.signer = self._load_or_init_meta(
                site, station, origin
            )
            self._check_key()
            self.blobs = BlobStore(data_dir / "blobs")
            self._state = self._startup_check()
            self._checkpointer = WalCheckpointer(self.path)
            self._checkpointer.start()
        except BaseException:
            self._release()
            raise
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._reader_local = threading.local()
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._accepting = True
        self._thread.start()
        if self._state.tree.size > self._state.signed_size:
            try:
                self.checkpoint()  # events that a crash left unsigned
            except BaseException:
                self.close()
                raise

    # -- public API --

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    @property
    def writable(self) -> bool:
        """The writer thread runs and takes requests."""
        return self._accepting and self._thread.is_alive()

    @property
    def size(self) -> int:
        return self._state.tree.size

    def stats(self) -> JournalStats:
        s = self._state
        return JournalStats(s.tree.size, s.signed_size, s.commits, s.appended)

    def append(self, draft: EventDraft, timeout: float | None = None) -> CustodyEvent:
        """Append one event; returns after its COMMIT (fsynced)."""
        return self._submit([draft], blocking=True).result(timeout)[0]

    def append_many(
        self, drafts: Sequence[EventDraft], timeout: float | None = None
    ) -> list[CustodyEvent]:
        """Append events in one transaction: all or none."""
        if not drafts:
            return []
        return self._submit(list(drafts), blocking=True).result(timeout)

    async def append_async(self, draft: EventDraft) -> CustodyEvent:
        events = await asyncio.wrap_future(self._submit([draft]))
        return events[0]

    def checkpoint(self) -> Checkpoint | None:
        """Sign a checkpoint at the current size now (None if nothing new since the last)."""
        future: Future[list[CustodyEvent]] = Future()
        self._put(_Request((), future))
        future.result()
        latest = self.reader.latest_checkpoint()
        return open_checkpoint(latest.note, self.verifier) if latest else None

    def record_cosignature(self, size: int, cosigner: str, line: str) -> bool:
        """Keep an upstream's cosignature line over our checkpoint at `size` (verified by the
        caller); False if one by that cosigner is already kept. Blocks for the fsync."""
        with self._write_lock:  # then close() waits for us before it releases the file
            with self._gate:
                if not self._accepting or self._conn is None:
                    raise JournalClosedError(f"journal {self.path} is closed")
            try:
                cursor = self._conn.execute(
                    "INSERT OR IGNORE INTO cosignatures (size, cosigner, line, received_at) "
                    "SELECT size, ?, ?, ? FROM checkpoints WHERE size = ?",
                    (cosigner, line, format_ts(self._now()), size),
                )
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from exc
        return cursor.rowcount > 0

    @property
    def reader(self) -> JournalReader:
        """A query-only connection for the calling thread (reopened if a caller closed it)."""
        reader: JournalReader | None = getattr(self._reader_local, "reader", None)
        if reader is None or reader.closed:
            reader = JournalReader(self.path)
            self._reader_local.reader = reader
            with self._gate:
                self._readers = [r for r in self._readers if not r.closed] + [reader]
        return reader

    def close(self) -> None:
        """Sign a final checkpoint, stop the writer, release the file."""
        with self._gate:
            if not self._accepting:
                return
            self._accepting = False
            self._queue.put(_STOP)
        self._thread.join()
        with self._gate:
            readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()
        self._release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- opening --

    def _load_or_init_meta(
        self, site: str | None, station: str | None, origin: str | None
    ) -> tuple[str, str, str, Signer]:
        """The journal's identity and the station key, loaded (or created) once."""
        assert self._conn is not None
        meta = dict(self._conn.execute("SELECT key, value FROM journal_meta").fetchall())
        if meta:
            for name, given in (("site", site), ("station", station), ("origin", origin)):
                if given is not None and given != meta.get(name):
                    raise JournalError(
                        f"journal at {self.path} belongs to {name} {meta.get(name)!r}, "
                        f"not {given!r}"
                    )
            signer = load_or_create_signer(self.data_dir / "keys", meta["origin"])
            return meta["site"], meta["station"], meta["origin"], signer
        if not site or not station:
            raise JournalError(
                f"no journal at {self.path} yet: give a site and station to create one"
            )
        origin = origin or default_origin(site, station)
        signer = load_or_create_signer(self.data_dir / "keys", origin)
        rows = {
            "site": site,
            "station": station,
            "origin": origin,
            "verifier": signer.verifier.encode(),
            "created_at": format_ts(self._now()),
        }
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany("INSERT INTO journal_meta VALUES (?, ?)", rows.items())
            self._conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise translate(exc, self.path) from exc
        log.info("created journal path=%s site=%s station=%s", self.path, site, station)
        return site, station, origin, signer

    def _check_key(self) -> None:
        assert self._conn is not None
        stored = self._conn.execute(
            "SELECT value FROM journal_meta WHERE key = 'verifier'"
        ).fetchone()[0]
        if stored != self.signer.verifier.encode():
            raise JournalDamagedError(
                f"station key in {self.data_dir / 'keys'} is not the key this journal was "
                "created with; refusing to sign its history with another key"
            )

    def _damaged(self, seq: int, why: str) -> JournalDamagedError:
        message = f"custody journal {self.path} is damaged at seq {seq}: {why}"
        log.critical("ALARM journal damaged path=%s seq=%d reason=%s", self.path, seq, why)
        return JournalDamagedError(message)

    def _startup_check(self) -> _WriterState:
        """Recompute the tree from stored leaves; it must match every checkpoint root and the
        latest checkpoint's signature; events after it are re-hashed from their bytes."""
        with JournalReader(self.path) as reader:
            checkpoints = reader.checkpoints()
            roots = {cp.size: cp.root for cp in checkpoints}
            latest = checkpoints[-1] if checkpoints else None
            if latest is not None:
                try:
                    body = open_checkpoint(latest.note, self.verifier, self.origin)
                except NoteError as exc:
                    raise self._damaged(
                        latest.size, f"latest checkpoint does not verify: {exc}"
                    ) from exc
                if body.size != latest.size or body.root != latest.root:
                    raise self._damaged(latest.size, "checkpoint row differs from its signed note")
            signed = latest.size if latest else 0
            state = _TreeState()
            for seq, leaf, nodes in reader.leaf_rows():
                if seq != state.size + 1:
                    raise self._damaged(state.size + 1, f"seq {state.size + 1} is missing")
                if seq > signed:
                    leaf = self._recheck_tail_event(reader, seq, leaf, state.prev)
                completed = state.tree.append(leaf)
                if b"".join(completed) != nodes:
                    raise self._damaged(seq, "stored subtree hashes differ from recomputed ones")
                state.size, state.prev = seq, leaf.hex()
                if seq in roots and roots[seq] != state.tree.root():
                    raise self._damaged(seq, "recomputed root differs from the signed checkpoint")
            if state.size < signed:
                raise self._damaged(
                    state.size + 1, f"checkpoint covers {signed} events, found {state.size}"
                )
        log.info("journal ok path=%s size=%d signed=%d", self.path, state.size, signed)
        return _WriterState(state, signed, time.monotonic() if state.size > signed else None)

    def _recheck_tail_event(
        self, reader: JournalReader, seq: int, leaf: bytes, prev: str | None
    ) -> bytes:
        body = reader.canonical_body(seq)
        if merkle.leaf_hash(body) != leaf:
            raise self._damaged(seq, "event bytes do not hash to the stored hash")
        try:
            event = event_from_row(body, leaf)
        except ValueError as exc:
            raise self._damaged(seq, f"event does not parse: {exc}") from exc
        if event.prev != prev or event.seq != seq:
            raise self._damaged(seq, "event does not chain onto the previous one")
        return leaf

    def _release(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._lock.close()

    # -- the writer thread --

    def _put(self, request: _Request) -> None:
        with self._gate:
            if not self._accepting:
                raise JournalClosedError(f"journal {self.path} is closed")
            self._queue.put(request)
            self._queued += 1

    def _submit(
        self, drafts: list[EventDraft], *, blocking: bool = False
    ) -> Future[list[CustodyEvent]]:
        """Queue the drafts for the writer; a `blocking` caller (one that waits for the result
        anyway, never the event loop) commits them itself when the writer is idle."""
        for draft in drafts:
            if not isinstance(draft, EventDraft):
                raise JournalInputError(f"expected an EventDraft, got {type(draft).__name__}")
        future: Future[list[CustodyEvent]] = Future()
        request = _Request(drafts, future)
        if blocking and self._queue.empty() and self._write_lock.acquire(blocking=False):
            try:
                with self._gate:
                    if not self._accepting:
                        raise JournalClosedError(f"journal {self.path} is closed")
                future.set_running_or_notify_cancel()
                unsigned_before = self._state.first_unsigned_at is not None
                self._guarded([request], force_checkpoint=False)
                if not unsigned_before and self._state.first_unsigned_at is not None:
                    self._queue.put(_TICK)  # the writer's checkpoint timer starts now
            finally:
                self._write_lock.release()
            return future
        self._put(request)
        return future

    def _checkpoint_due_in(self) -> float | None:
        started = self._state.first_unsigned_at
        if started is None:
            return None
        return max(0.0, started + self.policy.checkpoint_every_seconds - time.monotonic())

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self._checkpoint_due_in())
            except queue.Empty:
                self._guarded([], force_checkpoint=True)
                continue
            if first is _STOP:
                break
            if first is _TICK:
                continue
            assert isinstance(first, _Request)
            # Whatever queues while a caller commits its own request goes in one group after it.
            with self._write_lock:
                group = [first]
                count = len(first.drafts)
                while count < self.policy.max_group_events:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        stopping = True
                        break
                    if more is _TICK:
                        continue
                    assert isinstance(more, _Request)
                    group.append(more)
                    count += len(more.drafts)
                # A caller that cancelled (an asyncio task, say) before we started is skipped;
                # once running, a future cannot be cancelled, so its result is deliverable.
                live = [r for r in group if r.future.set_running_or_notify_cancel()]
                self._guarded(live, force_checkpoint=any(not r.drafts for r in live))
                with self._gate:
                    self._queued -= len(group)
        self._guarded([], force_checkpoint=True)

    def _guarded(self, group: list[_Request], *, force_checkpoint: bool) -> None:
        try:
            with self._write_lock:
                self._commit(group, force_checkpoint=force_checkpoint)
        except Exception as exc:  # never let one bad group kill the writer
            log.exception("journal writer failed path=%s", self.path)
            error = (
                exc
                if isinstance(exc, JournalError)
                else JournalError(f"journal write failed: {exc}")
            )
            for request in group:
                if not request.future.done():
                    request.future.set_exception(error)

    def _clock(self) -> ClockState:
        now = time.monotonic()
        if now - self._state.clock_read_at > 1.0:
            self._state.clock = clock_state(self._now())
            self._state.clock_read_at = now
        return self._state.clock

    def _build(
        self,
        draft: EventDraft,
        tree: _TreeState,
        rows: list[tuple[Any, ...]],
        ts: datetime,
        ts_text: str,
    ) -> CustodyEvent:
        for sha256 in draft.attachments:
            if not self.blobs.has(sha256):
                raise JournalInputError(
                    f"attachment {sha256} is not in the blob store; store the blob first"
                )
        seq, prev = tree.size + 1, tree.prev
        event_id = uuid6.uuid7()
        clock = self._clock()
        body = {
            "v": EVENT_VERSION,
            "seq": seq,
            "event_id": str(event_id),
            "type": draft.type.value,
            "subject": draft.subject,
            "operator": draft.operator,
            "station": self.station,
            "site": self.site,
            "ts": ts_text,
            "clock": clock.value,
            "payload": draft.payload,
            "attachments": list(draft.attachments),
            "prev": prev,
        }
        # Every field but the payload is a str, small int, None or list of hex strings.
        data = check_event_size(event_bytes(body, plain=is_plain(draft.payload)))
        leaf = merkle.leaf_hash(data)
        completed = tree.tree.append(leaf)
        rows.append(
            (
                seq,
                body["event_id"],
                body["type"],
                draft.subject,
                ts_text,
                data,
                leaf,
                b"".join(completed),
            )
        )
        tree.size, tree.prev = seq, leaf.hex()
        return CustodyEvent.model_construct(
            v=EVENT_VERSION,
            seq=seq,
            event_id=event_id,
            type=draft.type,
            subject=draft.subject,
            operator=draft.operator,
            station=self.station,
            site=self.site,
            ts=ts,
            clock=clock,
            payload=draft.payload,
            attachments=draft.attachments,
            prev=prev,
            hash=leaf.hex(),
        )

    def _commit(self, group: list[_Request], *, force_checkpoint: bool) -> None:
        assert self._conn is not None
        state = self._state
        tree = state.tree.copy()
        rows: list[tuple[Any, ...]] = []
        # One checkpoint every `checkpoint_every_events` events, also inside one big commit (a
        # manifest page of 1000 records): replication sends batches that end at a checkpoint.
        checkpoint_rows: list[tuple[Any, ...]] = []
        signed = state.signed_size
        accepted: list[tuple[_Request, list[CustodyEvent]]] = []
        for request in group:
            before, mark, signed_before = tree.copy(), len(rows), (signed, len(checkpoint_rows))
            # One timestamp per request: the events of one append_many share one commit.
            ts = self._now().astimezone(UTC)
            ts_text = format_ts(ts)
            try:
                events = []
                for draft in request.drafts:
                    events.append(self._build(draft, tree, rows, ts, ts_text))
                    if tree.size - signed >= self.policy.checkpoint_every_events:
                        checkpoint_rows.append(self._checkpoint_row(tree))
                        signed = tree.size
            except JournalInputError as exc:
                tree, rows[mark:] = before, []
                signed, kept = signed_before
                checkpoint_rows[kept:] = []
                request.future.set_exception(exc)
                continue
            accepted.append((request, events))

        if force_checkpoint and tree.size > signed:
            checkpoint_rows.append(self._checkpoint_row(tree))
            signed = tree.size
        if rows or checkpoint_rows:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                if rows:
                    self._conn.executemany(
                        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
                    )
                if checkpoint_rows:
                    self._conn.executemany(
                        "INSERT INTO checkpoints VALUES (?, ?, ?, ?)", checkpoint_rows
                    )
                self._conn.execute("COMMIT")
                if self._checkpointer is not None:
                    self._checkpointer.committed()
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                error = translate(exc, self.path)
                log.error(
                    "journal commit refused path=%s events=%d error=%s", self.path, len(rows), error
                )
                for request, _ in accepted:
                    request.future.set_exception(error)
                return
        state.tree = tree
        if rows:
            state.commits += 1
            state.appended += len(rows)
        if checkpoint_rows:
            state.signed_size = signed
            state.first_unsigned_at = None
        if tree.size > state.signed_size and state.first_unsigned_at is None:
            state.first_unsigned_at = time.monotonic()
        for request, events in accepted:
            request.future.set_result(events)

    def _checkpoint_row(self, tree: _TreeState) -> tuple[Any, ...]:
        body = Checkpoint(self.origin, tree.size, tree.tree.root())
        return (tree.size, body.root, sign_note(body.text(), self.signer), format_ts(self._now()))
