"""Child process for the crash test: append forever, print each acknowledged seq and hash."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from edge.journal import EventDraft, Journal, JournalPolicy

journal = Journal(
    Path(sys.argv[1]),
    site="ams-1",
    station="dock-1",
    policy=JournalPolicy(checkpoint_every_events=8),
)
print_lock = threading.Lock()


def appender(worker: int) -> None:
    i = 0
    while True:
        drafts = [
            EventDraft(
                type="label.scanned",
                subject=f"RET-{worker}-{i}-{k}",
                operator="op-1",
                payload={"k": k},
            )
            for k in range(3 if i % 5 == 0 else 1)
        ]
        events = journal.append_many(drafts)
        with print_lock:
            for event in events:
                sys.stdout.write(f"{event.seq} {event.hash}\n")
            sys.stdout.flush()
        i += 1


threads = [threading.Thread(target=appender, args=(w,), daemon=True) for w in range(3)]
for t in threads:
    t.start()
threads[0].join()
