"""What the replicator remembers between runs (`replication.db`): the upstream's last answer,
how far blobs and the manifest feed have gone. None of it is trusted over the upstream's own
answer about events; it feeds the backlog figures while the upstream is away."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from edge.journal.files import private_database

STATE_FILE = "replication.db"


@dataclass(frozen=True)
class ReplicationMemory:
    upstream_size: int = 0  # the highest seq upstream said it holds
    blobs_through: int = 0  # every attachment of events 1..this is upstream
    manifest_cursor: int = 0
    manifest_etag: str = ""
    last_ok_at: str = ""
    last_error: str = ""
    alarm: str = ""  # what a person must look at; cleared by the next round that succeeds


class ReplicationState:
    """A small key-value table; thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            private_database(path), isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")  # a lost update means a re-send
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS replication (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )

    def read(self) -> ReplicationMemory:
        with self._lock:
            values = dict(self._conn.execute("SELECT key, value FROM replication").fetchall())
        fields = ReplicationMemory.__dataclass_fields__
        kwargs: dict[str, object] = {}
        for name, spec in fields.items():
            if name in values:
                kwargs[name] = int(values[name]) if spec.type == "int" else values[name]
        return ReplicationMemory(**kwargs)  # type: ignore[arg-type]

    def write(self, **values: int | str) -> None:
        unknown = set(values) - set(ReplicationMemory.__dataclass_fields__)
        if unknown:
            raise KeyError(f"unknown replication state {sorted(unknown)}")
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany(
                "INSERT INTO replication (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(k, str(v)) for k, v in values.items()],
            )
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
