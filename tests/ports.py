"""Ports for the servers tests start, safe when pytest-xdist runs several workers at once.

`edge.bus.broker.free_port` binds port 0 and closes it: between that and the server's own bind,
another worker (or any client's outgoing connection, which draws from the same ephemeral range)
may take the port. Here each worker draws from its own block below the kernel's ephemeral range
(`net.ipv4.ip_local_port_range`, 32768 and up by default), so neither can happen within one run;
what is left (a second test run on the same machine) `owns_listener` detects, and the fixtures
start again on other ports.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T", str, bytes)

FIRST_PORT = 20_000  # the blocks: 20000-20399 for gw0, 20400-20799 for gw1, ...
BLOCK = 400
_LAST_PORT = 32_767  # below the ephemeral range
_TRIES = 200


def worker_index() -> int:
    """0 for xdist's gw0 (and for a run without xdist), 1 for gw1, ..."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw")) if name.removeprefix("gw").isdigit() else 0


def reserve_port(count: int = 1) -> int:
    """The first of `count` consecutive ports of this worker's block that nothing holds now."""
    first = FIRST_PORT + (worker_index() * BLOCK) % (_LAST_PORT - FIRST_PORT - BLOCK)
    for _ in range(_TRIES):
        port = random.randrange(first, first + BLOCK - count + 1)
        if all(_bindable(p) for p in range(port, port + count)):
            return port
    raise RuntimeError(f"no {count} free consecutive ports in {first}-{first + BLOCK - 1}")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def owns_listener(pid: int, port: int) -> bool:
    """Whether process `pid` itself listens on TCP `port` (not some other server that took it)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rpartition(":")[2], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{inode}]")
    if not inodes:
        return False
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if str(fd.readlink()) in inodes:
                return True
        except OSError:
            continue
    return False


def listen_on_free_port(
    launch: Callable[[int], subprocess.Popen[T]], within: float = 30.0, attempts: int = 5
) -> tuple[subprocess.Popen[T], int]:
    """`launch(port)` a server process until it listens on that port itself; a process that
    exited on every try is returned as it ended, for the caller to report."""
    for attempt in range(1, attempts + 1):
        port = reserve_port()
        process = launch(port)
        deadline = time.monotonic() + within
        while process.poll() is None and time.monotonic() < deadline:
            if owns_listener(process.pid, port):
                return process, port
            time.sleep(0.02)
        if process.poll() is None or attempt == attempts:
            return process, port  # slow, or the same failure every time: the caller says
    raise AssertionError("unreachable")
