"""WAL checkpoints off the commit path: a thread of their own copies a database's write-ahead
log into the main file while its writer is quiet.

SQLite's automatic checkpoint runs inside whichever COMMIT takes the WAL past 1000 pages: that
commit copies the log into the database file and fsyncs it, a stall of 4-6 ms (measured on
the development VM, more than a whole scan's trip through the station) every few hundred
commits. Here the writer's own connection checkpoints automatically only much later
(`BACKSTOP_PAGES`, for a writer that never pauses), and a `WalCheckpointer` does it once
`every` commits have gone by and none for `quiet_s`: at a station, in the pause between two
scans. Its checkpoints are PASSIVE, so they never wait for or hold up a reader or the writer;
a failed one (a full disk) is logged and tried again later, and the WAL keeps every commit
meanwhile.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

# The writer connection's automatic checkpoint: only when this thread has fallen far behind.
BACKSTOP_PAGES = 4000


def defer_checkpoints(conn: sqlite3.Connection) -> None:
    """For a writer whose checkpoints a `WalCheckpointer` makes."""
    conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")


@dataclass
class WalCheckpointer:
    """Checkpoints `path` (a WAL database) from its own thread; the writer calls `committed()`
    after each COMMIT. `start()` once, `close()` at the end."""

    path: Path
    every: int = 100  # commits between checkpoints
    quiet_s: float = 0.005  # since the last commit
    poll_s: float = 0.05
    checkpoints: int = 0
    failures: int = 0
    _failing: bool = False  # since the last checkpoint that worked
    _commits: int = 0  # since the last checkpoint (written by the writer, read here)
    _last_commit: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"checkpoint-{self.path.name}", daemon=True
        )
        self._thread.start()

    def committed(self) -> None:
        """Cheap (no lock, no wake-up): the thread looks at the count when it polls."""
        self._commits += 1
        self._last_commit = time.monotonic()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _due(self) -> bool:
        if self._commits >= 10 * self.every:
            return True  # a writer that never pauses: go ahead (PASSIVE does not block it)
        quiet = time.monotonic() - self._last_commit >= self.quiet_s
        return self._commits >= self.every and quiet

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.poll_s):
                if not self._due():
                    continue
                counted = self._commits
                try:
                    if conn is None:
                        conn = sqlite3.connect(self.path, isolation_level=None, timeout=1.0)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:
                    self.failures += 1
                    level = logging.DEBUG if self._failing else logging.WARNING  # once a streak
                    log.log(level, "WAL checkpoint of %s failed (retried): %s", self.path, exc)
                    self._failing = True
                    self._stop.wait(1.0)
                    continue
                if self._failing:
                    log.info("WAL checkpoint of %s works again", self.path)
                    self._failing = False
                self._commits -= counted
                self.checkpoints += 1
        finally:
            if conn is not None:
                conn.close()
