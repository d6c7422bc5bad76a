"""P1: durable single-event append, ours vs a bare sqlite3 INSERT of the same row, same pragmas.

Both sides commit (and so fsync the WAL) once per event, as a dock station does per scan.
Ours includes: validation, RFC 8785 canonical bytes, SHA-256 leaf, Merkle subtrees, the hand-off
to the writer thread, triggers, and a signed checkpoint every 64 events.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bare_connection, median, scratch, stored_rows, weighed_draft

from edge.journal import Journal

EVENTS = 1500
ROUNDS = 3


def ours(folder: Path) -> float:
    drafts = [weighed_draft(i) for i in range(EVENTS)]
    with Journal(folder, site="bench", station="dock-1") as journal:
        start = time.perf_counter()
        for d in drafts:
            journal.append(d)
        elapsed = time.perf_counter() - start
    return EVENTS / elapsed


def bare(folder: Path, rows: list[tuple[object, ...]]) -> float:
    conn = bare_connection(folder / "bare.db")
    start = time.perf_counter()
    for row in rows:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(rows) / elapsed


def main() -> None:
    ours_rates, bare_rates = [], []
    for _ in range(ROUNDS):
        folder = scratch()
        ours_rates.append(ours(folder / "station"))
        bare_rates.append(bare(folder, stored_rows(folder / "station" / "journal.db")[:EVENTS]))
        shutil.rmtree(folder)
    ours_rate, bare_rate = median(ours_rates), median(bare_rates)
    print(f"events per round: {EVENTS}, rounds: {ROUNDS} (median)")
    print(f"ours: journal.append, durable:      {ours_rate:10.0f} events/s")
    print(f"bare: sqlite3 INSERT+COMMIT, FULL:  {bare_rate:10.0f} rows/s")
    print(f"ratio: {ours_rate / bare_rate:.3f}")


if __name__ == "__main__":
    main()
