"""What a scanner driver hands on: a decoded code with how it was typed, or why there is none."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.codes import CodeError, ScannedCode, interpret
from drivers.scanner.timing import InputKind, KeyTiming

# Control characters a code may carry: ISO/IEC 15434 (EOT, FS, GS, RS) and tab. Any other is
# line noise or a misconfigured scanner, not data.
_ALLOWED_CONTROLS = frozenset(b"\x04\x09\x1c\x1d\x1e")


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
    """One terminated line (terminator removed) → the code, through `drivers.codes.interpret`."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return ScanError("not UTF-8 text", raw, kind, timing)
    stray = next((b for b in raw if (b < 0x20 or b == 0x7F) and b not in _ALLOWED_CONTROLS), None)
    if stray is not None:
        return ScanError(f"control character 0x{stray:02x} in the read", raw, kind, timing)
    try:
        code = interpret(raw)
    except CodeError as exc:
        return ScanError(str(exc), raw, kind, timing)
    return ScannerOutput(code, kind, timing)
