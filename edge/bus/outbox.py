"""A driver's outbox: custody readings sit in SQLite until the broker acknowledges them.

Paho keeps unacknowledged QoS 1 messages only in memory; a scan read while the broker is down,
or just before the driver is killed, must survive. A reading is written here (with its device
seq, allocated in the same transaction) before it is handed to paho, deleted on PUBACK, and
everything still here is published again when the driver starts. Consumers drop the duplicates
this can cause by device id + seq.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database, Migrations

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


class OutboxError(Exception):
    """The outbox could not keep a reading (disk full, unreadable file); the reading is refused."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    device_id: str
    seq: int
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    refused: int
    oldest_age_s: float | None


class Outbox:
    """Thread-safe: drivers add from the event loop, PUBACKs arrive on paho's thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            migrations.apply(Database(self._conn))
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {path} cannot be opened: {exc}") from exc

    def add(
        self, device_id: str, topic: str, payload_for_seq: Callable[[int], bytes]
    ) -> OutboxEntry:
        """Allocate the device's next seq, store the payload built for it, durably."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                row = self._conn.execute(
                    "SELECT last FROM device_seq WHERE device_id = ?", (device_id,)
                ).fetchone()
                seq = (row[0] if row else 0) + 1
                payload = payload_for_seq(seq)
                self._conn.execute(
                    "INSERT INTO device_seq (device_id, last) VALUES (?, ?) "
                    "ON CONFLICT(device_id) DO UPDATE SET last = excluded.last",
                    (device_id, seq),
                )
                cursor = self._conn.execute(
                    "INSERT INTO outbox (device_id, seq, topic, payload, created) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (device_id, seq, topic, payload, time.time()),
                )
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise OutboxError(
                        f"outbox {self.path} refused a {device_id} reading: {exc}; "
                        "the reading was not published (free disk space on the station)"
                    ) from exc
                raise
        assert cursor.lastrowid is not None
        return OutboxEntry(cursor.lastrowid, device_id, seq, topic, payload)

    def pending(self) -> list[OutboxEntry]:
        """Everything not yet acknowledged and not refused, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, device_id, seq, topic, payload FROM outbox "
                "WHERE refused IS NULL ORDER BY id"
            ).fetchall()
        return [OutboxEntry(*row) for row in rows]

    def acknowledged(self, entry_id: int) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM outbox WHERE id = ?", (entry_id,))

    def refuse(self, entry_id: int, reason: str) -> None:
        """The broker refused it (e.g. not authorised): keep it, never resend it blindly."""
        with self._lock:
            self._conn.execute("UPDATE outbox SET refused = ? WHERE id = ?", (reason, entry_id))

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
