"""Splitting a byte stream into frames, and resynchronising after garbage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from drivers.scale.reading import FrameError

T = TypeVar("T")


@dataclass
class Framer:
    """Frames end with `end`; a frame may have to start with `start`. Bytes before a start
    marker, and frames longer than `max_length`, are handed back as garbage."""

    end: bytes
    start: bytes = b""
    max_length: int = 64
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        """(bytes, is_frame) pairs in order; is_frame False marks discarded garbage."""
        self._buffer += data
        out: list[tuple[bytes, bool]] = []
        while True:
            if self.start:
                at = self._buffer.find(self.start)
                if at < 0:
                    # Keep a possible partial start marker at the end; the rest is garbage.
                    keep = len(self.start) - 1
                    if len(self._buffer) > keep:
                        cut = len(self._buffer) - keep
                        out.append((bytes(self._buffer[:cut]), False))
                        del self._buffer[:cut]
                    return out
                if at > 0:
                    out.append((bytes(self._buffer[:at]), False))
                    del self._buffer[:at]
            end = self._buffer.find(self.end, len(self.start))
            if end < 0:
                if len(self._buffer) > self.max_length:
                    out.append((bytes(self._buffer), False))
                    self._buffer.clear()
                return out
            frame_end = end + len(self.end)
            frame = bytes(self._buffer[:frame_end])
            del self._buffer[:frame_end]
            if len(frame) > self.max_length:
                out.append((frame, False))
            else:
                out.append((frame, True))

    def parse(self, data: bytes, parse: Callable[[bytes], T], garbage: str) -> list[T | FrameError]:
        """Feed bytes; each complete frame goes through `parse`, garbage becomes a FrameError."""
        return [
            parse(chunk) if is_frame else FrameError(chunk, garbage)
            for chunk, is_frame in self.feed(data)
        ]


def ascii_line(frame: bytes) -> str | FrameError:
    """A CR LF terminated frame as text, or why it is not text."""
    try:
        return frame[:-2].decode("ascii")
    except UnicodeDecodeError:
        return FrameError(frame, "not ASCII")
