"""Helpers shared by the scanner tests: hand-written key events, a device node, waiting."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evdev import InputEvent
from evdev import ecodes as e

from drivers.scanner import KeyDecoder, ScanError, ScannerEvent, ScannerOutput, get_layout
from drivers.scanner.decoder import Decoded, DecodedLine, Terminator
from drivers.sim.keystreams import ReplayDevice


class Keys:
    """Key events written by hand, 3 ms apart: independent of drivers.sim.keystreams."""

    def __init__(self, start: float = 100.0, step: float = 0.003) -> None:
        self.clock = start
        self.step = step
        self.events: list[InputEvent] = []

    def raw(self, type_: int, code: int, value: int) -> Keys:
        micros = round(self.clock * 1_000_000)
        self.events.append(InputEvent(micros // 1_000_000, micros % 1_000_000, type_, code, value))
        return self

    def _key(self, code: int, value: int) -> Keys:
        self.raw(e.EV_KEY, code, value).raw(e.EV_SYN, e.SYN_REPORT, 0)
        self.clock += self.step
        return self

    def down(self, *codes: int) -> Keys:
        for code in codes:
            self._key(code, 1)
        return self

    def up(self, *codes: int) -> Keys:
        for code in codes:
            self._key(code, 0)
        return self

    def tap(self, *codes: int) -> Keys:
        for code in codes:
            self.down(code).up(code)
        return self

    def repeat(self, code: int, times: int) -> Keys:
        for _ in range(times):
            self._key(code, 2)
        return self

    def wait(self, seconds: float) -> Keys:
        self.clock += seconds
        return self


def decode(
    events: list[InputEvent],
    layout: str = "us",
    terminator: Terminator = "enter",
    *,
    idle_gap: float = 0.08,
    max_length: int = 4096,
) -> list[Decoded]:
    decoder = KeyDecoder(get_layout(layout), terminator, idle_gap, max_length)
    return decoder.feed_all(events)


def texts(decoded: list[Decoded]) -> list[str]:
    """The decoded lines as text; an error becomes "ERROR: reason"."""
    return [
        d.data.decode() if isinstance(d, DecodedLine) else f"ERROR: {d.reason}" for d in decoded
    ]


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@dataclass
class Seen:
    outputs: list[ScannerEvent] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)

    def status(self, state: str, reason: str) -> None:
        self.statuses.append((state, reason))

    def codes(self) -> list[ScannerOutput]:
        return [o for o in self.outputs if isinstance(o, ScannerOutput)]

    def errors(self) -> list[ScanError]:
        return [o for o in self.outputs if isinstance(o, ScanError)]

    def states(self) -> list[str]:
        return [state for state, _ in self.statuses]


@dataclass
class InputNode:
    """/dev/input/by-id/…-event-kbd: plugged in and out by the test; each open is a new fd."""

    path: Path
    devices: list[ReplayDevice] = field(default_factory=list)
    opens: int = 0
    grab_error: OSError | None = None  # what grab() raises on the next opens
    plugged: bool = False

    @property
    def device(self) -> ReplayDevice:
        """The most recently opened device."""
        return self.devices[-1]

    def plug(self) -> None:
        self.plugged = True
        self.path.touch()

    def unplug(self) -> None:
        self.plugged = False
        self.path.unlink()
        for device in self.devices:
            if not device.closed:
                device.unplug()

    def open(self, path: Path) -> ReplayDevice:
        assert path == self.path
        self.opens += 1
        if not self.plugged or not path.exists():
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
        device = ReplayDevice()
        device.grab_error = self.grab_error
        self.devices.append(device)
        return device
