"""Driver kinds, found through the `edge.drivers` entry-point group (built-ins included).

A third-party driver registers exactly as ours do: an entry point naming a `DriverKind`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Literal, Protocol

from drivers.profile import DeviceSlot
from drivers.publisher import DevicePublisher
from edge.bus.topics import READING_KINDS, ReadingKind

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "edge.drivers"
ProcessName = Literal["drivers", "camera"]


class RunningDevice(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class DriverKind:
    name: str
    process: ProcessName  # which process hosts it: the light ones share `edge drivers`
    build: Callable[[DeviceSlot, DevicePublisher], RunningDevice]
    summary: str = ""
    # The readings its devices publish (besides their status and command replies): the broker
    # lets its process write only these topics of its slots. A third-party kind that says
    # nothing may write any.
    publishes: tuple[ReadingKind, ...] = READING_KINDS


class UnknownDriverError(LookupError):
    """A profile names a device kind no installed driver provides."""


def driver_kinds() -> dict[str, DriverKind]:
    kinds: dict[str, DriverKind] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            kind = ep.load()
        except Exception:
            log.exception("driver plugin %s (%s) failed to load; skipped", ep.name, ep.value)
            continue
        if not isinstance(kind, DriverKind):
            log.error("entry point %s does not name a DriverKind; skipped", ep.value)
            continue
        kinds[kind.name] = kind
    return kinds


def kind_for(slot: DeviceSlot, kinds: dict[str, DriverKind]) -> DriverKind:
    try:
        return kinds[slot.kind]
    except KeyError:
        known = ", ".join(sorted(kinds)) or "none installed"
        raise UnknownDriverError(
            f"device {slot.id!r}: no driver for kind {slot.kind!r} (installed: {known})"
        ) from None
