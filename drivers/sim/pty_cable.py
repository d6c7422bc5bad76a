"""The cable of a simulated serial device: a raw pty pair behind a stable by-id style link.

Plugging makes a new pty and points the link at its slave side (atomically, as udev does);
unplugging removes the link and closes both ends, so the driver sees the line hang up.
"""

from __future__ import annotations

import os
import tty
from pathlib import Path


class PtyCable:
    def __init__(self, link: Path) -> None:
        self.link = link
        self.master: int | None = None  # the device's end
        self._slave: int | None = None

    @property
    def plugged(self) -> bool:
        return self.master is not None

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        self.master, self._slave = master, slave
        tmp = self.link.with_name(self.link.name + ".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.link)

    def unplug(self) -> None:
        self.link.unlink(missing_ok=True)
        for fd in (self.master, self._slave):
            if fd is not None:
                os.close(fd)
        self.master = self._slave = None
