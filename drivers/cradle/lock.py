"""Activation lock / FRP rules: which signal means locked, which allows clear, and how sure.

A phone is `clear` only when every signal that could lock it was read and none does; anything
unread leaves it `unknown`. A locked phone cannot be resold until the owner releases it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from drivers.cradle.adb import DevicePolicy
from drivers.cradle.libimobiledevice import InfoValue
from drivers.cradle.report import Confidence, LockStatus

# Android account types that arm a lock on factory reset: type → (what it is, confidence).
ACCOUNT_LOCKS: dict[str, tuple[str, Confidence]] = {
    "com.google": (
        "a Google account is signed in: Factory Reset Protection will ask for it",
        "high",
    ),
    "com.osp.app.signin": ("a Samsung account is signed in: Reactivation Lock may be on", "medium"),
    "com.xiaomi": ("a Xiaomi account is signed in: Find device lock may be on", "medium"),
    "com.huawei.hwid": ("a Huawei ID is signed in: activation lock may be on", "medium"),
}


def android_lock(
    account_types: list[str] | None,
    policy: DevicePolicy | None,
    setup_complete: str | None,
) -> LockStatus:
    """FRP / OEM reactivation lock from accounts, MDM device owner and setup state."""
    if policy is not None and policy.device_owner:
        return LockStatus(
            "locked",
            "adb dumpsys device_policy Device Owner",
            "high",
            f"managed by {policy.device_owner} (MDM device owner): "
            "the organisation must release it",
        )
    if account_types is not None:
        for account_type, (why, confidence) in ACCOUNT_LOCKS.items():
            if account_type in account_types:
                return LockStatus(
                    "locked", f"adb dumpsys account type={account_type}", confidence, why
                )
    if account_types is None:
        return LockStatus(
            "unknown", "adb dumpsys account", "low", "signed-in accounts could not be read"
        )
    if policy is None:
        return LockStatus(
            "unknown", "adb dumpsys device_policy", "low", "device owner (MDM) could not be read"
        )
    if setup_complete != "1":
        return LockStatus(
            "unknown",
            "adb settings get secure user_setup_complete",
            "low",
            f"setup wizard not known to be complete (user_setup_complete={setup_complete})",
        )
    return LockStatus(
        "clear",
        "adb dumpsys account + dumpsys device_policy + settings get secure user_setup_complete",
        "medium",
        "no account that arms a reset lock, no MDM device owner, setup complete "
        "(the FRP partition itself is not readable without root)",
    )


def ios_lock(info: Mapping[str, InfoValue]) -> LockStatus:
    """Activation Lock from the NVRAM flag lockdownd shows (base64 "YES" / "NO")."""
    method = "ideviceinfo NonVolatileRAM fm-activation-locked"
    nvram = info.get("NonVolatileRAM")
    raw = nvram.get("fm-activation-locked") if isinstance(nvram, dict) else None
    flag = _nvram_text(raw) if isinstance(raw, str) else None
    if flag == "YES":
        return LockStatus(
            "locked", method, "high", "Find My / Activation Lock is on: the owner must remove it"
        )
    if flag == "NO":
        return LockStatus(
            "clear",
            method,
            "medium",
            "Find My activation-lock flag is off (Apple's activation server has the final word)",
        )
    said = "absent" if raw is None else f"unreadable ({raw!r})"
    return LockStatus(
        "unknown", method, "low", f"flag {said}: check Settings > [name] > Find My on the phone"
    )


def _nvram_text(raw: str) -> str:
    try:
        decoded = base64.b64decode(raw.strip(), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        decoded = raw
    return decoded.strip("\x00 \n").upper()
