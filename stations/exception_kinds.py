"""Exception kinds and their properties: rules (four eyes, returns review) read a property of
the kind, never an exception's name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExceptionKind:
    name: str
    # Resolving it decides what the customer is paid (a revised payout, paying for a device
    # other than the one declared): a second person with the admin role must resolve it, and
    # the unit cannot be routed while it is open.
    changes_payout: bool = False


_PAYOUT = (
    "damage_beyond_disclosure",  # worse than declared: revised payout
    "device_mismatch",  # another make/model than declared: substitution
    "imei_mismatch",  # another phone than declared or scanned
    "imei_invalid",  # the phone's IMEI cannot identify it against its trade-in
)
KINDS: dict[str, ExceptionKind] = {
    name: ExceptionKind(name, changes_payout=True) for name in _PAYOUT
}


def kind(name: str) -> ExceptionKind:
    """The kind's properties; a kind not listed changes nothing but its own record."""
    return KINDS.get(name) or ExceptionKind(name)


def payout_kinds() -> tuple[str, ...]:
    return tuple(sorted(n for n, k in KINDS.items() if k.changes_payout))
