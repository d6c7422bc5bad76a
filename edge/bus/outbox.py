"""A driver's outbox: custody readings sit in SQLite until the broker acknowledges them.

Paho keeps unacknowledged QoS 1 messages only in memory; a scan read while the broker is down,
or just before the driver is killed, must survive. A reading gets its device seq here, is handed
to paho and written here at the same time (the commit's fsync need not delay the scan: the
reading is safe once either the commit or the broker's PUBACK has happened), is deleted once it
is both committed and acknowledged, and everything still here is published again when the
driver starts. Consumers drop the duplicates this can cause by device id + seq + payload.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database, Migrations

from edge.journal.files import private_database

migrations = Migrations("edge.bus.outbox")


@migrations()
def m001_outbox(db: Database) -> None:
    db.execute(
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            topic TEXT NOT NULL,
            payload BLOB NOT NULL,
            created REAL NOT NULL,
            refused TEXT
        )"""
    )
    db.execute("CREATE TABLE device_seq (device_id TEXT PRIMARY KEY, last INTEGER NOT NULL)")


@migrations()
def m002_entry_key(db: Database) -> None:
    """Entries are named by device and seq (known before the row is written)."""
    db.execute("CREATE UNIQUE INDEX outbox_entry ON outbox (device_id, seq)")


class OutboxError(Exception):
    """The outbox could not keep a reading (disk full, unreadable file); the reading is refused."""


EntryKey = tuple[str, int]  # device id, seq


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    device_id: str
    seq: int
    topic: str
    payload: bytes

    @property
    def key(self) -> EntryKey:
        return (self.device_id, self.seq)


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    refused: int
    oldest_age_s: float | None


class Outbox:
    """Thread-safe: drivers take seqs on the event loop, the writer thread stores and deletes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # the connection
        self._seq_lock = threading.Lock()  # the seq counters, never held across I/O
        try:
            self._conn = sqlite3.connect(
                private_database(path), isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            migrations.apply(Database(self._conn))
            self._last_seq: dict[str, int] = dict(
                self._conn.execute("SELECT device_id, last FROM device_seq").fetchall()
            )
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {path} cannot be opened: {exc}") from exc

    def next_entry(
        self, device_id: str, topic: str, payload_for_seq: Callable[[int], bytes]
    ) -> OutboxEntry:
        """The device's next seq and the payload built for it; not stored yet (`store`)."""
        with self._seq_lock:
            seq = self._last_seq.get(device_id, 0) + 1
            payload = payload_for_seq(seq)
            self._last_seq[device_id] = seq
        return OutboxEntry(device_id, seq, topic, payload)

    def store(self, entry: OutboxEntry) -> None:
        """Keep the entry durably (one transaction, fsynced) until `acknowledged`."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.execute(
                    "INSERT INTO device_seq (device_id, last) VALUES (?, ?) "
                    "ON CONFLICT(device_id) DO UPDATE SET last = max(last, excluded.last)",
                    (entry.device_id, entry.seq),
                )
                self._conn.execute(
                    "INSERT INTO outbox (device_id, seq, topic, payload, created) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (entry.device_id, entry.seq, entry.topic, entry.payload, time.time()),
                )
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise OutboxError(
                        f"outbox {self.path} could not keep {entry.device_id} reading "
                        f"{entry.seq}: {exc}; it went to the broker without a safety copy "
                        "(free disk space on the station)"
                    ) from exc
                raise

    def add(
        self, device_id: str, topic: str, payload_for_seq: Callable[[int], bytes]
    ) -> OutboxEntry:
        """`next_entry` and `store` in one call."""
        entry = self.next_entry(device_id, topic, payload_for_seq)
        self.store(entry)
        return entry

    def pending(self) -> list[OutboxEntry]:
        """Everything not yet acknowledged and not refused, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT device_id, seq, topic, payload FROM outbox "
                "WHERE refused IS NULL ORDER BY id"
            ).fetchall()
        return [OutboxEntry(*row) for row in rows]

    def acknowledged(self, key: EntryKey) -> None:
        """Delete an entry the broker has: without an fsync of its own (the next reading's
        commit carries it), since a delete lost to a power cut only means a harmless replay."""
        with self._lock:
            self._conn.execute("PRAGMA synchronous=NORMAL")
            try:
                self._conn.execute("DELETE FROM outbox WHERE device_id = ? AND seq = ?", key)
            finally:
                self._conn.execute("PRAGMA synchronous=FULL")

    def refuse(self, key: EntryKey, reason: str) -> None:
        """The broker refused it (e.g. not authorised): keep it, never resend it blindly."""
        with self._lock:
            self._conn.execute(
                "UPDATE outbox SET refused = ? WHERE device_id = ? AND seq = ?", (reason, *key)
            )

    def stats(self) -> OutboxStats:
        with self._lock:
            pending, refused, oldest = self._conn.execute(
                "SELECT count(*) FILTER (WHERE refused IS NULL), count(refused), "
                "min(created) FILTER (WHERE refused IS NULL) FROM outbox"
            ).fetchone()
        age = None if oldest is None else max(0.0, time.time() - oldest)
        return OutboxStats(pending=pending, refused=refused, oldest_age_s=age)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
