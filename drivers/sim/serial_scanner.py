"""A simulated serial (USB CDC) scanner on a pty pair: the far end of the cable.

The driver opens the pty's slave through a stable symlink, as it would open
/dev/serial/by-id/…; unplugging closes the pty and removes the link, replugging makes a new
pty behind the same link. A scan is the code's bytes plus the configured suffix (CR LF).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from drivers.sim.pty_cable import PtyCable

GARBAGE = b"\x00\xff#~\x13noise"


class SerialScannerSimulator:
    def __init__(self, link: Path, *, suffix: bytes = b"\r\n") -> None:
        self.link = link
        self.suffix = suffix
        self._cable = PtyCable(link)

    @property
    def plugged(self) -> bool:
        return self._cable.plugged

    @property
    def _master(self) -> int | None:
        return self._cable.master

    def plug(self) -> None:
        self._cable.plug()

    def unplug(self) -> None:
        self._cable.unplug()

    def __enter__(self) -> SerialScannerSimulator:
        self.plug()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._master is not None:
            self.unplug()

    def scan(self, code: str | bytes, suffix: bytes | None = None) -> None:
        """One read: the code as the scanner sends it (UTF-8 for text), then the suffix."""
        data = code.encode() if isinstance(code, str) else code
        self.send(data + (self.suffix if suffix is None else suffix))

    def garbage(self, data: bytes = GARBAGE, *, terminated: bool = True) -> None:
        """Line noise, as a plug-in glitch or a wrong baud rate produce."""
        self.send(data + (self.suffix if terminated else b""))

    def send(self, data: bytes) -> None:
        if self._master is None:
            raise RuntimeError("the simulated scanner is unplugged")
        view = memoryview(data)
        while view:
            with contextlib.suppress(BlockingIOError):
                written = os.write(self._master, view)
                view = view[written:]
