"""`record_cosignature` racing `close()` answers JournalClosedError, never writes on a closed
connection."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from edge.journal import Journal
from edge.journal.errors import JournalClosedError
from tests.conftest import draft


class PausingLock:
    """Delegates to the journal's RLock; one chosen thread waits before it takes it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.paused_thread: threading.Thread | None = None
        self.arrived, self.go = threading.Event(), threading.Event()

    def __enter__(self) -> Any:
        if threading.current_thread() is self.paused_thread:
            self.arrived.set()
            self.go.wait(10)
        return self.inner.__enter__()

    def __exit__(self, *exc: object) -> Any:
        return self.inner.__exit__(*exc)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return bool(self.inner.acquire(blocking, timeout))

    def release(self) -> None:
        self.inner.release()


def test_record_cosignature_racing_close_says_closed(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "station", site="ams-1", station="dock-1")
    journal.append(draft())
    journal.checkpoint()
    lock = PausingLock(journal._write_lock)
    journal._write_lock = lock  # type: ignore[assignment]
    outcome: list[BaseException | bool] = []

    def cosign() -> None:
        try:
            outcome.append(journal.record_cosignature(1, "upstream", "— upstream AAAA\n"))
        except BaseException as exc:  # what the replicator would see
            outcome.append(exc)

    worker = threading.Thread(target=cosign)
    lock.paused_thread = worker
    worker.start()
    assert lock.arrived.wait(10)  # past the "is it open?" check, before the write lock
    journal.close()  # the hub stopping (the replicator's to_thread keeps running)
    lock.go.set()
    worker.join(10)
    assert len(outcome) == 1
    if not isinstance(outcome[0], JournalClosedError):
        pytest.fail(f"expected JournalClosedError, got {outcome[0]!r}")
