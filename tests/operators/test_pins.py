"""PIN policy, argon2id hashing, lockout arithmetic and roles: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.operators import LockoutPolicy, PinHasher, PinPolicyError, Role, check_pin_policy

NOW = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)


def test_hash_is_argon2id_with_pi_parameters_and_not_the_pin() -> None:
    hasher = PinHasher()
    pin_hash = hasher.hash("739164")
    assert "739164" not in pin_hash
    assert pin_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.hash("739164") != pin_hash  # salted
    assert hasher.verify(pin_hash, "739164")
    assert not hasher.verify(pin_hash, "739165")


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
    ],
)
def test_weak_or_malformed_pins_are_refused_without_echoing_them(pin: str, why: str) -> None:
    with pytest.raises(PinPolicyError, match=why) as refused:
        check_pin_policy(pin)
    if pin:
        assert pin not in str(refused.value)


@pytest.mark.parametrize("pin", ["4826", "2580", "1235", "000100", "739164", "482604826048"])
def test_ordinary_pins_pass(pin: str) -> None:
    check_pin_policy(pin)


def test_lockout_policy_locks_at_the_nth_failure() -> None:
    policy = LockoutPolicy(max_failures=3, lock_seconds=60)
    assert policy.after_failure(0, NOW) == (1, None)
    assert policy.after_failure(1, NOW) == (2, None)
    assert policy.after_failure(2, NOW) == (3, NOW + timedelta(seconds=60))
    # after a lock runs out, each further failure locks again
    assert policy.after_failure(3, NOW) == (4, NOW + timedelta(seconds=60))


def test_lockout_policy_defaults_and_refuses_nonsense() -> None:
    assert LockoutPolicy() == LockoutPolicy(max_failures=5, lock_seconds=300)
    with pytest.raises(ValueError):
        LockoutPolicy(max_failures=0)


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.allows(Role.TECHNICIAN) and Role.ADMIN.allows(Role.OPERATOR)
    assert Role.TECHNICIAN.allows(Role.OPERATOR) and Role.TECHNICIAN.allows(Role.TECHNICIAN)
    assert not Role.TECHNICIAN.allows(Role.ADMIN)
    assert not Role.OPERATOR.allows(Role.TECHNICIAN)
    assert Role("technician") is Role.TECHNICIAN
