"""The journal's SQLite schema: connections, pragmas and migrations (safe to run twice)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database, Migrations

from edge.journal.errors import JournalCorruptError, JournalError, JournalFullError

migrations = Migrations("edge.journal")

_APPEND_ONLY = """
CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, 'custody journal is append-only: UPDATE on {table} refused'); END;
CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, 'custody journal is append-only: DELETE on {table} refused'); END;
"""


def _run_script(db: Database, script: str) -> None:
    # Database.executescript would COMMIT the migration's transaction; run statements one by one.
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


@migrations()
def m001_journal(db: Database) -> None:
    db.execute(
        """CREATE TABLE journal_meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )"""
    )
    # body: the RFC 8785 bytes that were hashed; hash: the RFC 9162 leaf hash of body;
    # nodes: hashes of the complete subtrees this leaf finished, level 1 upward (32 bytes each).
    db.execute(
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL,
            type TEXT NOT NULL,
            subject TEXT NOT NULL,
            ts TEXT NOT NULL,
            body BLOB NOT NULL,
            hash BLOB NOT NULL CHECK (length(hash) = 32),
            nodes BLOB NOT NULL CHECK (length(nodes) % 32 = 0)
        )"""
    )
    db.execute("CREATE INDEX events_subject ON events (subject, seq)")
    db.execute(
        """CREATE TABLE checkpoints (
            size INTEGER PRIMARY KEY,
            root BLOB NOT NULL CHECK (length(root) = 32),
            note TEXT NOT NULL,
            signed_at TEXT NOT NULL
        )"""
    )
    # Upstream's C2SP tlog-cosignature lines over a checkpoint (filled by replication).
    db.execute(
        """CREATE TABLE cosignatures (
            size INTEGER NOT NULL REFERENCES checkpoints (size),
            cosigner TEXT NOT NULL,
            line TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (size, cosigner)
        )"""
    )
    for table in ("journal_meta", "events", "checkpoints", "cosignatures"):
        _run_script(db, _APPEND_ONLY.format(table=table))
    db.execute(
        """CREATE TRIGGER events_gap_free BEFORE INSERT ON events
        WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM events)
        BEGIN SELECT RAISE(ABORT, 'custody journal seq must be gap-free'); END"""
    )
    db.execute(
        """CREATE TRIGGER checkpoints_grow BEFORE INSERT ON checkpoints
        WHEN NEW.size <= (SELECT coalesce(max(size), -1) FROM checkpoints)
          OR NEW.size > (SELECT coalesce(max(seq), 0) FROM events)
        BEGIN SELECT RAISE(ABORT, 'a checkpoint must cover more events than the last'); END"""
    )


def connect(path: Path, *, query_only: bool = False) -> sqlite3.Connection:
    """Open the journal file with our pragmas. Transactions are explicit (isolation_level=None)."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
        conn.execute("PRAGMA busy_timeout = 5000")
        # New journals only: a 2 KiB page writes ~27% fewer bytes per single-event commit than
        # 4 KiB (benchmarks/p3_write_bytes.py); each commit rewrites whole pages (SD-card wear).
        conn.execute("PRAGMA page_size = 2048")
        if query_only:
            conn.execute("PRAGMA query_only = ON")
        else:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise JournalError(f"journal at {path} could not switch to WAL (got {mode})")
            # FULL: in WAL mode each COMMIT fsyncs the WAL, so an acknowledged append survives
            # power loss. NORMAL would only sync at WAL checkpoints.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        raise translate(exc, path) from exc
    return conn


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    try:
        migrations.apply(Database(conn))
    except sqlite3.DatabaseError as exc:
        raise translate(exc, path) from exc


def pending_migrations(conn: sqlite3.Connection) -> list[str]:
    return [m.name for m in migrations.pending(Database(conn))]


def translate(exc: sqlite3.Error, path: Path) -> JournalError:
    """Turn a SQLite error into one a station operator can act on."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_FULL:
        return JournalFullError(
            f"disk full: the journal at {path} cannot grow; nothing of this write was kept. "
            "Free space on the station's storage, then retry."
        )
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return JournalCorruptError(
            f"journal file {path} is corrupt or not a journal ({exc}); "
            "keep the file for inspection and restore from upstream"
        )
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return JournalError(f"journal at {path} is busy: another process is writing to it")
    if primary == sqlite3.SQLITE_IOERR:
        return JournalError(f"disk I/O error on journal {path}: {exc}")
    if primary == sqlite3.SQLITE_READONLY:
        return JournalError(f"journal at {path} is read-only: {exc}")
    return JournalError(f"journal at {path}: {exc}")
