"""A keyboard-wedge scanner on an evdev node: grab, decode, classify; offline on unplug.

The thin I/O shell around `KeyDecoder`. The node is grabbed exclusively, or a headless station
would type every scan into its console. The device is opened through `open_device`, so tests
and the demo drive this same code with a stand-in (`drivers.sim.keystreams.ReplayDevice`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import evdev
from evdev import InputEvent
from evdev import ecodes as e

from drivers.scanner.calibration import CALIBRATION_TEXT, CalibrationError, detect_layout
from drivers.scanner.decoder import Decoded, DecodedLine, KeyDecoder, Terminator
from drivers.scanner.layout import get_layout
from drivers.scanner.output import ScanError, ScannerOutput, read_line
from drivers.scanner.shell import ScannerShell, explain
from drivers.scanner.timing import SCANNER_MAX_GAP, classify

log = logging.getLogger(__name__)


class InputDeviceLike(Protocol):
    """The part of `evdev.InputDevice` the driver uses."""

    fd: int

    def grab(self) -> None: ...

    def ungrab(self) -> None: ...

    def read(self) -> Iterable[InputEvent]: ...  # BlockingIOError when empty; OSError when gone

    def close(self) -> None: ...


def open_evdev(path: Path) -> InputDeviceLike:
    device: InputDeviceLike = evdev.InputDevice(str(path))
    return device


@dataclass
class WedgeScanner(ScannerShell):
    layout: str = "us"  # the keyboard layout the scanner emulates: a module in scanner.layouts
    terminator: Terminator = "enter"
    idle_gap: float = 0.08  # seconds without a key that end a line when terminator="idle"
    scanner_max_gap: float = SCANNER_MAX_GAP  # median key gap above this is a person typing
    max_length: int = 4096
    open_device: Callable[[Path], InputDeviceLike] = open_evdev
    detected_layout: str | None = None  # from the last calibration scan
    _decoder: KeyDecoder = field(init=False)
    _silence_timer: asyncio.TimerHandle | None = None

    def __post_init__(self) -> None:
        self._decoder = KeyDecoder(
            get_layout(self.layout), self.terminator, self.idle_gap, self.max_length
        )

    async def run(self) -> None:
        """Until stop(): keep the scanner open and grabbed, reopening whenever it comes back."""
        while not self._stopped.is_set():
            if not self.path.exists():
                self._status("offline", f"waiting for {self.path}: scanner not plugged in")
                await self._sleep(self.reopen_interval)
                continue
            try:
                device = self._open()
            except OSError as exc:
                self._status("offline", f"cannot open {self.path}: {explain(exc)}")
                await self._sleep(self.reopen_interval)
                continue
            self._status("online", f"scanner on {self.path}, layout {self.layout}, grabbed")
            try:
                await self._session(device)
            except OSError as exc:
                self._status("offline", explain(exc))
            finally:
                self._close(device)
            await self._sleep(self.reopen_interval)

    # -- internals --

    def _open(self) -> InputDeviceLike:
        device = self.open_device(self.path)
        try:
            device.grab()
        except OSError:
            with contextlib.suppress(OSError):
                device.close()
            raise
        return device

    def _close(self, device: InputDeviceLike) -> None:
        if self._silence_timer is not None:
            self._silence_timer.cancel()
        for release in (device.ungrab, device.close):
            with contextlib.suppress(OSError):
                release()
        gone = "the scanner went away while typing a code (unplugged or stopped)"
        self._deliver(self._decoder.abandon(gone))

    async def _session(self, device: InputDeviceLike) -> None:
        loop = asyncio.get_running_loop()
        lost: asyncio.Future[OSError] = loop.create_future()
        fd = device.fd

        def readable() -> None:
            try:
                events = list(device.read())
            except BlockingIOError:
                return
            except OSError as exc:
                loop.remove_reader(fd)  # a vanished node stays readable: don't spin on it
                if not lost.done():
                    lost.set_result(exc)
                return
            self._deliver(self._decoder.feed_all(events))
            self._arm_silence(loop)

        await self._read_until_lost(loop, fd, readable, lost)

    def _arm_silence(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._silence_timer is not None:
            self._silence_timer.cancel()
            self._silence_timer = None
        if self._decoder.waiting:
            self._silence_timer = loop.call_later(self.idle_gap, self._on_silence)

    def _on_silence(self) -> None:
        self._silence_timer = None
        self._deliver(self._decoder.silence())

    def _deliver(self, decoded: list[Decoded]) -> None:
        for item in decoded:
            if self._is_calibration(item.events):
                continue
            kind = classify(item.timing, self.scanner_max_gap) if item.timing else None
            output: ScannerOutput | ScanError
            if isinstance(item, DecodedLine):
                output = read_line(item.data, kind or "human", item.timing)
            else:
                output = ScanError(item.reason, item.partial, kind, item.timing)
            if kind == "human":
                log.warning("typing on the scanner input path=%s", self.path)
            elif isinstance(output, ScanError):
                log.info("scanner read refused path=%s reason=%s", self.path, output.reason)
            self.on_output(output)

    def _is_calibration(self, events: tuple[InputEvent, ...]) -> bool:
        """A scan of the calibration code: report the layout it shows instead of a code."""
        presses = sum(1 for ev in events if ev.type == e.EV_KEY and ev.value == 1)
        if presses < len(CALIBRATION_TEXT):
            return False
        try:
            found = detect_layout(events)
        except CalibrationError:
            return False
        self.detected_layout = found
        if found == self.layout:
            self._status("online", f"calibration scan: layout {found} confirmed", again=True)
        else:
            self._status(
                "attention",
                f"calibration scan: the scanner types the {found} layout, the profile says "
                f'{self.layout}; set layout = "{found}"',
                again=True,
            )
        return True
