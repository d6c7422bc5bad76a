"""Pure parsers for what `adb` prints: device list, getprop, dumpsys battery / device_policy /
account, and the Binder parcel `service call iphonesubinfo 1` dumps. Text in, dataclasses out.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from drivers.cradle.report import DeviceState

# `adb devices -l`: serial, state (which may be two words), then key:value pairs.
_STATES = (
    "device|unauthorized|offline|no permissions|recovery|sideload|rescue|bootloader|"
    "authorizing|connecting|host|no device|unknown"
)
_DEVICE_LINE = re.compile(rf"^(?P<serial>\S.*?)\s+(?P<state>{_STATES})(?=\s|$)(?P<rest>.*)$")
_DEVICE_DETAIL = re.compile(r"(?:^|\s)(usb|product|model|device|transport_id):(\S+)")
_GETPROP_LINE = re.compile(r"^\[(?P<key>[^\]]+)\]: \[(?P<value>.*)\]$")
_PARCEL_WORD = re.compile(r"\b[0-9a-fA-F]{8}\b")
_ACCOUNT = re.compile(r"Account \{name=.*?,\s*type=(?P<type>[^,}\s]+)\}")

BATTERY_HEALTH = {  # android.os.BatteryManager.BATTERY_HEALTH_*
    1: "unknown",
    2: "good",
    3: "overheat",
    4: "dead",
    5: "over_voltage",
    6: "unspecified_failure",
    7: "cold",
}
BATTERY_STATUS = {1: "unknown", 2: "charging", 3: "discharging", 4: "not_charging", 5: "full"}

PARCEL_EXCEPTIONS = {  # android.os.Parcel.EX_*
    -1: "SecurityException",
    -2: "BadParcelableException",
    -3: "IllegalArgumentException",
    -4: "NullPointerException",
    -5: "IllegalStateException",
    -6: "NetworkOnMainThreadException",
    -7: "UnsupportedOperationException",
    -8: "ServiceSpecificException",
    -9: "ParcelableException",
}


@dataclass(frozen=True, slots=True)
class AdbDevice:
    """One line of `adb devices -l`."""

    serial: str
    state: str  # device, unauthorized, offline, no permissions, recovery, …
    detail: dict[str, str] = field(
        default_factory=dict
    )  # usb, product, model, device, transport_id
    note: str = ""  # adb's explanation, e.g. "(missing udev rules? user is in the plugdev group)"


def parse_devices(text: str) -> list[AdbDevice]:
    """`adb devices -l` → devices; daemon start-up chatter and the header are skipped."""
    devices: list[AdbDevice] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("*") or line.startswith("List of devices"):
            continue
        m = _DEVICE_LINE.match(line)
        if m is None:
            continue
        rest = m["rest"]
        detail = dict(_DEVICE_DETAIL.findall(rest))
        note = _DEVICE_DETAIL.sub("", rest).strip()
        devices.append(AdbDevice(m["serial"], m["state"], detail, note))
    return devices


def parse_getprop(text: str) -> dict[str, str]:
    """`getprop` → {property: value}; lines that are not `[key]: [value]` are ignored."""
    props: dict[str, str] = {}
    for line in text.splitlines():
        m = _GETPROP_LINE.match(line.strip())
        if m:
            props[m["key"]] = m["value"]
    return props


@dataclass(frozen=True, slots=True)
class BatteryDump:
    """`dumpsys battery` as key → text, plus whether someone froze the values with `set`."""

    values: dict[str, str]
    frozen: bool  # "(UPDATES STOPPED -- use 'reset' to restart)": values are not the battery's


def parse_battery(text: str) -> BatteryDump | None:
    """`dumpsys battery` → its fields; None when the output is not a battery dump."""
    if "Current Battery Service state" not in text:
        return None
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and key and key not in values:  # Samsung appends a second "charge counter"
            values[key] = value.strip()
    return BatteryDump(values, frozen="UPDATES STOPPED" in text)


@dataclass(frozen=True, slots=True)
class ParcelReply:
    """A Binder reply holding one string: the string, or the exception the service threw."""

    text: str | None = None
    exception: str | None = None  # e.g. "SecurityException: getDeviceId: The uid 2000 does not …"
    unreadable: str | None = None  # why the output could not be decoded


def parse_parcel_string(text: str) -> ParcelReply:
    """`service call …` output → the String16 it carries, or the exception it reports.

    The dump prints the reply as little-endian 32-bit words; the reply starts with an exception
    code (0 = none) followed by a String16 (length in UTF-16 units, the characters, a NUL).
    """
    start = text.find("Result: Parcel(")
    if start < 0:
        said = text.strip().splitlines()[0] if text.strip() else "no output"
        return ParcelReply(unreadable=f"not a parcel: {said}")
    words: list[int] = []
    for line in text[start + len("Result: Parcel(") :].splitlines():
        line = re.sub(r"^\s*0x[0-9a-fA-F]{8}:", "", line)
        hex_part = line.split("'", 1)[0]
        if "Error:" in hex_part:
            return ParcelReply(unreadable=f"service call error: {hex_part.strip(' )')}")
        words.extend(int(w, 16) for w in _PARCEL_WORD.findall(hex_part))
    data = b"".join(struct.pack("<I", w) for w in words)
    if len(data) < 4:
        return ParcelReply(unreadable="empty parcel")
    (code,) = struct.unpack_from("<i", data, 0)
    if code == 0:
        value = _string16(data, 4)
        if value is None:
            return ParcelReply(unreadable="the reply holds no string (null)")
        return ParcelReply(text=value)
    name = PARCEL_EXCEPTIONS.get(code, f"exception code {code}")
    message = _string16(data, 4)
    return ParcelReply(exception=f"{name}: {message}" if message else name)


def _string16(data: bytes, offset: int) -> str | None:
    if len(data) < offset + 4:
        return None
    (length,) = struct.unpack_from("<i", data, offset)
    if length < 0 or len(data) < offset + 4 + 2 * length:
        return None
    return data[offset + 4 : offset + 4 + 2 * length].decode("utf-16-le", errors="replace")


@dataclass(frozen=True, slots=True)
class DevicePolicy:
    """Owners `dumpsys device_policy` lists: the MDM agent packages."""

    device_owner: str | None
    profile_owners: dict[int, str]  # Android user id → package


def parse_device_policy(text: str) -> DevicePolicy | None:
    """`dumpsys device_policy` → owners; None when the output is not a policy dump."""
    if "Device Policy Manager" not in text:
        return None
    device_owner: str | None = None
    profile_owners: dict[int, str] = {}
    section: str | int | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("Device Owner:"):
            section = "device"
            continue
        m = re.match(r"Profile Owner \(User (\d+)\):", line)
        if m:
            section = int(m[1])
            continue
        if section is None:
            continue
        if line.startswith("package="):
            package = line.removeprefix("package=").strip()
            if section == "device":
                device_owner = package
            elif isinstance(section, int):
                profile_owners[section] = package
            section = None
        elif not line or line.endswith(":"):
            section = None
    return DevicePolicy(device_owner, profile_owners)


def parse_account_types(text: str) -> list[str] | None:
    """`dumpsys account` → the type of each signed-in account, every user (names are not
    kept); None if the output holds no `Accounts: N` block."""
    types: list[str] = []
    expected: int | None = None
    pending = 0
    for line in text.splitlines():
        m = re.match(r"\s*Accounts: (\d+)\s*$", line)
        if m:
            pending = int(m[1])
            expected = (expected or 0) + pending
            continue
        account = _ACCOUNT.search(line) if pending else None
        if account:
            types.append(account["type"])
            pending -= 1
    if expected is None or len(types) != expected:
        return None  # no block, or fewer accounts listed than announced: not a dump we understand
    return types


# adb's device state → (status reported, what the technician should do).
STATE_ADVICE: dict[str, tuple[DeviceState, str]] = {
    "device": ("connected", "Phone connected; reading diagnostics."),
    "unauthorized": (
        "unauthorized",
        "Unlock the phone and accept the USB debugging prompt (Always allow from this computer).",
    ),
    "authorizing": (
        "unauthorized",
        "Unlock the phone and accept the USB debugging prompt (Always allow from this computer).",
    ),
    "offline": (
        "offline",
        "The phone is connected but not answering adb. Unplug it and plug it back in; if it stays "
        "offline, turn USB debugging off and on again.",
    ),
    "connecting": ("offline", "The phone is still connecting; wait a moment."),
    "no permissions": (
        "no_permissions",
        "This station is not allowed to use the phone's USB connection (udev rules / plugdev "
        "group). Ask IT to install the Android udev rules.",
    ),
}


def state_advice(state: str) -> tuple[DeviceState, str]:
    """(status, technician message) for an adb device state; unknown modes say which mode."""
    return STATE_ADVICE.get(
        state,
        (
            "other_mode",
            f"The phone is in {state} mode. Start it normally, with USB debugging on, to read it.",
        ),
    )
