"""P2: a batch of 1000 events in one transaction, ours (append_many) vs bare executemany.

Drafts are built before timing on both sides (that is the caller's work); ours then does the
canonical bytes, hashing, tree and insert of every event, and one durable COMMIT.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bare_connection, median, scratch, stored_rows, weighed_draft

from edge.journal import Journal, JournalPolicy

BATCH = 1000
BATCHES = 10


def main() -> None:
    folder = scratch()
    policy = JournalPolicy(checkpoint_every_events=10**9, checkpoint_every_seconds=3600)
    ours_times = []
    with Journal(folder / "station", site="bench", station="dock-1", policy=policy) as journal:
        for b in range(BATCHES):
            drafts = [weighed_draft(b * BATCH + i) for i in range(BATCH)]
            start = time.perf_counter()
            journal.append_many(drafts)
            ours_times.append(time.perf_counter() - start)
    rows = stored_rows(folder / "station" / "journal.db")
    conn = bare_connection(folder / "bare.db")
    bare_times = []
    for b in range(BATCHES):
        chunk = rows[b * BATCH : (b + 1) * BATCH]
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", chunk)
        conn.execute("COMMIT")
        bare_times.append(time.perf_counter() - start)
    conn.close()
    shutil.rmtree(folder)
    ours_rate, bare_rate = BATCH / median(ours_times), BATCH / median(bare_times)
    print(f"batches: {BATCHES} x {BATCH} events (median batch)")
    print(f"ours: journal.append_many:          {ours_rate:10.0f} events/s")
    print(f"bare: executemany + COMMIT, FULL:   {bare_rate:10.0f} rows/s")
    print(f"ratio: {ours_rate / bare_rate:.3f}")


if __name__ == "__main__":
    main()
