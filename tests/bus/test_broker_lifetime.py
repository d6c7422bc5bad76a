"""A private broker dies with the process that started it, and never shares its persistence
folder with a second one."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.bus.broker import CLIENT_USERS, BrokerError, PrivateBroker, private_broker
from tests.broker import SITE, STATION, _have_mosquitto

pytestmark = pytest.mark.skipif(not _have_mosquitto(), reason="needs the Debian package mosquitto")

# Starts a broker on argv[1] (argv[2] == "untied": as code before the tie did), says its pid,
# then waits to be killed.
STARTER = """
import sys, threading, time
from pathlib import Path
import edge.bus.tied_child as tied
from edge.bus.broker import private_broker
if sys.argv[2] == "untied":
    tied._prctl = None
creds = {u: "pw-" + u for u in ("hub", "drivers", "camera", "screen")}
broker = private_broker(
    Path(sys.argv[1]), site="ams-1", station="dock-1", hosted={}, credentials=creds
)
starter = threading.Thread(target=broker.start)  # a thread that ends, as asyncio.to_thread's may
starter.start()
starter.join()
print(broker.process.pid, flush=True)
time.sleep(600)
"""


def gone(pid: int) -> bool:
    """No such process, or a zombie waiting for a reaper (it runs no more)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def wait_until(condition: Callable[[], bool], within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return True
    except OSError:
        return False


def start_in_child(folder: Path, mode: str) -> tuple[subprocess.Popen[str], int]:
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(folder), mode],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert starter.stdout is not None
    return starter, int(starter.stdout.readline())


def credentials() -> dict[str, str]:
    return {user: secrets.token_urlsafe(16) for user in CLIENT_USERS}


def _broker(folder: Path) -> PrivateBroker:
    return private_broker(folder, site=SITE, station=STATION, hosted={}, credentials=credentials())


def test_the_broker_dies_with_its_starter_even_by_sigkill(tmp_path: Path) -> None:
    starter, broker_pid = start_in_child(tmp_path, "tied")
    assert not gone(broker_pid)  # outlived the thread that started it
    starter.kill()
    starter.wait()
    assert wait_until(lambda: gone(broker_pid))


def test_a_second_broker_on_the_same_persistence_folder_is_refused(tmp_path: Path) -> None:
    first = _broker(tmp_path)
    first.start()
    try:
        assert first.process is not None
        second = _broker(tmp_path)
        with pytest.raises(BrokerError) as refused:
            second.start()
        assert f"pid {first.process.pid}" in str(refused.value)
        assert "holds" in str(refused.value) and str(tmp_path / "mosquitto-data") in str(
            refused.value
        )
        assert second.process is None
        assert listening(first.layout.port)
    finally:
        first.stop()
    again = _broker(tmp_path)
    again.start()  # stopping released the folder
    again.stop()


def test_a_broker_left_behind_by_a_dead_starter_is_stopped_before_a_new_one_starts(
    tmp_path: Path,
) -> None:
    starter, stale_pid = start_in_child(tmp_path, "untied")
    starter.send_signal(signal.SIGKILL)
    starter.wait()
    assert not gone(stale_pid)  # what the old code left running
    broker = _broker(tmp_path)
    broker.start()
    try:
        assert wait_until(lambda: gone(stale_pid))  # its lock was free only as it exited
        assert broker.process is not None and listening(broker.layout.port)
    finally:
        broker.stop()
