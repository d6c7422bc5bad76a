"""A serial scale on a stable path: open, poll, read, normalise; offline on unplug, back on replug.

The thin I/O shell around a pure protocol: pyserial for the port, the event loop's reader
callback for incoming bytes. Everything it learns goes to `on_output` (readings, command results,
frame errors) and `on_status` (online / offline / silent, with a reason for the technician).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import serial

from drivers.scale.protocol import CommandResult, Output, ScaleProtocol, SerialSettings
from drivers.scale.reading import FrameError

log = logging.getLogger(__name__)

StatusCallback = Callable[[str, str], None]  # (state, reason)


class ScaleCommandError(Exception):
    """Zero or tare could not be done; the message says why."""


@dataclass
class ScaleDriver:
    path: Path  # e.g. /dev/serial/by-id/usb-Mettler_Toledo_…-if00: never /dev/ttyUSB0
    protocol: ScaleProtocol
    on_output: Callable[[Output], None]
    on_status: StatusCallback
    serial_settings: SerialSettings | None = None
    poll_interval: float = 0.2
    reopen_interval: float = 0.5
    silent_after: float = 3.0
    frame_errors: int = 0
    _port: serial.Serial | None = None
    _stopped: asyncio.Event = field(default_factory=asyncio.Event)
    _command_reply: asyncio.Future[CommandResult] | None = None
    _state: str = ""

    async def run(self) -> None:
        """Until stop(): keep the scale open, reopening whenever it comes back."""
        while not self._stopped.is_set():
            try:
                port = self._open()
            except (serial.SerialException, OSError) as exc:
                self._status("offline", f"cannot open {self.path}: {exc}")
                await self._sleep(self.reopen_interval)
                continue
            self._status("online", f"{self.protocol.name} on {self.path}")
            try:
                await self._session(port)
            except (serial.SerialException, OSError) as exc:
                self._status("offline", f"scale unplugged or port lost: {exc}")
            finally:
                self._close()
            await self._sleep(self.reopen_interval)

    def stop(self) -> None:
        self._stopped.set()

    async def zero(self, reply_within: float = 3.0) -> CommandResult:
        return await self._command(self.protocol.zero(), "zero", reply_within)

    async def tare(self, reply_within: float = 3.0) -> CommandResult:
        return await self._command(self.protocol.tare(), "tare", reply_within)

    # -- internals --

    def _status(self, state: str, reason: str) -> None:
        if state != self._state:
            self._state = state
            log.info("scale status path=%s state=%s reason=%s", self.path, state, reason)
            self.on_status(state, reason)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)

    def _open(self) -> serial.Serial:
        s = self.serial_settings or self.protocol.serial
        port = serial.Serial(
            str(self.path),
            baudrate=s.baudrate,
            bytesize={7: serial.SEVENBITS, 8: serial.EIGHTBITS}[s.bytesize],
            parity={"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}[
                s.parity
            ],
            stopbits={1: serial.STOPBITS_ONE, 2: serial.STOPBITS_TWO}[s.stopbits],
            timeout=0,
            exclusive=True,
        )
        port.reset_input_buffer()
        self._port = port
        return port

    def _close(self) -> None:
        if self._port is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._port.fileno())
            with contextlib.suppress(Exception):
                self._port.close()
            self._port = None
        if self._command_reply is not None and not self._command_reply.done():
            self._command_reply.set_exception(ScaleCommandError("the scale went offline"))

    async def _session(self, port: serial.Serial) -> None:
        loop = asyncio.get_running_loop()
        lost: asyncio.Future[Exception] = loop.create_future()
        heard = loop.time()

        def readable() -> None:
            nonlocal heard
            try:
                data = port.read(port.in_waiting or 1)
            except (serial.SerialException, OSError) as exc:
                if not lost.done():
                    lost.set_result(exc)
                return
            if data:
                heard = loop.time()
                self._deliver(self.protocol.feed(data))

        loop.add_reader(port.fileno(), readable)
        stopping = asyncio.ensure_future(self._stopped.wait())
        try:
            while not self._stopped.is_set():
                request = self.protocol.poll()
                if request is not None and self._command_reply is None:
                    port.write(request)
                waiting: set[asyncio.Future[object]] = {lost, stopping}  # type: ignore[arg-type]
                await asyncio.wait(
                    waiting, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
                if lost.done():
                    raise lost.result()
                if loop.time() - heard > self.silent_after:
                    self._status("silent", f"no data from the scale for {self.silent_after:.0f} s")
                elif self._state == "silent":
                    self._status("online", "the scale answers again")
        finally:
            stopping.cancel()

    def _deliver(self, outputs: list[Output]) -> None:
        for output in outputs:
            if isinstance(output, FrameError):
                self.frame_errors += 1  # a metric; one line per bad frame would flood the log
                log.debug("scale frame error path=%s reason=%s", self.path, output.reason)
            if isinstance(output, CommandResult) and self._command_reply is not None:
                if not self._command_reply.done():
                    self._command_reply.set_result(output)
                continue
            self.on_output(output)

    async def _command(
        self, request: bytes | None, name: str, reply_within: float
    ) -> CommandResult:
        if request is None:
            raise ScaleCommandError(f"this scale ({self.protocol.name}) has no {name} command")
        if self._port is None:
            raise ScaleCommandError(f"the scale is offline; cannot {name}")
        self._command_reply = asyncio.get_running_loop().create_future()
        try:
            self._port.write(request)
            return await asyncio.wait_for(self._command_reply, reply_within)
        except TimeoutError as exc:
            raise ScaleCommandError(
                f"the scale did not answer {name} within {reply_within} s"
            ) from exc
        finally:
            self._command_reply = None
