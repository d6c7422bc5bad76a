"""Activation lock / FRP rules: which signal means locked, which allows clear, and how sure.

A phone is `clear` only when every signal that could lock it was read and none does; anything
unread leaves it `unknown`. A locked phone cannot be resold until the owner releases it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from drivers.cradle.adb import DevicePolicy
from drivers.cradle.plists import kind
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


# Where each iPhone signal comes from, as `LockStatus.method` names it.
NVRAM_METHOD = "ideviceinfo -x NonVolatileRAM fm-activation-locked"
NVRAM_TEXT_METHOD = "ideviceinfo (text output) NonVolatileRAM fm-activation-locked"
FIND_MY_METHOD = "ideviceinfo -q com.apple.fmip -k IsAssociated -x"

SignalState = Literal["on", "off", "absent", "unreadable"]


@dataclass(frozen=True, slots=True)
class LockSignal:
    """One iPhone signal as read: on (locks), off, absent (not served) or unreadable (why)."""

    method: str
    state: SignalState
    said: str = ""


def nvram_signal(values: Mapping[str, object], from_text: bool = False) -> LockSignal:
    """The NVRAM `fm-activation-locked` flag (data: "YES" / "NO") from `ideviceinfo`'s values.

    From the text output only "YES" counts: the text loses the value's type, libimobiledevice
    1.4.0 prints a nested dict's first entry on its parent's line and 1.3.0 prints a device
    name's newlines raw, so an "off" read there is not evidence (it stays unreadable)."""
    nvram = values.get("NonVolatileRAM")
    if from_text:
        if isinstance(nvram, str):  # a one-entry dict, printed on one line by 1.4.0
            key, _, flag = nvram.partition(": ")
            nvram = {key: flag}
        raw = nvram.get("fm-activation-locked") if isinstance(nvram, dict) else None
        if isinstance(raw, str) and _nvram_text(raw) == "YES":
            return LockSignal(NVRAM_TEXT_METHOD, "on", "YES")
        shown = "not shown" if raw is None else f"reads {_nvram_text(raw)!r}"
        return LockSignal(
            NVRAM_TEXT_METHOD,
            "unreadable",
            f"{shown} in the text output, which cannot show the flag reliably",
        )
    if nvram is None:
        return LockSignal(NVRAM_METHOD, "absent", "no NonVolatileRAM in the answer")
    if not isinstance(nvram, dict):
        return LockSignal(
            NVRAM_METHOD, "unreadable", f"NonVolatileRAM is of type {kind(nvram)}, not dict"
        )
    raw = nvram.get("fm-activation-locked")
    if raw is None:
        return LockSignal(NVRAM_METHOD, "absent", "no fm-activation-locked in NonVolatileRAM")
    if isinstance(raw, bytes):
        flag = raw.decode("ascii", errors="replace").strip("\x00 \n").upper()
    elif isinstance(raw, str):
        flag = _nvram_text(raw)
    else:
        return LockSignal(NVRAM_METHOD, "unreadable", f"the flag is of type {kind(raw)}, not data")
    if flag in ("YES", "NO"):
        return LockSignal(NVRAM_METHOD, "on" if flag == "YES" else "off", flag)
    return LockSignal(NVRAM_METHOD, "unreadable", f"the flag reads {raw!r}")


def find_my_signal(value: object, problem: str = "") -> LockSignal:
    """`IsAssociated` in lockdownd's com.apple.fmip domain: true while Find My is on."""
    if problem:
        return LockSignal(FIND_MY_METHOD, "unreadable", problem)
    if value is None:
        return LockSignal(FIND_MY_METHOD, "absent", "the phone does not serve it")
    if not isinstance(value, bool):
        return LockSignal(FIND_MY_METHOD, "unreadable", f"of type {kind(value)}, not boolean")
    return LockSignal(FIND_MY_METHOD, "on" if value else "off", str(value).lower())


_ON_REASONS = {
    NVRAM_METHOD: "Find My / Activation Lock is on: the owner must remove it",
    NVRAM_TEXT_METHOD: "Find My / Activation Lock is on: the owner must remove it",
    FIND_MY_METHOD: "Find My is on (the phone is tied to an Apple Account): Activation Lock "
    "will ask for it; the owner must remove it",
}


def ios_lock(signals: Sequence[LockSignal]) -> LockStatus:
    """Activation Lock: locked if any signal is on; clear only if one was read off and none
    was unreadable; otherwise unknown, saying what could not be read."""
    for signal in signals:
        if signal.state == "on":
            return LockStatus("locked", signal.method, "high", _ON_REASONS[signal.method])
    unread = [s for s in signals if s.state == "unreadable"]
    off = [s for s in signals if s.state == "off"]
    if unread or not off:
        said = "; ".join(f"{s.method}: {s.said}" for s in unread or signals)
        return LockStatus(
            "unknown",
            " + ".join(s.method for s in unread or signals),
            "low",
            f"{said or 'no signal read'}: check Settings > [name] > Find My on the phone",
        )
    absent = "; ".join(f"{s.method}: {s.said}" for s in signals if s.state == "absent")
    return LockStatus(
        "clear",
        " + ".join(s.method for s in off),
        "medium" if not absent else "low",
        "Find My / activation-lock flags are off (Apple's activation server has the final word)"
        + (f"; not served: {absent}" if absent else ""),
    )


def _nvram_text(raw: str) -> str:
    try:
        decoded = base64.b64decode(raw.strip(), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        decoded = raw
    return decoded.strip("\x00 \n").upper()
