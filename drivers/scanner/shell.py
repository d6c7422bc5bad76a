"""What both scanner drivers share: the callbacks, stop(), status changes, interruptible sleep."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from drivers.scanner.output import ScannerEvent

log = logging.getLogger(__name__)

StatusCallback = Callable[[str, str], None]  # (state, reason for a technician)


@dataclass
class ScannerShell:
    path: Path  # the stable path: /dev/input/by-id/…-event-kbd or /dev/serial/by-id/…
    on_output: Callable[[ScannerEvent], None]
    on_status: StatusCallback
    reopen_interval: float = 0.5  # seconds between looks for an unplugged scanner's path
    _stopped: asyncio.Event = field(default_factory=asyncio.Event)
    _state: str = ""

    def stop(self) -> None:
        self._stopped.set()

    @property
    def state(self) -> str:
        """The last status reported: "online", "offline", "attention", or "" before run()."""
        return self._state

    def _status(self, state: str, reason: str, *, again: bool = False) -> None:
        if state != self._state or again:
            self._state = state
            log.info("scanner status path=%s state=%s reason=%s", self.path, state, reason)
            self.on_status(state, reason)

    async def _read_until_lost(
        self,
        loop: asyncio.AbstractEventLoop,
        fd: int,
        readable: Callable[[], None],
        lost: asyncio.Future[OSError] | asyncio.Future[Exception],
    ) -> None:
        """Call `readable` whenever `fd` is; return on stop(), raise the error once `lost`."""
        loop.add_reader(fd, readable)
        stopping = asyncio.ensure_future(self._stopped.wait())
        try:
            waiting: set[asyncio.Future[object]] = {lost, stopping}  # type: ignore[arg-type]
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if lost.done():
                raise lost.result()
        finally:
            stopping.cancel()
            with contextlib.suppress(Exception):
                loop.remove_reader(fd)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)


def explain(exc: OSError) -> str:
    """An OSError from opening or reading a scanner, in a technician's words."""
    if exc.errno == errno.ENODEV:
        return "scanner unplugged (no such device)"
    if exc.errno == errno.ENOENT:
        return "no such path: scanner not plugged in"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied ({exc}): the service needs the input or dialout group"
    if exc.errno == errno.EBUSY:
        return "another program holds the device (grab or lock refused)"
    return str(exc)
