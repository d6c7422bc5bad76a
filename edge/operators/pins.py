"""Operator PINs: the policy a new PIN must meet, argon2id hashing, and lockout after guesses.

Hashing uses argon2id with OWASP's lighter recommended parameters (19 MiB, 2 passes, 1 lane)
instead of argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes): several handhelds may sign in at
shift start on a small board (about 25 ms per check on an x86 dev machine; not yet timed on a Pi).
A PIN has few possible values, so the hash only keeps PINs from being read off a copied database
at a glance; what stops guessing is the lockout (and, for badge sign-in, needing the badge).
"""

from __future__ import annotations

import functools
import itertools
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from edge.operators.errors import PinPolicyError

log = logging.getLogger(__name__)

MIN_PIN_LENGTH = 4
MAX_PIN_LENGTH = 12


def check_pin_policy(pin: str) -> None:
    """Refuse a new PIN that is not 4–12 digits or is trivially guessable. Never echoes the PIN."""
    if not MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH:
        raise PinPolicyError(
            f"a PIN is {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} digits; this one has {len(pin)} "
            "characters"
        )
    if not (pin.isascii() and pin.isdigit()):
        raise PinPolicyError("a PIN is digits only (0-9), so it can be typed on a keypad")
    if len(set(pin)) == 1:
        raise PinPolicyError("a PIN of one repeated digit is too easy to guess")
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if steps in ({1}, {-1}):
        raise PinPolicyError("a PIN of digits counting up or down by one is too easy to guess")


class PinHasher:
    """argon2id PIN hashes (PHC strings such as `$argon2id$v=19$m=19456,t=2,p=1$…`)."""

    def __init__(
        self, *, time_cost: int = 2, memory_cost_kib: int = 19 * 1024, parallelism: int = 1
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost_kib,
            parallelism=parallelism,
            type=Type.ID,
        )

    def hash(self, pin: str) -> str:
        return self._hasher.hash(pin)

    def verify(self, pin_hash: str, pin: str) -> bool:
        try:
            return self._hasher.verify(pin_hash, pin)
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError):
            log.warning("stored PIN hash cannot be verified; treating as a wrong PIN")
            return False

    def needs_rehash(self, pin_hash: str) -> bool:
        """Whether the hash was made with other parameters than ours (rehash on success)."""
        try:
            return self._hasher.check_needs_rehash(pin_hash)
        except (InvalidHashError, ValueError):
            return True

    def verify_nothing(self, pin: str) -> None:
        """Spend the time of a real verify, so an unknown badge answers as slowly as a known one."""
        self.verify(self._dummy_hash, pin)

    @functools.cached_property
    def _dummy_hash(self) -> str:
        return self.hash(secrets.token_hex(16))


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """After `max_failures` wrong PINs in a row the operator is locked for `lock_seconds`.

    The count is only reset by a correct PIN or an admin (unlock, new PIN): after a lock expires,
    each further wrong PIN locks again at once, so guessing is held to one try per lock period.
    """

    max_failures: int = 5
    lock_seconds: int = 300

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.lock_seconds < 1:
            raise ValueError("a lockout policy needs max_failures >= 1 and lock_seconds >= 1")

    def after_failure(self, failures_before: int, now: datetime) -> tuple[int, datetime | None]:
        """The new failure count, and the time the operator is locked until (None: not locked)."""
        failures = failures_before + 1
        if failures >= self.max_failures:
            return failures, now + timedelta(seconds=self.lock_seconds)
        return failures, None
