"""A serial scanner's byte stream → lines: CR, LF or CR LF terminated, bounded, resynchronising."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from drivers.scanner.output import ScanError

_END = re.compile(rb"[\r\n]")


@dataclass
class LineFramer:
    """Bytes in, complete lines out. A line longer than `max_length` is refused and skipped up
    to the next terminator; a partial line left for `stale_after` seconds (a scanner sends a
    code in one burst) is refused when more bytes come, so noise never prefixes a code."""

    max_length: int = 4096
    stale_after: float = 1.0
    _buffer: bytearray = field(default_factory=bytearray)
    _started: float | None = None  # when the partial line in the buffer began
    _overlong: bool = False  # skipping the rest of a refused line

    def feed(self, data: bytes, now: float) -> list[bytes | ScanError]:
        out: list[bytes | ScanError] = []
        if self._started is not None and now - self._started > self.stale_after:
            if self._buffer:
                partial = bytes(self._buffer)
                out.append(ScanError("incomplete line: no CR or LF followed", partial, "scanner"))
            self.reset()
        if self._started is None:
            self._started = now
        self._buffer += data
        while (end := _END.search(self._buffer)) is not None:
            line = bytes(self._buffer[: end.start()])
            del self._buffer[: end.end()]
            self._started = now if self._buffer else None
            if self._overlong:
                self._overlong = False
            elif len(line) > self.max_length:
                out.append(self._too_long(line))
            elif line:  # empty: the LF of a CR LF, or a blank line
                out.append(line)
        if len(self._buffer) > self.max_length:
            if not self._overlong:
                out.append(self._too_long(bytes(self._buffer)))
            self._overlong = True
            self._buffer.clear()
        return out

    def reset(self) -> None:
        self._buffer.clear()
        self._started = None
        self._overlong = False

    def _too_long(self, line: bytes) -> ScanError:
        reason = f"line longer than {self.max_length} bytes"
        return ScanError(reason, line[: self.max_length], "scanner")
