"""P3: bytes written to storage per event vs the event's canonical size (SD-card wear on a Pi).

Measured with /proc/self/io write_bytes (bytes this process caused to be sent to the block
layer, WAL checkpoints included: the journal is closed, which checkpoints the WAL into the
database file). Three workloads: one durable commit per event (a dock station's steady pace),
group commits of 100, and the space the journal occupies once checkpointed.
The ratio line is the first: the station's real pace, the worst case for wear.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import scratch, weighed_draft

from edge.journal import Journal

EVENTS = 2000


def write_bytes() -> int:
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["write_bytes"])


def run(folder: Path, group: int) -> tuple[float, float, float]:
    drafts = [weighed_draft(i) for i in range(EVENTS)]
    before = write_bytes()
    with Journal(folder, site="bench", station="dock-1") as journal:
        for start in range(0, EVENTS, group):
            journal.append_many(drafts[start : start + group])
        canonical = sum(len(journal.reader.canonical_body(s)) for s in range(1, EVENTS + 1))
    written = write_bytes() - before
    stored = sum(f.stat().st_size for f in folder.glob("journal.db*"))
    return written / EVENTS, stored / EVENTS, canonical / EVENTS


def main() -> None:
    os.sync()
    folder = scratch()
    single, stored, canonical = run(folder / "single", 1)
    grouped, _, _ = run(folder / "grouped", 100)
    shutil.rmtree(folder)
    print(f"canonical event size:                   {canonical:8.0f} bytes")
    print(
        f"written per event, one commit each:     {single:8.0f} bytes ({single / canonical:.1f}x)"
    )
    print(
        f"written per event, commits of 100:      {grouped:8.0f} bytes ({grouped / canonical:.1f}x)"
    )
    print(
        f"stored per event after WAL checkpoint:  {stored:8.0f} bytes ({stored / canonical:.1f}x)"
    )
    print(f"ratio: {single / canonical:.2f}")


if __name__ == "__main__":
    main()
