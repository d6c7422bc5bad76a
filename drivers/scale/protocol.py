"""The interface every scale protocol module implements (pure: bytes in, readings out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from drivers.scale.reading import FrameError, ScaleReading


@dataclass(frozen=True)
class SerialSettings:
    """Line settings a protocol expects by default; a station profile may override them."""

    baudrate: int = 9600
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1


@dataclass(frozen=True)
class CommandResult:
    """The scale's answer to zero or tare."""

    command: Literal["zero", "tare"]
    ok: bool
    detail: str
    raw: bytes


@dataclass(frozen=True)
class Info:
    """A frame that is valid but carries no weight (power-on banner, piece count, tare display)."""

    detail: str
    raw: bytes


Output = ScaleReading | CommandResult | Info | FrameError


class ScaleProtocol(Protocol):
    name: str
    serial: SerialSettings

    def poll(self) -> bytes | None:
        """Bytes to send to ask for a reading; None for scales that stream by themselves."""

    def zero(self) -> bytes | None:
        """Bytes that zero the scale; None if the protocol has no such command."""

    def tare(self) -> bytes | None:
        """Bytes that tare the scale; None if the protocol has no such command."""

    def feed(self, data: bytes) -> list[Output]:
        """Bytes read from the line, in any chunking; every complete frame becomes an output."""
