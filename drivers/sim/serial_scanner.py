"""A simulated serial (USB CDC) scanner on a pty pair: the far end of the cable.

The driver opens the pty's slave through a stable symlink, as it would open
/dev/serial/by-id/…; unplugging closes the pty and removes the link, replugging makes a new
pty behind the same link. A scan is the code's bytes plus the configured suffix (CR LF).
"""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path

GARBAGE = b"\x00\xff#~\x13noise"


class SerialScannerSimulator:
    def __init__(self, link: Path, *, suffix: bytes = b"\r\n") -> None:
        self.link = link
        self.suffix = suffix
        self._master: int | None = None
        self._slave: int | None = None

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        self._master, self._slave = master, slave
        tmp = self.link.with_name(self.link.name + ".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.link)

    def unplug(self) -> None:
        self.link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

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
