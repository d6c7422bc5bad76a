"""A serial (USB CDC) scanner on a stable path: CR/LF lines → codes; offline on unplug.

The same shape as the scale driver: pyserial with `exclusive=True`, the event loop's reader
callback for incoming bytes, `LineFramer` for lines, `drivers.codes.interpret` for meaning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import serial

from drivers.scanner.output import ScanError, read_line
from drivers.scanner.serial_lines import LineFramer
from drivers.scanner.shell import ScannerShell, explain

log = logging.getLogger(__name__)


@dataclass
class SerialScanner(ScannerShell):
    baudrate: int = 9600  # USB CDC ignores it; a real RS-232 scanner needs the right one
    max_length: int = 4096
    stale_after: float = 1.0  # seconds a partial line may wait for the rest of its burst
    _framer: LineFramer = field(init=False)

    def __post_init__(self) -> None:
        self._framer = LineFramer(self.max_length, self.stale_after)

    async def run(self) -> None:
        """Until stop(): keep the port open, reopening whenever the scanner comes back."""
        while not self._stopped.is_set():
            try:
                port = self._open()
            except (serial.SerialException, OSError) as exc:
                reason = explain(exc) if isinstance(exc, OSError) else str(exc)
                self._status("offline", f"cannot open {self.path}: {reason}")
                await self._sleep(self.reopen_interval)
                continue
            self._status("online", f"serial scanner on {self.path}")
            try:
                await self._session(port)
            except (serial.SerialException, OSError) as exc:
                self._status("offline", f"scanner unplugged or port lost: {exc}")
            finally:
                with contextlib.suppress(Exception):
                    port.close()
                self._framer.reset()
            await self._sleep(self.reopen_interval)

    def _open(self) -> serial.Serial:
        if not self.path.exists():
            raise FileNotFoundError(2, "No such file or directory", str(self.path))
        port = serial.Serial(str(self.path), baudrate=self.baudrate, timeout=0, exclusive=True)
        port.reset_input_buffer()
        return port

    async def _session(self, port: serial.Serial) -> None:
        loop = asyncio.get_running_loop()
        lost: asyncio.Future[Exception] = loop.create_future()
        fd = port.fileno()

        def readable() -> None:
            try:
                data = port.read(port.in_waiting or 1)
            except (serial.SerialException, OSError) as exc:
                loop.remove_reader(fd)  # a hung-up line stays readable: don't spin on it
                if not lost.done():
                    lost.set_result(exc)
                return
            for item in self._framer.feed(data, loop.time()):
                self._deliver(item)

        await self._read_until_lost(loop, fd, readable, lost)

    def _deliver(self, item: bytes | ScanError) -> None:
        output = read_line(item, "scanner") if isinstance(item, bytes) else item
        if isinstance(output, ScanError):
            log.info("scanner read refused path=%s reason=%s", self.path, output.reason)
        self.on_output(output)
