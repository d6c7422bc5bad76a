"""Shared by the benchmark scripts: realistic events and a bare table like the journal's."""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
from pathlib import Path

from edge.journal import EventDraft

BARE_SCHEMA = """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL, type TEXT NOT NULL, subject TEXT NOT NULL,
    ts TEXT NOT NULL, body BLOB NOT NULL, hash BLOB NOT NULL, nodes BLOB NOT NULL
);
CREATE INDEX events_subject ON events (subject, seq);
"""


def weighed_draft(i: int) -> EventDraft:
    """A dock station's package.weighed event, about the size real ones are."""
    return EventDraft.model_validate(
        {
            "type": "package.weighed",
            "subject": f"RET-2026-{i:06d}",
            "operator": "op-0042",
            "payload": {
                "grams": f"{400 + i % 300}.5",
                "stable": True,
                "device": "scale-1",
                "expected_band": {"min_grams": "330", "max_grams": "720"},
                "within_band": True,
            },
        }
    )


def bare_connection(path: Path) -> sqlite3.Connection:
    """Plain sqlite3 with the journal's pragmas (WAL, synchronous=FULL) and table shape."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.executescript(BARE_SCHEMA)
    return conn


def stored_rows(journal_path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(journal_path)
    try:
        return conn.execute(
            "SELECT seq, event_id, type, subject, ts, body, hash, nodes FROM events ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()


def scratch() -> Path:
    """A folder on the same disk as the project (not /tmp, which may be RAM)."""
    base = Path(__file__).resolve().parents[1] / "var"
    base.mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="edge-bench-", dir=base))


def median(values: list[float]) -> float:
    return statistics.median(values)
