"""Which process publishes for which device slot of a profile: what the broker's ACL grants.

The same rule `DriverHost` follows (a slot's kind names its process: cameras in `edge camera`,
the rest in `edge drivers`), plus each process's own `proc-…` status slot.
"""

from __future__ import annotations

from drivers.host import RESERVED_PREFIX
from drivers.profile import ProfileError, StationProfile
from drivers.registry import DriverKind, ProcessName, driver_kinds, kind_for

PROCESSES: tuple[ProcessName, ...] = ("drivers", "camera")


def hosted_slots(
    profile: StationProfile, kinds: dict[str, DriverKind] | None = None
) -> dict[str, tuple[str, ...]]:
    """Device slots per process for the ACL; `UnknownDriverError` for a kind nobody provides,
    `ProfileError` for a slot named like a process's own."""
    kinds = kinds if kinds is not None else driver_kinds()
    hosted: dict[str, list[str]] = {process: [RESERVED_PREFIX + process] for process in PROCESSES}
    for slot in profile.devices:
        if slot.id.startswith(RESERVED_PREFIX):
            raise ProfileError(
                f"device slot {slot.id!r}: the prefix {RESERVED_PREFIX!r} is reserved"
            )
        if slot.enabled:
            hosted[kind_for(slot, kinds).process].append(slot.id)
    return {process: tuple(slots) for process, slots in hosted.items()}


def slot_publishes(
    profile: StationProfile, kinds: dict[str, DriverKind] | None = None
) -> dict[str, tuple[str, ...]]:
    """The readings each hosted slot may publish, as its kind declares (`DriverKind.publishes`);
    a process's own `proc-…` slot publishes only its status. With `hosted_slots`, the ACL."""
    kinds = kinds if kinds is not None else driver_kinds()
    publishes: dict[str, tuple[str, ...]] = {RESERVED_PREFIX + process: () for process in PROCESSES}
    for slot in profile.devices:
        if slot.enabled:
            publishes[slot.id] = tuple(kind_for(slot, kinds).publishes)
    return publishes
