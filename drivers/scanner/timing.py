"""Scanner or human? Judged per line from the gaps between key presses.

A scanner types a whole code in one burst, a few milliseconds per key; a person needs
~80–300 ms per key, unevenly. The median gap separates them and ignores a single slow key.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

InputKind = Literal["scanner", "human"]

SCANNER_MAX_GAP = 0.035  # seconds; the slowest "inter-character delay" scanner setting is ~30 ms


@dataclass(frozen=True)
class KeyTiming:
    """Timing of one line's key presses (modifiers and the terminator included), in seconds."""

    presses: int
    median_gap: float | None  # None with fewer than two presses
    max_gap: float | None
    duration: float

    @classmethod
    def from_presses(cls, times: Sequence[float]) -> KeyTiming:
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        return cls(
            presses=len(times),
            median_gap=statistics.median(gaps) if gaps else None,
            max_gap=max(gaps) if gaps else None,
            duration=times[-1] - times[0] if times else 0.0,
        )


def classify(timing: KeyTiming, scanner_max_gap: float = SCANNER_MAX_GAP) -> InputKind:
    """ "scanner" for a fast burst; "human" for slow keys, or a lone key (no burst to judge)."""
    if timing.median_gap is None:
        return "human"
    return "scanner" if timing.median_gap <= scanner_max_gap else "human"
