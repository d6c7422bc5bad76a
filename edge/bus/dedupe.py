"""Recognise a reading seen before by device id + seq (QoS 1 redelivery, outbox replay)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class _DeviceWindow:
    seen: set[int] = field(default_factory=set)
    order: deque[int] = field(default_factory=deque)


@dataclass
class SeenReadings:
    """Remembers the last `window` seqs of each device; replays arrive well within that."""

    window: int = 4096
    duplicates: int = 0
    _devices: dict[str, _DeviceWindow] = field(default_factory=dict)

    def first_time(self, device_id: str, seq: int) -> bool:
        """True the first time (device_id, seq) is offered, False for a repeat."""
        device = self._devices.setdefault(device_id, _DeviceWindow())
        if seq in device.seen:
            self.duplicates += 1
            return False
        device.seen.add(seq)
        device.order.append(seq)
        if len(device.order) > self.window:
            device.seen.discard(device.order.popleft())
        return True
