"""PIN policy, peppered argon2id hashing, sign-in backoff arithmetic and roles: no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from edge.operators import PinHasher, PinPolicyError, Role, SignInBackoff, check_pin_policy
from edge.operators.pins import peppered

NOW = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)


def test_hash_is_argon2id_with_pi_parameters_and_not_the_pin() -> None:
    hasher = PinHasher()
    pin_hash = hasher.hash("739164")
    assert "739164" not in pin_hash
    assert pin_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.hash("739164") != pin_hash  # salted
    assert hasher.verify(pin_hash, "739164")
    assert not hasher.verify(pin_hash, "739165")


def test_a_peppered_hash_does_not_verify_without_the_pepper() -> None:
    pepper = bytes(range(32))
    hasher = PinHasher()
    pin_hash = hasher.hash("739164", pepper)
    assert hasher.verify(pin_hash, "739164", pepper)
    assert not hasher.verify(pin_hash, "739164")  # the bare PIN
    assert not hasher.verify(pin_hash, "739164", bytes(32))  # another pepper
    with pytest.raises(VerifyMismatchError):  # plain argon2, as an offline cracker would run it
        PasswordHasher().verify(pin_hash, "739164")
    assert PasswordHasher().verify(pin_hash, peppered("739164", pepper))


def test_a_damaged_hash_never_verifies() -> None:
    assert not PinHasher().verify("not-a-hash", "739164")
    assert not PinHasher().verify("$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB", "739164")


def test_needs_rehash_when_parameters_differ() -> None:
    light = PinHasher(time_cost=1, memory_cost_kib=8 * 1024)
    default = PinHasher()
    assert default.needs_rehash(light.hash("739164"))
    assert not default.needs_rehash(default.hash("739164"))


@pytest.mark.parametrize(
    ("pin", "why"),
    [
        ("", "4 to 12 digits"),
        ("482", "4 to 12 digits"),
        ("4826048260482", "4 to 12 digits"),
        ("48a6", "digits only"),
        ("48 6", "digits only"),
        ("٤٨٢٦", "digits only"),  # Arabic-Indic digits: not on a keypad
        ("0000", "repeated digit"),
        ("77777777", "repeated digit"),
        ("1234", "counting up or down"),
        ("0123456789", "counting up or down"),
        ("4321", "counting up or down"),
        ("98765", "counting up or down"),
        ("8901", "counting up or down"),  # 9 and 0 are neighbours
        ("2109", "counting up or down"),
        ("2580", "along keypad lines"),
        ("0852", "along keypad lines"),
        ("1470", "along keypad lines"),
        ("3690", "along keypad lines"),
        ("7410", "along keypad lines"),  # calculator layout, 7 on top
        ("147258369", "along keypad lines"),
        ("159357", "along keypad lines"),
        ("1212", "group repeated"),
        ("6969", "group repeated"),
        ("123123", "group repeated"),
        ("2000", "most commonly chosen"),
        ("1004", "most commonly chosen"),
        ("1122", "most commonly chosen"),
    ],
)
def test_weak_or_malformed_pins_are_refused_without_echoing_them(pin: str, why: str) -> None:
    with pytest.raises(PinPolicyError, match=why) as refused:
        check_pin_policy(pin)
    if pin:
        assert pin not in str(refused.value)


@pytest.mark.parametrize(
    "pin", ["4826", "5274", "1235", "2581", "000100", "739164", "258036", "482604826048"]
)
def test_ordinary_pins_pass(pin: str) -> None:
    check_pin_policy(pin)


def test_backoff_doubles_after_the_free_failures_up_to_a_cap() -> None:
    backoff = SignInBackoff(free_failures=3, first_hold_seconds=2, max_hold_seconds=60)
    holds = [backoff.held_until(n, backoff.free_failures, NOW) for n in range(1, 10)]
    assert holds[:3] == [None, None, None]
    assert [(h - NOW).total_seconds() for h in holds[3:] if h] == [2, 4, 8, 16, 32, 60]
    assert backoff.held_until(10_000, 3, NOW) == NOW + timedelta(seconds=60)


def test_backoff_defaults_and_refuses_nonsense() -> None:
    assert SignInBackoff() == SignInBackoff(
        free_failures=3,
        address_free_failures=10,
        first_hold_seconds=2,
        max_hold_seconds=3600,
        forget_after_seconds=86400,
    )
    with pytest.raises(ValueError):
        SignInBackoff(free_failures=0)
    with pytest.raises(ValueError):
        SignInBackoff(first_hold_seconds=10, max_hold_seconds=5)
    with pytest.raises(ValueError):
        SignInBackoff(max_hold_seconds=100, forget_after_seconds=50)


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.allows(Role.TECHNICIAN) and Role.ADMIN.allows(Role.OPERATOR)
    assert Role.TECHNICIAN.allows(Role.OPERATOR) and Role.TECHNICIAN.allows(Role.TECHNICIAN)
    assert not Role.TECHNICIAN.allows(Role.ADMIN)
    assert not Role.OPERATOR.allows(Role.TECHNICIAN)
    assert Role("technician") is Role.TECHNICIAN
