"""How long sign-ins are held back after failures: exponential, per client address.

Failures are counted per (client address, badge or operator id) and per client address over all
credentials, never per person: a stranger typing wrong PINs against someone's badge holds back
only their own device, and the same counting applies to badges that exist and badges that do not,
so the answers reveal nothing. A correct PIN clears the counts of its address; an admin's unlock
clears every address's count for that operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class SignInBackoff:
    """`free_failures` failures in a row cost nothing; each one after holds the pair back for
    `first_hold_seconds`, doubling up to `max_hold_seconds`. A count is forgotten
    `forget_after_seconds` after its last failure. An address gets `address_free_failures`
    over all the badges and ids it tries."""

    free_failures: int = 3
    address_free_failures: int = 10
    first_hold_seconds: float = 2.0
    max_hold_seconds: float = 3600.0
    forget_after_seconds: float = 86400.0

    def __post_init__(self) -> None:
        if min(self.free_failures, self.address_free_failures) < 1:
            raise ValueError("a sign-in backoff allows at least one failure before holding back")
        if not 0 < self.first_hold_seconds <= self.max_hold_seconds:
            raise ValueError("a sign-in backoff needs 0 < first_hold_seconds <= max_hold_seconds")
        if self.forget_after_seconds < self.max_hold_seconds:
            raise ValueError("forget_after_seconds must be at least max_hold_seconds")

    def held_until(self, failures: int, free: int, last_failure: datetime) -> datetime | None:
        """Until when a count of `failures` (the last at `last_failure`) holds sign-ins back."""
        if failures <= free:
            return None
        doublings = min(failures - free - 1, 64)
        seconds = min(self.first_hold_seconds * 2**doublings, self.max_hold_seconds)
        return last_failure + timedelta(seconds=seconds)

    @property
    def forget_after(self) -> timedelta:
        return timedelta(seconds=self.forget_after_seconds)
