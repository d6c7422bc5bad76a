"""Repeat suppression: a label lying under the camera is published once, not every frame."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RepeatFilter:
    """Admit a code again only after it has been out of sight for `window` seconds.

    Pure: the caller passes the time (a monotonic clock), so tests drive it by hand.
    """

    window: float = 2.0
    _last_seen: dict[str, float] = field(default_factory=dict)

    def admit(self, code: str, now: float) -> bool:
        """Record a sighting of `code` at `now`; True if it should be published."""
        last = self._last_seen.get(code)
        self._last_seen[code] = now
        if len(self._last_seen) > 256:
            self._forget_before(now - self.window)
        return last is None or now - last >= self.window

    def _forget_before(self, cutoff: float) -> None:
        for code in [c for c, seen in self._last_seen.items() if seen < cutoff]:
            del self._last_seen[code]
