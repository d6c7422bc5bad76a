"""Operator PIN hashes: argon2id over HMAC-SHA256(pepper, PIN).

Hashing uses argon2id with OWASP's lighter recommended parameters (19 MiB, 2 passes, 1 lane)
instead of argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes): several handhelds may sign in at
shift start on a small board (about 25 ms per check on an x86 dev machine; not yet timed on a Pi).
A PIN has few possible values, so a hash alone falls to trying them all; the pepper (a random key
in the station's `keys/` folder, never in `operators.db`) goes into every hash, so a copied
database is worth nothing without the keys folder too. Hashes made before the pepper verify
against the bare PIN and are replaced at the next successful sign-in; until then they are kept
sealed (AES-GCM under a key derived from the pepper, `seal_legacy`), so an operator who has not
signed in since the upgrade is not the one whose PIN a copied database gives away.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)


def peppered(pin: str, pepper: bytes) -> str:
    """What argon2 is given for a PIN: HMAC-SHA256 keyed with the pepper, hex."""
    return hmac.new(pepper, pin.encode("utf-8"), hashlib.sha256).hexdigest()


SEALED_PREFIX = "$edge-sealed$"  # a hash of an earlier version, sealed with the pepper


def _seal_key(pepper: bytes) -> AESGCM:
    return AESGCM(hmac.new(pepper, b"edge: sealed legacy PIN hash", hashlib.sha256).digest())


def seal_legacy(pin_hash: str, pepper: bytes) -> str:
    """An unpeppered hash of an earlier version, unreadable without the pepper."""
    nonce = secrets.token_bytes(12)
    sealed = _seal_key(pepper).encrypt(nonce, pin_hash.encode(), SEALED_PREFIX.encode())
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def open_legacy(stored: str, pepper: bytes) -> str | None:
    """The hash `seal_legacy` sealed; None if it was sealed with another pepper (or is garbled)."""
    try:
        raw = base64.urlsafe_b64decode(stored.removeprefix(SEALED_PREFIX))
        return _seal_key(pepper).decrypt(raw[:12], raw[12:], SEALED_PREFIX.encode()).decode()
    except (ValueError, InvalidTag):
        return None


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

    def hash(self, pin: str, pepper: bytes | None = None) -> str:
        """The hash to store; `pepper=None` only for hashes of earlier versions (tests)."""
        return self._hasher.hash(pin if pepper is None else peppered(pin, pepper))

    def verify(self, pin_hash: str, pin: str, pepper: bytes | None = None) -> bool:
        """Whether `pin` matches; give the pepper the hash was made with (None: made without)."""
        secret = pin if pepper is None else peppered(pin, pepper)
        try:
            return self._hasher.verify(pin_hash, secret)
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
        self.verify(self._dummy_hash, pin, self._dummy_pepper)

    @functools.cached_property
    def _dummy_pepper(self) -> bytes:
        return secrets.token_bytes(32)

    @functools.cached_property
    def _dummy_hash(self) -> str:
        return self.hash(secrets.token_hex(16), self._dummy_pepper)
