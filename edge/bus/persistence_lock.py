"""One broker per persistence folder: a lock the broker inherits, naming who holds it.

Two Mosquittos on one persistence folder overwrite each other's saved sessions and queued
messages. The lock is an open file description shared by the starter and its broker, so it holds
while either lives, and the file says which pids they are.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import time
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILE = "broker.lock"  # "broker=PID owner=PID"


class PersistenceHeld(Exception):
    """Another broker, still wanted by a live process, holds the persistence folder."""


def hold_persistence(data_dir: Path, conf: Path, stop_within: float = 10.0) -> int:
    """The locked fd for a broker of `conf` on `data_dir`. A broker on this very config whose
    starter died is stopped; any other holder is refused, named."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    deadline = time.monotonic() + stop_within
    stopped = 0
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            os.close(fd)
        broker, owner = _holder(path)
        stale = broker > 0 and str(conf) in _cmdline(broker) and not _alive(owner)
        if not stale or time.monotonic() > deadline:
            raise PersistenceHeld(
                f"another broker (pid {broker or 'unknown'}, started by pid {owner or 'unknown'}) "
                f"holds {data_dir}: stop it first; two brokers on one persistence folder "
                "overwrite each other"
            )
        if stopped != broker:
            log.warning("stopping a stale broker pid=%d folder=%s", broker, data_dir)
            with contextlib.suppress(ProcessLookupError):
                os.kill(broker, signal.SIGTERM)  # it saves its persistence file, then exits
            stopped = broker
        time.sleep(0.05)


def name_holder(fd: int, broker_pid: int) -> None:
    """Write into the held lock file which broker holds it and who started it."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"broker={broker_pid} owner={os.getpid()}\n".encode(), 0)


def _holder(path: Path) -> tuple[int, int]:
    fields: dict[str, str] = {}
    try:
        for field in path.read_text(errors="replace").split():
            key, _, value = field.partition("=")
            fields[key] = value
    except OSError:
        pass
    return _pid(fields.get("broker")), _pid(fields.get("owner"))


def _pid(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _alive(pid: int) -> bool:
    """True for a running process; a zombie (dead, not yet reaped) is not."""
    if pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]
