"""What a scanner driver hands on: a decoded code with how it was typed, or why there is none."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.codes import CodeError, ScannedCode, interpret
from drivers.scanner.timing import InputKind, KeyTiming


@dataclass(frozen=True)
class ScannerOutput:
    """One read. `kind` "human" means someone typed on the scanner's input: flag it, it is not
    a scan. `timing` is None for serial scanners (bytes carry no per-key times)."""

    code: ScannedCode
    kind: InputKind
    timing: KeyTiming | None = None

    @property
    def is_scan(self) -> bool:
        return self.kind == "scanner"


@dataclass(frozen=True)
class ScanError:
    """A read that produced no trustworthy code: dropped events, an unmapped key, noise, …"""

    reason: str
    raw: bytes  # what was decoded or received, for the log; never to be used as a code
    kind: InputKind | None = None
    timing: KeyTiming | None = None


ScannerEvent = ScannerOutput | ScanError


def read_line(
    raw: bytes, kind: InputKind, timing: KeyTiming | None = None
) -> ScannerOutput | ScanError:
    """One terminated line (terminator removed) → the code, through `drivers.codes.interpret`
    (which refuses control characters other than the GS1 separators, and overlong codes)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return ScanError("not UTF-8 text", raw, kind, timing)
    try:
        code = interpret(raw)
    except CodeError as exc:
        return ScanError(str(exc), raw, kind, timing)
    return ScannerOutput(code, kind, timing)
