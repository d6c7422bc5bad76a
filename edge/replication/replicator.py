"""The replicator: sends the journal upstream in seq order, keeps the upstream's cosignatures,
uploads the blobs events name, and pulls the manifest feed. It runs inside the hub (or once,
from `edge replicate --once`).

It never drops anything: the journal is its only buffer, and it retries forever, backing off
with full jitter while the upstream is away and trying again at once when a probe finds it back.
It resumes from the upstream's answer, never from its own belief; an upstream that claims more
than the station holds, a fork, a cosignature that does not verify or a refused batch is an
alarm: shown in the status and the metrics, logged loudly, and retried slowly (at once when the
token file changes); the first round that succeeds clears it. Without a token file (a station
not registered upstream yet) it is off, and looks for the file every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from edge.journal import JOURNAL_FILE, JournalError, JournalReader
from edge.journal.blobs import BlobStore
from edge.journal.note import NoteError, parse_note
from edge.replication.batches import BatchOutOfReach, OutgoingBatch, next_batch
from edge.replication.client import (
    IngestAnswer,
    UpstreamAway,
    UpstreamClient,
    UpstreamRefused,
)
from edge.replication.figures import Refusal, ReplicatorStats, Status
from edge.replication.state import ReplicationState
from edge.replication.token import NoToken, TokenFile
from edge.upstream.cosign import CosignatureVerifier
from stations.manifest import ExpectedReturn, ManifestError

log = logging.getLogger(__name__)
ApplyManifest = Callable[[list[ExpectedReturn]], Awaitable[str]]
PROBE_INTERVAL_S = 2.0
BLOB_CHUNK_EVENTS = 500


_Prepared = tuple[OutgoingBatch, bytes] | None


class ReplicationAlarm(Exception):
    """Something a person must look at; replication waits and retries slowly."""


class JournalView(Protocol):
    """What the replicator needs of the journal: the hub's `Journal`, or `ReadOnlyJournal`."""

    @property
    def size(self) -> int: ...
    @property
    def reader(self) -> JournalReader: ...
    @property
    def blobs(self) -> BlobStore: ...
    def checkpoint(self) -> object: ...
    def record_cosignature(self, size: int, cosigner: str, line: str) -> bool: ...


class ReadOnlyJournal:
    """A journal another process writes (the running hub): replicate what is signed, keep no
    cosignatures (the hub keeps them when it next talks to the upstream)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / JOURNAL_FILE
        self.blobs = BlobStore(data_dir / "blobs")
        self._local = threading.local()

    @property
    def reader(self) -> JournalReader:
        reader: JournalReader | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = JournalReader(self.path)
            self._local.reader = reader
        return reader

    @property
    def size(self) -> int:
        return self.reader.size()

    def checkpoint(self) -> None:
        return None  # only the writer signs

    def record_cosignature(self, size: int, cosigner: str, line: str) -> bool:
        return False


_InFlight = deque[tuple[OutgoingBatch, asyncio.Future[IngestAnswer]]]


@dataclass
class _Pipeline:
    """Batches on the wire, in order, and the next one being read."""

    sent: int  # the last seq sent or held
    inflight: _InFlight = field(default_factory=deque)
    ready: asyncio.Future[_Prepared] | None = None

    def restart(self, held: int) -> None:
        self.sent = held
        if self.ready is not None:
            self.ready.cancel()
            self.ready.add_done_callback(_retrieved)
            self.ready = None

    def abandon(self) -> None:
        for _, request in self.inflight:
            request.cancel()
            request.add_done_callback(_retrieved)
        self.inflight.clear()
        self.restart(self.sent)


@dataclass
class Replicator:
    journal: JournalView
    state: ReplicationState
    client: UpstreamClient
    apply_manifest: ApplyManifest | None = None
    cosigner: CosignatureVerifier | None = None
    token: TokenFile | None = None  # read before each round; None: the client has its own
    batch_events: int = 500
    in_flight: int = 3  # batches on the wire at once (the upstream stores them in order)
    sign_after_s: float = 2.0
    manifest_every_s: float = 30.0
    backoff_min_s: float = 1.0
    backoff_max_s: float = 60.0
    on_progress: Callable[[int, int], None] | None = None  # (upstream size, journal size)
    stats: ReplicatorStats = field(default_factory=ReplicatorStats)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _unsigned_since: float | None = None
    _manifest_due: float = 0.0
    _failures: int = 0
    _token_in_use: str | None = None

    def __post_init__(self) -> None:
        self.stats.upstream_size = self.state.read().upstream_size

    def wake(self) -> None:
        """New events were appended (call on the loop's thread)."""
        self._wake.set()

    # -- the loop --

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.sync()
            except NoToken as exc:
                self.note_off(str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=PROBE_INTERVAL_S)
                continue
            except UpstreamAway as exc:
                self.note_failure("away", str(exc))
                await self._back_off(stop, probe=True)
                continue
            except (UpstreamRefused, ReplicationAlarm) as exc:
                self.note_failure("alarm", str(exc))
                await self._back_off(stop, probe=False)
                continue
            except Exception as exc:  # a bug must not stop replication for good
                log.exception("replication failed")
                self.note_failure("away", f"{type(exc).__name__}: {exc}")
                await self._back_off(stop, probe=False)
                continue
            self._failures = 0
            await self._idle(stop)

    async def sync(self) -> int:
        """Send what is not upstream yet, then blobs, then the manifest when due; the upstream
        size it ended at. Raises what stops a round."""
        await self._use_token()
        held = await self.send_events()
        await self.send_blobs(held)
        if self.apply_manifest is not None and time.monotonic() >= self._manifest_due:
            await self.pull_manifest()
            self._manifest_due = time.monotonic() + self.manifest_every_s
        now = _now()
        stats = self.stats
        stats.status, stats.last_ok_at, stats.alarm, stats.problem = "idle", now, "", ""
        if stats.refusal is not None:
            log.info("replication alarm cleared: the upstream took events through %d", held)
            stats.refusal = None
        self.state.write(last_ok_at=now, last_error="", alarm="")
        return held

    async def _use_token(self) -> None:
        """The token file as it is now: a new token is used from this round on."""
        if self.token is None:
            return
        await asyncio.to_thread(self.token.refresh)
        if self.token.token is None:
            raise NoToken(self.token.problem)
        if self.token.token != self._token_in_use:
            if self._token_in_use is not None:
                log.info("upstream token file changed; using the new token")
            self.client.use_token(self.token.token)
            self._token_in_use = self.token.token

    async def _idle(self, stop: asyncio.Event) -> None:
        self._wake.clear()
        if self._pending_tail():
            timeout = max(0.05, self.sign_after_s)
        else:
            due = self._manifest_due if self.apply_manifest is not None else float("inf")
            timeout = max(0.05, due - time.monotonic())
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=min(timeout, 5.0), return_when="FIRST_COMPLETED")
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _pending_tail(self) -> bool:
        return self.journal.size > self.stats.upstream_size

    def note_failure(self, status: Status, message: str) -> None:
        self._failures += 1
        self.stats.status = status
        self.stats.last_error = message
        self.stats.count("failed" if status == "away" else "alarm")
        if status == "alarm":
            self.stats.alarm = message
            log.error("replication alarm: %s", message)
            self.state.write(last_error="", alarm=message[:500])
        else:
            log.warning("upstream away: %s", message)
            self.state.write(last_error=message[:500])

    def note_off(self, problem: str) -> None:
        """Replication cannot start yet (no token): said once, then looked at quietly."""
        if problem != self.stats.problem:
            log.warning("replication off: %s", problem)
            self.state.write(last_error=problem[:500])
        self.stats.status, self.stats.problem = "off", problem

    async def _back_off(self, stop: asyncio.Event, *, probe: bool) -> None:
        """Exponential backoff with full jitter; while away, probe often and go at once when
        the upstream answers again."""
        ceiling = min(self.backoff_max_s, self.backoff_min_s * 2 ** min(self._failures, 16))
        delay = self.backoff_max_s if not probe and self.stats.status == "alarm" else ceiling
        delay = random.uniform(self.backoff_min_s, max(self.backoff_min_s, delay))
        self.stats.retry_in_s = round(delay, 1)
        deadline = time.monotonic() + delay
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(left, PROBE_INTERVAL_S))
            if stop.is_set():
                return
            if self.token is not None and await asyncio.to_thread(self.token.refresh):
                log.info("upstream token file changed; trying again now")
                return
            if probe and await self.client.alive():
                log.info("upstream answers again; resuming")
                return

    # -- events --

    async def send_events(self) -> int:
        """Send every signed event the upstream lacks; the upstream size it ended at.

        Up to `in_flight` batches are on the wire at once (the upstream checks one while it
        stores the one before), and the batch after them is read and encoded meanwhile. Answers
        are taken in order, and the next batch goes out before an answer is recorded (its
        cosignature costs an fsync). An answer that does not end where its batch ended (a gap:
        the upstream stands elsewhere, or a batch overtook the one before it) lets the rest
        land, then resumes from the upstream's head."""
        held = await self._resume()
        pipe = _Pipeline(held)
        try:
            while True:
                await self._top_up(pipe)
                if not pipe.inflight:
                    if pipe.sent >= self.journal.size:
                        return held
                    if not await self._sign_tail():
                        return held
                    continue
                batch, request = pipe.inflight.popleft()
                answer = await self._answer(batch, request)
                if not answer.gap:
                    await self._top_up(pipe)
                held = await self._settle(batch, answer)
                if held != batch.last:
                    await self._drain(pipe.inflight)
                    held = await self._resume()
                    pipe.restart(held)
        finally:  # a refusal or a stop: what is still on the wire is abandoned (resent later)
            pipe.abandon()

    async def _top_up(self, pipe: _Pipeline) -> None:
        """Put batches on the wire until `in_flight` are, or the next has no checkpoint yet."""
        while len(pipe.inflight) < max(1, self.in_flight) and pipe.sent < self.journal.size:
            read_ahead, pipe.ready = pipe.ready, None
            prepared = await (read_ahead or self._prepare(pipe.sent))
            if prepared is None and read_ahead is not None:
                # read before the journal grew (a burst signs while a batch is answered): the
                # journal has more now, so look again rather than wait for a signature
                prepared = await self._prepare(pipe.sent)
            if prepared is None:
                return
            batch, payload = prepared
            self._unsigned_since = None
            self.stats.status = "sending"
            pipe.inflight.append((batch, asyncio.ensure_future(self.client.ingest(payload))))
            pipe.sent = batch.last
            pipe.ready = asyncio.ensure_future(self._prepare(pipe.sent))

    async def _resume(self) -> int:
        """The upstream's head: what it holds of us, and the cosignature it last gave."""
        head = await self.client.head()
        held = self._check_claim(head.size)
        if head.cosignature and head.checkpoint_size:
            await self._keep_cosignature(head.checkpoint_size, head.cosignature)
        self._set_upstream(held)
        return held

    async def _drain(self, inflight: _InFlight) -> None:
        """Let batches already sent land (the upstream may store them) before asking its head;
        their answers count, refusals included."""
        while inflight:
            batch, request = inflight.popleft()
            await self._settle(batch, await self._answer(batch, request))

    async def _answer(
        self, batch: OutgoingBatch, request: asyncio.Future[IngestAnswer]
    ) -> IngestAnswer:
        """The upstream's answer to a batch; a refusal becomes an alarm naming its events."""
        try:
            return await request
        except UpstreamRefused as exc:
            refusal = Refusal.of(batch.first, batch.last, exc, _now())
            self.stats.refused_batches += 1
            self.stats.refusal = refusal
            raise ReplicationAlarm(refusal.describe()) from None

    async def _prepare(self, held: int) -> _Prepared:
        def read() -> _Prepared:
            batch = next_batch(self.journal.reader, held, self.batch_events)
            return None if batch is None else (batch, batch.encoded())

        try:
            return await asyncio.to_thread(read)
        except BatchOutOfReach as exc:
            raise ReplicationAlarm(str(exc)) from None

    async def _settle(self, batch: OutgoingBatch, answer: IngestAnswer) -> int:
        held = self._check_claim(answer.head.size)
        if answer.gap:
            self.stats.count("gap")
            log.info("upstream held %d when batch %d.. reached it", held, batch.first)
        else:
            self.stats.count("stored" if answer.stored else "held")
            self.stats.events_sent += answer.stored
            if answer.head.cosignature:
                await self._keep_cosignature(answer.head.checkpoint_size, answer.head.cosignature)
        if not answer.gap:
            self._set_upstream(held)
        return held

    def _check_claim(self, upstream_size: int) -> int:
        local = self.journal.size
        if upstream_size > local:  # rows committed that the writer has not counted yet?
            local = max(local, self.journal.reader.size())
        if upstream_size > local:
            raise ReplicationAlarm(
                f"upstream says it holds {upstream_size} events but this journal has {local}: "
                "this station lost data (a restored or replaced journal) or the upstream is "
                "confused; nothing is sent until a person checks"
            )
        return upstream_size

    def _set_upstream(self, held: int) -> None:
        self.stats.upstream_size = held
        self.state.write(upstream_size=held)
        if self.on_progress is not None:
            self.on_progress(held, self.journal.size)

    async def _sign_tail(self) -> bool:
        """Sign the unsigned tail once it has waited `sign_after_s`; True if signed."""
        now = time.monotonic()
        if self._unsigned_since is None:
            self._unsigned_since = now
        if now - self._unsigned_since < self.sign_after_s:
            return False
        self._unsigned_since = None
        before = await asyncio.to_thread(self._signed_size)
        await asyncio.to_thread(self.journal.checkpoint)
        return await asyncio.to_thread(self._signed_size) > before

    def _signed_size(self) -> int:
        latest = self.journal.reader.latest_checkpoint()
        return latest.size if latest else 0

    async def _keep_cosignature(self, size: int, line: str) -> None:
        try:
            stored = await asyncio.to_thread(self.journal.reader.checkpoint_at, size)
        except JournalError:  # signed at other sizes here (a restored journal): nothing to keep
            log.info("no checkpoint of ours at %d to keep the upstream's cosignature with", size)
            return
        if self.cosigner is not None:
            try:
                self.cosigner.verify(line, parse_note(stored.note).text)
            except NoteError as exc:
                raise ReplicationAlarm(
                    f"the upstream's cosignature over checkpoint {size} does not verify against "
                    f"ours ({exc}): it cosigned another history of this station (a fork), or "
                    "the profile's upstream.vkey is not the upstream's key"
                ) from None
            name = self.cosigner.name
        else:
            name = line.removeprefix("— ").split(" ", 1)[0]
        await asyncio.to_thread(self.journal.record_cosignature, size, name, line)

    # -- blobs --

    async def send_blobs(self, held: int) -> None:
        """Every blob an upstream-held event names, in seq order; remembered by watermark."""
        through = min(self.state.read().blobs_through, held)
        while through < held:
            end = min(held, through + BLOB_CHUNK_EVENTS)
            names = await asyncio.to_thread(self.journal.reader.attachments, through + 1, end)
            for sha256 in names:
                if await self.client.has_blob(sha256):
                    continue
                if not self.journal.blobs.has(sha256):
                    raise ReplicationAlarm(f"blob {sha256} named in the journal is not on disk")
                content = await asyncio.to_thread(self.journal.blobs.read, sha256)
                await self.client.put_blob(sha256, content)
                self.stats.blobs_sent += 1
            through = end
            self.state.write(blobs_through=through)

    # -- the manifest feed --

    async def pull_manifest(self) -> int:
        """Apply every page of the site's feed after our cursor; records applied."""
        memory = self.state.read()
        cursor, etag, applied = memory.manifest_cursor, memory.manifest_etag, 0
        while True:
            page = await self.client.manifest(cursor, etag)
            if page.unchanged:
                break
            if not page.records:  # up to date: next time the ETag makes it a 304
                self.state.write(manifest_etag=page.etag)
                break
            try:
                records = [ExpectedReturn.model_validate(r) for r in page.records]
            except ValueError as exc:
                raise ReplicationAlarm(f"manifest feed record refused: {exc}") from None
            assert self.apply_manifest is not None
            try:
                await self.apply_manifest(records)
            except (ManifestError, ValueError) as exc:
                raise ReplicationAlarm(f"manifest feed page refused: {exc}") from None
            except Exception as exc:
                if type(exc).__name__ == "WorkflowRefused":
                    raise ReplicationAlarm(f"manifest feed page refused: {exc}") from None
                raise
            applied += len(records)
            self.stats.manifest_records += len(records)
            cursor, etag = page.cursor, page.etag
            self.state.write(manifest_cursor=cursor, manifest_etag=etag)
            if not page.more:
                break
            etag = ""
        return applied

    def snapshot(self) -> dict[str, Any]:
        return self.stats.snapshot()


def _retrieved(future: asyncio.Future[Any]) -> None:
    """An abandoned request's outcome is of no use; reading it keeps asyncio from warning."""
    if not future.cancelled():
        future.exception()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
