"""Simulated serial scales on a pty pair: the far end of the cable, for tests and the demo.

The simulator owns the pty master and speaks one protocol as the real device would (it writes
its own frames; it does not reuse the parsers). The driver opens the pty's slave through a
stable symlink, as it would open /dev/serial/by-id/…; unplugging closes the pty and removes
the link, replugging makes a new pty behind the same link.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

from drivers.sim.pty_cable import PtyCable

SimProtocol = Literal["mtsics", "toledo8217", "indicator", "and"]
GARBAGE = b"\x00\xff#~\x13noise"


def _even_parity(data: bytes) -> bytes:
    """7-bit characters with even parity in bit 7: what a 7E1 line carries."""
    return bytes(b | 0x80 if bin(b).count("1") % 2 else b for b in data)


@dataclass
class Platter:
    grams: Decimal = Decimal(0)
    settling: int = 0  # readings still to report as moving
    capacity_grams: Decimal = Decimal(30000)
    zero_offset: Decimal = Decimal(0)
    tare: Decimal = Decimal(0)
    garbage: bool = False  # a noise burst before every third frame
    silent: bool = False  # stops answering / streaming
    jitter: bool = False  # never settles
    busy: int = 0  # replies still to answer "ask again" (MT-SICS `S I`, 8217 motion status)
    commands: list[bytes] = field(default_factory=list)


class ScaleSimulator:
    def __init__(
        self,
        protocol: SimProtocol,
        link: Path,
        *,
        unit: Literal["kg", "lb", "g"] = "kg",
        stream_interval: float = 0.02,
    ) -> None:
        self.protocol = protocol
        self.link = link
        self.unit = unit
        self.stream_interval = stream_interval
        self.state = Platter()
        self._lock = threading.Lock()
        self._cable = PtyCable(link)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._frames = 0

    # -- the cable --

    @property
    def _master(self) -> int | None:
        return self._cable.master

    def plug(self) -> None:
        self._cable.plug()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._serve, name=f"sim-{self.protocol}", daemon=True
        )
        self._thread.start()

    def unplug(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._cable.unplug()

    def __enter__(self) -> ScaleSimulator:
        self.plug()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._master is not None:
            self.unplug()

    # -- what is on the platter --

    def place(self, grams: str | Decimal, settling: int = 2) -> None:
        with self._lock:
            self.state.grams = Decimal(grams)
            self.state.settling = settling

    def set(self, **faults: bool) -> None:
        with self._lock:
            for name, value in faults.items():
                setattr(self.state, name, value)

    def answer_busy(self, times: int) -> None:
        """The next `times` weight requests get "ask again" instead of a weight."""
        with self._lock:
            self.state.busy = times

    @property
    def commands(self) -> list[bytes]:
        with self._lock:
            return list(self.state.commands)

    # -- the device --

    def _serve(self) -> None:
        assert self._master is not None
        master = self._master
        pending = b""
        while not self._stop.is_set():
            timeout = self.stream_interval if self.protocol in ("indicator", "and") else 0.05
            ready, _, _ = select.select([master], [], [], timeout)
            if ready:
                try:
                    pending += os.read(master, 256)
                except OSError:
                    return
            if self.protocol in ("indicator", "and"):
                for command in self._take_commands(pending, b"\r\n"):
                    self._write(self._answer_command(command))
                pending = pending[pending.rfind(b"\r\n") + 2 :] if b"\r\n" in pending else pending
                self._write(self._frame())
            elif self.protocol == "mtsics":
                for command in self._take_commands(pending, b"\r\n"):
                    self._write(self._answer_command(command))
                pending = pending[pending.rfind(b"\r\n") + 2 :] if b"\r\n" in pending else pending
            else:  # toledo8217: single letters, no terminator
                for letter in pending:
                    self._write(self._answer_command(bytes([letter])))
                pending = b""

    def _take_commands(self, pending: bytes, end: bytes) -> list[bytes]:
        return [c for c in pending.split(end)[:-1] if c]

    def _write(self, data: bytes | None) -> None:
        if not data or self._master is None:
            return
        with self._lock:
            if self.state.silent:
                return
            self._frames += 1
            if self.state.garbage and self._frames % 3 == 0:
                data = GARBAGE + data
        with contextlib.suppress(OSError):  # unplugged while writing
            os.write(self._master, data)

    def _reading(self) -> tuple[Decimal, bool, bool]:
        """(displayed grams, stable, overloaded), advancing the settling count."""
        with self._lock:
            s = self.state
            stable = s.settling <= 0 and not s.jitter
            if s.settling > 0:
                s.settling -= 1
            wobble = Decimal("0") if stable else Decimal("3.5")
            shown = s.grams - s.zero_offset - s.tare + wobble
            return shown, stable, s.grams > s.capacity_grams

    def _answer_command(self, command: bytes) -> bytes | None:
        with self._lock:
            self.state.commands.append(command)
        if command in (b"SI", b"S", b"W"):
            return self._frame()
        if command in (b"Z", b"T") and self.protocol in ("mtsics", "toledo8217"):
            # Like the real scales: zero and tare apply only while the load is stable.
            shown, stable, _ = self._reading()
            if stable:
                with self._lock:
                    if command == b"Z":
                        self.state.zero_offset += shown
                    else:
                        self.state.tare += shown
            return self._command_reply(command, stable, shown)
        if self.protocol == "mtsics":
            return b"ES\r\n"
        return None

    def _command_reply(self, command: bytes, done: bool, shown: Decimal) -> bytes:
        if self.protocol == "mtsics":
            if not done:
                return command + b" I\r\n"
            return b"Z A\r\n" if command == b"Z" else f"T S {shown:>10.2f} g\r\n".encode()
        # 8217 answers with its status byte: motion (0x41), or centre of zero after a zero.
        status = 0x41 if not done else (0x50 if command == b"Z" else 0x40)
        return _even_parity(b"\x02?" + bytes([status]) + b"\r")

    def _take_busy(self) -> bool:
        with self._lock:
            if self.state.busy > 0:
                self.state.busy -= 1
                return True
            return False

    def _frame(self) -> bytes:
        if self._take_busy() and self.protocol in ("mtsics", "toledo8217"):
            if self.protocol == "mtsics":
                return b"S I\r\n"
            return _even_parity(b"\x02?" + bytes([0x41]) + b"\r")
        shown, stable, over = self._reading()
        kg = shown / 1000
        if self.protocol == "mtsics":
            if over:
                return b"S +\r\n"
            return f"S {'S' if stable else 'D'} {shown:>10.2f} g\r\n".encode()
        if self.protocol == "toledo8217":
            if over:
                return _even_parity(b"\x02?" + bytes([0x42]) + b"\r")
            if not stable:
                return _even_parity(b"\x02?" + bytes([0x41]) + b"\r")
            if shown < 0:
                return _even_parity(b"\x02?" + bytes([0x44]) + b"\r")
            value = f"{kg:06.3f}" if self.unit == "kg" else f"{shown / Decimal('453.59237'):06.2f}"
            return _even_parity(b"\x02" + value.encode() + b"\r")
        sign = "+" if shown >= 0 else "-"
        if self.protocol == "indicator":
            header = "OL" if over else ("ST" if stable else "US")
            return f"{header},GS,{sign}{abs(kg):7.3f}kg\r\n".encode()
        if over:  # A&D standard format: data and unit give way to the overload mark
            return b"OL,+9999999E+19\r\n"
        header = "ST" if stable else "US"
        return f"{header},{sign}{abs(shown):08.2f}  g\r\n".encode()
