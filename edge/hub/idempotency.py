"""Idempotency keys (`idempotency.db`): each key a screen sent with an action, what the action
was (route, operator, body digest) and the hub's first answer, so a resend of the same key gets
that answer again instead of a second write.

A key is recorded as started before the action runs, with the journal size then, and finished
with the answer after. A key found started but not finished means the hub stopped in between:
the journal events after that size that carry the key (`payload.idempotency_key`) say whether
the action was written. Kept apart from `hub.db`, which is a projection dropped and refolded on
a schema change; keys older than the retention, or beyond the count bound, are forgotten.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.journal.files import private_database
from edge.limits import MAX_IDEMPOTENCY_KEY_LENGTH, MAX_IDEMPOTENCY_KEYS

IDEMPOTENCY_FILE = "idempotency.db"
RETENTION_S = 7 * 24 * 3600.0  # a handheld away longer than a week replays as new actions
KEY_PATTERN = re.compile(rf"^[A-Za-z0-9._:-]{{8,{MAX_IDEMPOTENCY_KEY_LENGTH}}}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, operator TEXT NOT NULL, route TEXT NOT NULL,
    started_at REAL NOT NULL, journal_size INTEGER NOT NULL, status INTEGER, response TEXT);
CREATE INDEX IF NOT EXISTS keys_started ON keys (started_at);
"""


def fingerprint(route: str, operator: str, body: Any) -> str:
    """The digest a replay must match: the route, who sent it, and the body as JSON."""
    text = json.dumps([route, operator, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class KeyRecord:
    key: str
    fingerprint: str
    operator: str
    route: str
    journal_size: int
    status: int | None  # None: started, never finished (the hub stopped in between)
    response: dict[str, Any] | None


class IdempotencyStore:
    """One connection, used from API threads under a lock (a few rows per action)."""

    def __init__(self, path: Path, *, retention_s: float = RETENTION_S) -> None:
        private_database(path)
        self.retention_s = retention_s
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # an answer given is remembered
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def begin(
        self, key: str, digest: str, operator: str, route: str, journal_size: int, now: float
    ) -> KeyRecord | None:
        """The key's record if it is known (the caller compares it); else start it, None."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM keys WHERE started_at < ?", (now - self.retention_s,))
                row = conn.execute(
                    "SELECT key, fingerprint, operator, route, journal_size, status, response "
                    "FROM keys WHERE key = ?",
                    (key,),
                ).fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO keys (key, fingerprint, operator, route, started_at, "
                        "journal_size) VALUES (?, ?, ?, ?, ?, ?)",
                        (key, digest, operator, route, now, journal_size),
                    )
                    conn.execute(
                        "DELETE FROM keys WHERE key IN (SELECT key FROM keys "
                        "ORDER BY started_at DESC LIMIT -1 OFFSET ?)",
                        (MAX_IDEMPOTENCY_KEYS,),
                    )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        if row is None:
            return None
        return KeyRecord(
            row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]) if row[6] else None
        )

    def finish(self, key: str, status: int, response: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE keys SET status = ?, response = ? WHERE key = ?",
                (status, json.dumps(response, separators=(",", ":")), key),
            )

    def forget(self, key: str) -> None:
        """An action that failed without an answer (a crash of the hub's own): may run again."""
        with self._lock:
            self._conn.execute("DELETE FROM keys WHERE key = ? AND status IS NULL", (key,))

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM keys").fetchone()[0])


def now() -> float:
    return time.time()
