"""Pure parsers for what libimobiledevice's tools print: `idevice_id -l`, the lockdownd pairing
errors, and `idevicediagnostics ioregentry AppleSmartBattery` (an XML plist). `ideviceinfo` is
read in `ios` (its XML plist) and `ideviceinfo_text` (its key: value text, the fallback).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from drivers.cradle.plists import PlistRefused, load_dict_plist

PairingProblem = Literal["pending", "denied", "password", "stale_pairing", "other"]

_UDID = re.compile(r"^([0-9A-Fa-f]{8}-[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})(?:\s+\((?:USB|Network)\))?$")
_LOCKDOWN = re.compile(
    r"Could not connect to lockdownd"
    r"(?::\s*(?P<text>.*?)\s*\((?P<code>-?\d+)\)|,\s*error code (?P<old>-?\d+))"
)

# Technician instructions for each way lockdownd refuses; the phone's screen is where the fix is.
PAIRING_MESSAGES: dict[PairingProblem, str] = {
    "pending": "Unlock the phone and tap Trust on the 'Trust This Computer?' prompt, then enter "
    "the passcode.",
    "denied": "Trust was refused on the phone. Unplug it, plug it back in, unlock it and tap "
    "Trust.",
    "password": "Unlock the phone with its passcode (stay on the home screen), then tap Trust if "
    "asked.",
    "stale_pairing": "The phone's pairing with this station is out of date. Unplug it, plug it "
    "back in, unlock it and tap Trust.",
    "other": "The station could not talk to the phone. Unplug it and plug it back in; if this "
    "repeats, restart usbmuxd.",
}


def parse_device_list(text: str) -> list[str]:
    """`idevice_id -l` → UDIDs (the newer 25-character and older 40-hex forms)."""
    udids: list[str] = []
    for line in text.splitlines():
        m = _UDID.match(line.strip())
        if m and m[1] not in udids:
            udids.append(m[1])
    return udids


@dataclass(frozen=True, slots=True)
class LockdownError:
    """lockdownd refused: which refusal, and the tool's own words."""

    problem: PairingProblem
    said: str  # e.g. "Pairing dialog response pending (-19)"

    @property
    def message(self) -> str:
        return PAIRING_MESSAGES[self.problem]


def lockdown_error(output: str) -> LockdownError | None:
    """Find a lockdownd connection error in a tool's output; None when there is none."""
    m = _LOCKDOWN.search(output)
    if m is None:
        return None
    text = (m["text"] or "").strip()
    said = f"{text} ({m['code']})" if text else f"error code {m['old']}"
    lowered = text.lower()
    if "pairing dialog response pending" in lowered:
        problem: PairingProblem = "pending"
    elif "user denied pairing" in lowered:
        problem = "denied"
    elif "password protected" in lowered:
        problem = "password"
    elif re.search(r"(invalid|missing) host ?id|pairing failed|invalid pair record", lowered):
        problem = "stale_pairing"
    else:
        problem = "other"
    return LockdownError(problem, said)


@dataclass(frozen=True, slots=True)
class SmartBattery:
    """The AppleSmartBattery entry's keys we use; each None when the entry lacks it."""

    cycle_count: int | None
    design_capacity: int | None
    nominal_charge_capacity: int | None
    apple_raw_max_capacity: int | None
    current_capacity: int | None  # percent on iPhones
    temperature: int | None  # hundredths of a degree Celsius
    is_charging: bool | None
    fully_charged: bool | None
    voltage: int | None  # millivolts


def parse_smart_battery(text: str) -> SmartBattery | None:
    """`idevicediagnostics ioregentry AppleSmartBattery` → battery keys; None if not a plist
    with an IORegistry dict (the tool prints an error line instead when the query fails)."""
    try:
        root = load_dict_plist(text, "idevicediagnostics ioregentry")
    except PlistRefused:
        return None
    relayed = root.get("Diagnostics")  # the relay's reply before the tool unwraps it
    if isinstance(relayed, dict):
        root = relayed
    entry = root.get("IORegistry")
    if not isinstance(entry, dict):
        return None
    data = entry.get("BatteryData")
    nested: dict[str, Any] = data if isinstance(data, dict) else {}

    def number(key: str) -> int | None:
        for source in (entry, nested):
            value = source.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None

    def flag(key: str) -> bool | None:
        value = entry.get(key)
        return value if isinstance(value, bool) else None

    return SmartBattery(
        cycle_count=number("CycleCount"),
        design_capacity=number("DesignCapacity"),
        nominal_charge_capacity=number("NominalChargeCapacity"),
        apple_raw_max_capacity=number("AppleRawMaxCapacity"),
        current_capacity=number("CurrentCapacity"),
        temperature=number("Temperature"),
        is_charging=flag("IsCharging"),
        fully_charged=flag("FullyCharged"),
        voltage=number("Voltage"),
    )
