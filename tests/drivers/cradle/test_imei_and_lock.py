"""IMEI classification and the lock / FRP rules (pure)."""

from __future__ import annotations

import pytest

from drivers.cradle.adb import DevicePolicy
from drivers.cradle.imei import read_imei
from drivers.cradle.lock import android_lock
from edge.limits import MAX_CODE_LENGTH


def test_valid_imei() -> None:
    imei = read_imei("490154203237518\n", "ideviceinfo InternationalMobileEquipmentIdentity")
    assert (imei.state, imei.value, imei.source) == (
        "valid",
        "490154203237518",
        "ideviceinfo InternationalMobileEquipmentIdentity",
    )


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("490154203237519", "Luhn"),  # check digit off by one
        ("49015420323751", "not 15 digits"),  # 14 digits
        ("4901542032375180", "not 15 digits"),  # an IMEISV is not an IMEI
        ("A0000012345678", "not 15 digits"),  # a CDMA MEID
        ("000000000000000", "placeholder"),  # passes Luhn, but a modem that lost its IMEI
    ],
)
def test_invalid_imei_keeps_raw(raw: str, why: str) -> None:
    imei = read_imei(raw, "adb service call iphonesubinfo 1")
    assert imei.state == "invalid"
    assert imei.value is None
    assert imei.raw == raw
    assert why in imei.reason


@pytest.mark.parametrize(
    ("raw", "shown", "why"),
    [
        ("35291109876543\x003", "35291109876543\\x003", "control characters"),
        ("3" * 3000, "3" * (512 - 18) + "…(3000 characters)", "not 15 digits (3000 characters)"),
    ],
)
def test_invalid_imei_raw_is_printable_and_bounded(raw: str, shown: str, why: str) -> None:
    imei = read_imei(raw, "adb service call iphonesubinfo 1")
    assert (imei.state, imei.value, imei.raw) == ("invalid", None, shown)
    assert imei.raw is not None and len(imei.raw) <= MAX_CODE_LENGTH and imei.raw.isprintable()
    assert why in imei.reason


def test_unavailable_imei_says_why() -> None:
    imei = read_imei(None, "adb service call iphonesubinfo 1", missing_reason="denied")
    assert (imei.state, imei.value, imei.raw, imei.reason) == ("unavailable", None, None, "denied")


NO_OWNER = DevicePolicy(None, {})


def test_android_google_account_locks() -> None:
    lock = android_lock(["com.google.android.apps.tachyon", "com.google"], NO_OWNER, "1")
    assert (lock.state, lock.method, lock.confidence) == (
        "locked",
        "adb dumpsys account type=com.google",
        "high",
    )


def test_android_device_owner_locks() -> None:
    lock = android_lock([], DevicePolicy("com.airwatch.androidagent", {}), "1")
    assert lock.state == "locked"
    assert "com.airwatch.androidagent" in lock.reason


def test_android_profile_owner_alone_does_not_lock() -> None:
    lock = android_lock([], DevicePolicy(None, {10: "com.example.work"}), "1")
    assert lock.state == "clear"


def test_android_clear_needs_every_signal() -> None:
    assert android_lock([], NO_OWNER, "1").state == "clear"
    assert android_lock(["com.google.android.apps.tachyon"], NO_OWNER, "1").state == "clear"
    # any unread signal keeps it unknown, never clear
    assert android_lock(None, NO_OWNER, "1").state == "unknown"
    assert android_lock([], None, "1").state == "unknown"
    assert android_lock([], NO_OWNER, None).state == "unknown"
    assert android_lock([], NO_OWNER, "null").state == "unknown"
    assert android_lock([], NO_OWNER, "0").state == "unknown"


def test_android_locked_even_when_other_signals_unread() -> None:
    assert android_lock(["com.google"], None, None).state == "locked"
