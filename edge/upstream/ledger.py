"""The upstream ledger: stations, their journals, blobs, the manifest feed and the customer
view, over either store. One transaction per ingest batch, with the station's row locked."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson

from edge.journal.errors import JournalInputError
from edge.journal.events import check_station_id
from edge.journal.note import NoteError, Verifier
from edge.limits import MAX_STATION_BLOB_BYTES
from edge.upstream.cosign import Cosigner
from edge.upstream.ingest import (
    Accept,
    AlreadyHeld,
    CheckedBatch,
    Fork,
    Gap,
    InvalidBatch,
    StationHead,
    WireBatch,
    decide,
    decode_batch,
    overlap,
    precheck,
)
from edge.upstream.store import Store, StoreError, Tx, _now, lock_clause
from stations.manifest import ExpectedReturn, manifest_changes

log = logging.getLogger(__name__)
_EVENT_COLUMNS = (
    ("site", "text"), ("station", "text"), ("seq", "int8"), ("event_id", "text"),
    ("type", "text"), ("subject", "text"), ("return_ref", "text"), ("ts", "text"),
    ("body", "bytea"), ("hash", "bytea"),
)  # fmt: skip

# What a customer sees of a return's custody: milestones, never operators or payloads.
MILESTONES = {
    "package.received": "Your package arrived at our warehouse",
    "device.identified": "Your device was identified",
    "grade.assigned": "Your device was inspected and graded",
    "erasure.completed": "Your data was erased; a certificate was issued",
    "disposition.routed": "Processing is complete",
}


class LedgerError(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "refused") -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


@dataclass(frozen=True)
class IngestResult:
    outcome: Literal["stored", "held", "gap", "fork"]
    size: int
    checkpoint_size: int
    cosignature: str | None
    stored: int = 0
    seq: int | None = None
    message: str = ""


@dataclass(frozen=True)
class StationInfo:
    site: str
    station: str
    origin: str
    vkey: str
    size: int
    checkpoint_size: int
    cosignature: str | None
    registered_at: str
    last_contact_at: str | None


def _minute_ago() -> str:
    then = datetime.now(UTC) - timedelta(minutes=1)
    return then.isoformat().replace("+00:00", "Z")


def _attachments(body: bytes) -> list[str]:
    """The blobs a stored event names. Its canonical JSON starts with its first key in sorted
    order, `attachments`, so most events need no parse."""
    if body.startswith(b'{"attachments":[]'):
        return []
    names = orjson.loads(body).get("attachments", [])
    return [name for name in names if isinstance(name, str)]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _peaks_bytes(peaks: Sequence[tuple[int, bytes]]) -> bytes:
    return b"".join(bytes([level]) + digest for level, digest in peaks)


def _peaks(data: bytes) -> tuple[tuple[int, bytes], ...]:
    return tuple((data[i], bytes(data[i + 1 : i + 33])) for i in range(0, len(data), 33))


_STATION_COLUMNS = (
    "site, station, origin, vkey, size, checkpoint_size, cosignature, registered_at, "
    "last_contact_at"
)


class Ledger:
    def __init__(
        self,
        store: Store,
        cosigner: Cosigner,
        clock: Callable[[], float] = time.time,
        blob_quota_bytes: int = MAX_STATION_BLOB_BYTES,
    ) -> None:
        self.store, self.cosigner, self.clock = store, cosigner, clock
        self.blob_quota_bytes = blob_quota_bytes  # per station
        # token hash -> (site, station): a station's token never changes once registered (no
        # rotation, no removal), so a hit needs no database. Filled now, so that a station's
        # first requests to this process are not looked up one by one (each lookup is a wait,
        # and batches waiting side by side can lose their order: a gap answer, sent again).
        with store.transaction() as tx:
            rows = tx.all("SELECT token_sha256, site, station FROM stations")
        self._known_tokens: dict[str, tuple[str, str]] = {
            digest: (site, station) for digest, site, station in rows
        }

    # -- stations --

    def register_station(self, site: str, station: str, vkey: str) -> str:
        """Enrol a station's checkpoint key; returns its bearer token (shown once)."""
        try:
            check_station_id("site", site)
            check_station_id("station", station)
            verifier = Verifier.parse(vkey)
            if not verifier.name.isprintable():  # notes refuse control characters
                raise NoteError(f"key name {verifier.name!r} has a control character")
        except (JournalInputError, NoteError) as exc:
            raise LedgerError(str(exc), 422, "invalid") from None
        token = secrets.token_urlsafe(32)
        exists = LedgerError(f"station {site}/{station} is already registered", 409, "exists")
        try:
            with self.store.transaction() as tx:
                if tx.one("SELECT 1 FROM stations WHERE site = ? AND station = ?", (site, station)):
                    raise exists
                tx.execute(
                    "INSERT INTO stations (site, station, origin, vkey, token_sha256, peaks, "
                    "registered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        site,
                        station,
                        verifier.name,
                        verifier.encode(),
                        token_hash(token),
                        b"",
                        _now(),
                    ),
                )
        except StoreError:  # two registrations at once on PostgreSQL: one wins, one is told
            with self.store.transaction() as tx:
                if tx.one("SELECT 1 FROM stations WHERE site = ? AND station = ?", (site, station)):
                    raise exists from None
            raise
        self._known_tokens[token_hash(token)] = (site, station)
        log.info(
            "station registered site=%s station=%s key_id=%08x", site, station, verifier.key_id
        )
        return token

    def station_for_token(self, token: str) -> tuple[str, str] | None:
        if not token or len(token) > 200:
            return None
        digest = token_hash(token)
        with self.store.transaction() as tx:
            row = tx.one("SELECT site, station FROM stations WHERE token_sha256 = ?", (digest,))
        if row is None:
            return None
        self._known_tokens[digest] = found = (row[0], row[1])
        return found

    def known_station(self, token: str) -> tuple[str, str] | None:
        """The station of a token `station_for_token` found before; None when not known yet
        (ask the store), without touching the database."""
        if not token or len(token) > 200:
            return None
        return self._known_tokens.get(token_hash(token))

    def stations(self) -> list[StationInfo]:
        with self.store.transaction() as tx:
            rows = tx.all(f"SELECT {_STATION_COLUMNS} FROM stations ORDER BY site, station")
        return [StationInfo(*row) for row in rows]

    def station(self, site: str, station: str) -> StationInfo:
        with self.store.transaction() as tx:
            row = tx.one(
                f"SELECT {_STATION_COLUMNS} FROM stations WHERE site = ? AND station = ?",
                (site, station),
            )
            if row is not None and (row[8] is None or row[8] < _minute_ago()):
                # a write per head request would cost an idle fleet a commit per poll
                tx.execute(
                    "UPDATE stations SET last_contact_at = ? WHERE site = ? AND station = ?",
                    (_now(), site, station),
                )
        if row is None:
            raise LedgerError(f"no station {site}/{station}", 404, "unknown_station")
        return StationInfo(*row)

    # -- ingest --

    def ingest(self, site: str, station: str, batch: WireBatch) -> IngestResult:
        """Check and store a batch, all in this thread (the app runs `check_body` and then
        `ingest_checked` itself, to check one batch while the one before is stored)."""
        try:
            checked = precheck(site, station, decode_batch(batch), batch.checkpoint)
        except InvalidBatch as exc:
            self.note_refusal(site, station, exc)
            raise
        return self.ingest_checked(site, station, checked)

    def ingest_checked(self, site: str, station: str, events: CheckedBatch) -> IngestResult:
        """Store a prechecked batch in one transaction with the station's row locked: a
        station's next batch is checked (elsewhere) while this one is being stored."""
        try:
            return self._ingest(site, station, events)
        except InvalidBatch as exc:
            self.note_refusal(site, station, exc)
            raise

    def note_refusal(self, site: str, station: str, exc: InvalidBatch) -> None:
        """A refused batch is an alert for the admins (a station sending garbage)."""
        self._alert(site, station, "invalid", exc.message)
        log.warning("batch refused site=%s station=%s: %s", site, station, exc.message)

    def _ingest(self, site: str, station: str, events: CheckedBatch) -> IngestResult:
        with self.store.transaction() as tx:
            head = self._lock_head(tx, site, station)
            span = overlap(head, events)
            held = (
                dict(
                    (seq, bytes(digest))
                    for seq, digest in tx.all(
                        "SELECT seq, hash FROM events WHERE site = ? AND station = ? "
                        "AND seq BETWEEN ? AND ?",
                        (site, station, span[0], span[1]),
                    )
                )
                if span
                else {}
            )
            decision = decide(head, events, held)
            now = _now()
            match decision:
                case Gap(need):
                    return IngestResult(
                        "gap",
                        head.size,
                        head.checkpoint_size,
                        head.cosignature,
                        message=f"this batch starts at seq {events.events[0][0]}; send from {need}",
                    )
                case Fork():
                    self._record_fork(tx, head, decision, events.checkpoint, now)
                    return IngestResult(
                        "fork",
                        head.size,
                        head.checkpoint_size,
                        head.cosignature,
                        seq=decision.seq,
                        message=(
                            f"event {decision.seq} differs from the one held (held "
                            f"{decision.held_hash.hex()[:16]}…, offered "
                            f"{decision.offered_hash.hex()[:16]}…): refused and kept as evidence"
                        ),
                    )
                case AlreadyHeld():
                    self._touch(tx, site, station, now)
                    return IngestResult("held", head.size, head.checkpoint_size, head.cosignature)
                case Accept():
                    cosignature = self._store_accepted(tx, head, decision, now)
                    return IngestResult(
                        "stored",
                        decision.size,
                        decision.size,
                        cosignature,
                        stored=len(decision.rows),
                    )
        raise AssertionError("unreachable")

    def _lock_head(self, tx: Tx, site: str, station: str) -> StationHead:
        row = tx.one(
            "SELECT origin, vkey, size, last_hash, peaks, checkpoint_size, cosignature "
            f"FROM stations WHERE site = ? AND station = ?{lock_clause(tx)}",
            (site, station),
        )
        if row is None:
            raise LedgerError(f"no station {site}/{station}", 404, "unknown_station")
        origin, vkey, size, last_hash, peaks, checkpoint_size, cosignature = row
        return StationHead(
            site=site,
            station=station,
            origin=origin,
            verifier=Verifier.parse(vkey),
            size=int(size),
            last_hash=bytes(last_hash) if last_hash is not None else None,
            peaks=_peaks(bytes(peaks)),
            checkpoint_size=int(checkpoint_size),
            cosignature=cosignature,
        )

    def _store_accepted(self, tx: Tx, head: StationHead, accept: Accept, now: str) -> str:
        site, station = head.site, head.station
        tx.insert_rows(
            "events",
            _EVENT_COLUMNS,
            [
                (site, station, r.seq, r.event_id, r.type, r.subject, r.return_ref, r.ts, r.body,
                 r.hash)
                for r in accept.rows
            ],
        )  # fmt: skip
        named = sorted({sha256 for row in accept.rows for sha256 in _attachments(row.body)})
        if named:  # the blobs this station may now upload
            tx.executemany(
                "INSERT INTO event_blobs (site, station, sha256) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(site, station, sha256) for sha256 in named],
            )
        cosignature = self.cosigner.cosign(accept.checkpoint.text(), int(self.clock()))
        tx.execute(
            "INSERT INTO checkpoints (site, station, size, root, note, cosignature, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                site,
                station,
                accept.size,
                accept.checkpoint.root,
                accept.checkpoint_note,
                cosignature,
                now,
            ),
        )
        tx.execute(
            "UPDATE stations SET size = ?, last_hash = ?, peaks = ?, checkpoint_size = ?, "
            "cosignature = ?, last_contact_at = ? WHERE site = ? AND station = ?",
            (
                accept.size,
                accept.last_hash,
                _peaks_bytes(accept.peaks),
                accept.size,
                cosignature,
                now,
                site,
                station,
            ),
        )
        return cosignature

    def _record_fork(
        self, tx: Tx, head: StationHead, fork: Fork, checkpoint_note: str, now: str
    ) -> None:
        tx.execute(
            "INSERT INTO forks (site, station, seq, held_hash, offered_hash, offered_body, "
            "checkpoint_note, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                head.site,
                head.station,
                fork.seq,
                fork.held_hash,
                fork.offered_hash,
                fork.offered_body,
                checkpoint_note,
                now,
            ),
        )
        message = (
            f"forked history: event {fork.seq} offered with hash {fork.offered_hash.hex()} but "
            f"{fork.held_hash.hex()} is held; the station's journal was rewritten or replaced"
        )
        self._insert_alert(tx, head.site, head.station, "fork", message, now)
        log.error("FORK site=%s station=%s seq=%d", head.site, head.station, fork.seq)

    def _touch(self, tx: Tx, site: str, station: str, now: str) -> None:
        tx.execute(
            "UPDATE stations SET last_contact_at = ? WHERE site = ? AND station = ?",
            (now, site, station),
        )

    # -- alerts --

    def _alert(self, site: str, station: str, kind: str, message: str) -> None:
        with self.store.transaction() as tx:
            self._insert_alert(tx, site, station, kind, message, _now())

    @staticmethod
    def _insert_alert(tx: Tx, site: str, station: str, kind: str, message: str, now: str) -> None:
        last = tx.one(
            "SELECT kind, message FROM alerts WHERE site = ? AND station = ? "
            "ORDER BY id DESC LIMIT 1",
            (site, station),
        )
        if last == (kind, message):  # a station retrying the same refused batch: one alert
            return
        tx.execute(
            "INSERT INTO alerts (at, site, station, kind, message) VALUES (?, ?, ?, ?, ?)",
            (now, site, station, kind, message),
        )

    def alerts(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.store.transaction() as tx:
            rows = tx.all(
                "SELECT id, at, site, station, kind, message FROM alerts ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        keys = ("id", "at", "site", "station", "kind", "message")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def totals(self) -> dict[str, int]:
        """Fleet-wide counts for /metrics (cheap: no scan of the events table)."""
        with self.store.transaction() as tx:
            stations, events = tx.one("SELECT count(*), coalesce(sum(size), 0) FROM stations") or (
                0,
                0,
            )
            alerts = tx.one("SELECT count(*) FROM alerts")
            forks = tx.one("SELECT count(*) FROM forks")
        return {
            "stations": int(stations),
            "events": int(events),
            "alerts": int(alerts[0]) if alerts else 0,
            "forks": int(forks[0]) if forks else 0,
        }

    # -- blobs --

    def blob_room(self, site: str, station: str, sha256: str) -> int | None:
        """How many bytes of blobs the station may still store, if one of its events held here
        names this blob (else 409 `not_named`); None when the blob is held already (it costs
        nothing). Asked before the upload is read."""
        with self.store.transaction() as tx:
            self._check_named(tx, site, station, sha256)
            if tx.one("SELECT 1 FROM blobs WHERE sha256 = ?", (sha256,)) is not None:
                return None
            row = tx.one(
                "SELECT blob_bytes FROM stations WHERE site = ? AND station = ?", (site, station)
            )
        used = int(row[0]) if row else 0
        return max(0, self.blob_quota_bytes - used)

    def put_blob(self, site: str, station: str, sha256: str, content: bytes) -> bool:
        """Store a blob one of the station's events names, under its SHA-256 (checked), within
        the station's quota; False if it was already held."""
        if hashlib.sha256(content).hexdigest() != sha256:
            raise LedgerError(
                f"the bytes hash to {hashlib.sha256(content).hexdigest()}, not {sha256}",
                422,
                "hash_mismatch",
            )
        with self.store.transaction() as tx:
            self._check_named(tx, site, station, sha256)
            created = tx.execute(
                "INSERT INTO blobs (sha256, size, content, received_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (sha256) DO NOTHING",
                (sha256, len(content), content, _now()),
            )
            # charged to the station that stored it first; over the quota, nothing is kept
            if created and not tx.execute(
                "UPDATE stations SET blob_bytes = blob_bytes + ? "
                "WHERE site = ? AND station = ? AND blob_bytes + ? <= ?",
                (len(content), site, station, len(content), self.blob_quota_bytes),
            ):
                raise self.over_quota(site, station)
        return created > 0

    def over_quota(self, site: str, station: str) -> LedgerError:
        return LedgerError(
            f"{site}/{station} has stored its quota of blobs ({self.blob_quota_bytes} bytes)",
            413,
            "quota",
        )

    @staticmethod
    def _check_named(tx: Tx, site: str, station: str, sha256: str) -> None:
        if (
            tx.one(
                "SELECT 1 FROM event_blobs WHERE site = ? AND station = ? AND sha256 = ?",
                (site, station, sha256),
            )
            is None
        ):
            raise LedgerError(
                f"no event of {site}/{station} held here names blob {sha256}: send the events "
                "that name it first",
                409,
                "not_named",
            )

    def has_blob(self, site: str, station: str, sha256: str) -> bool:
        """Held, and named by one of this station's events (no probing for others' blobs)."""
        with self.store.transaction() as tx:
            found = tx.one(
                "SELECT 1 FROM blobs b JOIN event_blobs n ON n.sha256 = b.sha256 "
                "WHERE n.site = ? AND n.station = ? AND b.sha256 = ?",
                (site, station, sha256),
            )
        return found is not None

    def blob(self, sha256: str) -> bytes | None:
        with self.store.transaction() as tx:
            row = tx.one("SELECT content FROM blobs WHERE sha256 = ?", (sha256,))
        return bytes(row[0]) if row else None

    # -- the manifest feed --

    def import_manifest(
        self, site: str, records: Sequence[ExpectedReturn]
    ) -> tuple[int, dict[str, str]]:
        """Create or update a site's expected returns; (changes, tokens of new returns)."""
        check_station_id("site", site)
        tokens: dict[str, str] = {}
        with self.store.transaction() as tx:
            ids = [r.return_id for r in records]
            current: dict[str, ExpectedReturn] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                for return_id, record in tx.all(
                    f"SELECT return_id, record FROM manifest WHERE site = ? "
                    f"AND return_id IN ({marks})",
                    (site, *chunk),
                ):
                    current[return_id] = ExpectedReturn.from_record(json.loads(record))
            changes = manifest_changes(current, records)
            if not changes:
                return 0, {}
            row = tx.one(
                f"SELECT cursor FROM manifest_sites WHERE site = ?{lock_clause(tx)}", (site,)
            )
            cursor = int(row[0]) if row else 0
            if row is None:
                tx.execute("INSERT INTO manifest_sites (site, cursor) VALUES (?, 0)", (site,))
            now = _now()
            for change in changes:
                cursor += 1
                text = json.dumps(change.record.to_record(), sort_keys=True)
                if change.change == "created":
                    token = secrets.token_urlsafe(24)
                    tokens[change.return_id] = token
                    tx.execute(
                        "INSERT INTO manifest (site, return_id, record, cursor, token_sha256, "
                        "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (site, change.return_id, text, cursor, token_hash(token), now),
                    )
                else:
                    tx.execute(
                        "UPDATE manifest SET record = ?, cursor = ?, updated_at = ? "
                        "WHERE site = ? AND return_id = ?",
                        (text, cursor, now, site, change.return_id),
                    )
            tx.execute("UPDATE manifest_sites SET cursor = ? WHERE site = ?", (cursor, site))
        return len(changes), tokens

    def manifest_cursor(self, site: str) -> int:
        with self.store.transaction() as tx:
            row = tx.one("SELECT cursor FROM manifest_sites WHERE site = ?", (site,))
        return int(row[0]) if row else 0

    def manifest_since(
        self, site: str, after: int, limit: int
    ) -> tuple[list[dict[str, Any]], int, bool]:
        """Records changed after `after`, oldest change first: (records, cursor, more)."""
        with self.store.transaction() as tx:
            rows = tx.all(
                "SELECT cursor, record FROM manifest WHERE site = ? AND cursor > ? "
                "ORDER BY cursor LIMIT ?",
                (site, after, limit + 1),
            )
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = int(rows[-1][0]) if rows else after
        return [json.loads(record) for _, record in rows], cursor, more

    # -- the customer view --

    def return_view(self, return_id: str, token: str) -> dict[str, Any] | None:
        """Status and milestones of one return, if the token is that return's; else None."""
        if not token or len(token) > 200:
            return None
        with self.store.transaction() as tx:
            found = tx.one(
                "SELECT site, record FROM manifest WHERE return_id = ? AND token_sha256 = ?",
                (return_id, token_hash(token)),
            )
            if found is None:
                return None
            site, record = found[0], json.loads(found[1])
            linked = {
                subject
                for (subject,) in tx.all(
                    "SELECT DISTINCT subject FROM events WHERE site = ? AND return_ref = ?",
                    (site, return_id),
                )
            } | {return_id}
            marks = ", ".join("?" for _ in linked)
            types = ", ".join("?" for _ in MILESTONES)
            rows = tx.all(
                f"SELECT type, ts, station FROM events WHERE site = ? AND subject IN ({marks}) "
                f"AND type IN ({types}) ORDER BY ts, station, seq",
                (site, *sorted(linked), *MILESTONES),
            )
        milestones = [
            {"milestone": etype, "text": MILESTONES[etype], "at": ts, "site": site}
            for etype, ts, _station in rows
        ]
        return {
            "return_id": return_id,
            "status": record.get("status"),
            "device": {"make": record.get("make"), "model": record.get("model")},
            "milestones": milestones,
        }
