"""Stand-ins for adb, idevice_id, ideviceinfo and idevicediagnostics, answering from a scenario.

Standard library only: the executables beside this file run it with whatever `python3` is on
PATH. Each call reads the scenario named by $EDGE_SIM_CRADLE afresh, so a test plugs, unplugs
or re-trusts a phone by rewriting that file. Output is rendered here, in the tools' own formats
(see docs/cradle.md for where each format comes from); nothing here reuses the driver's parsers.
With $EDGE_SIM_CRADLE_LOG set, each call appends {"pid", "argv"} as a JSON line before answering.
"""

from __future__ import annotations

import base64
import json
import os
import plistlib
import struct
import sys
import time
from pathlib import Path
from typing import Any, TextIO

Scenario = dict[str, Any]

HANG_SECONDS = 3600.0
_SAMSUNG_BATTERY_EXTRAS = (
    "  mSecPlugTypeSummary: 2\n"
    "  LED Charging: true\n"
    "  LED Low Battery: true\n"
    "  current now: 321\n"
    "  charge counter: 0\n"
    "  Adaptive Fast Charging Settings: true\n"
    "  LLB CAL: \n"
)


def _say(text: str, file: TextIO | None = None) -> None:
    """One line to stdout (or `file`), as the real tool prints it."""
    (file or sys.stdout).write(f"{text}\n")


def load_scenario() -> Scenario:
    path = os.environ.get("EDGE_SIM_CRADLE", "")
    if not path or not Path(path).is_file():
        return {}
    data: Scenario = json.loads(Path(path).read_text(encoding="utf-8"))
    return data


def _log_and_maybe_hang(tool: str, argv: list[str], scenario: Scenario) -> None:
    line = " ".join([tool, *argv])
    log = os.environ.get("EDGE_SIM_CRADLE_LOG")
    if log:
        with Path(log).open("a", encoding="utf-8") as f:
            f.write(json.dumps({"pid": os.getpid(), "argv": [tool, *argv]}) + "\n")
    if any(line.startswith(prefix) for prefix in scenario.get("hang", [])):
        time.sleep(HANG_SECONDS)


# -- Android --------------------------------------------------------------------------------


def render_adb_devices(phones: list[dict[str, Any]], daemon_starting: bool = False) -> str:
    lines = []
    if daemon_starting:
        lines += ["* daemon not running; starting now at tcp:5037", "* daemon started successfully"]
    lines.append("List of devices attached")
    for phone in phones:
        state = phone.get("state", "device")
        parts = [f"{phone['serial']:<22}", state]
        if state == "no permissions":
            parts.append(
                "(missing udev rules? user is in the plugdev group); "
                "see [http://developer.android.com/tools/device.html]"
            )
        parts.append(f"usb:{phone.get('usb', '1-1')}")
        if state == "device":
            props = phone.get("props", {})
            model = props.get("ro.product.model", "").replace(" ", "_")
            parts += [
                f"product:{props.get('ro.product.name', 'unknown')}",
                f"model:{model}",
                f"device:{props.get('ro.product.device', 'unknown')}",
            ]
        parts.append(f"transport_id:{phone.get('transport_id', 1)}")
        lines.append(" ".join(parts))
    return "\n".join(lines) + "\n\n"


def render_getprop(props: dict[str, str]) -> str:
    return "".join(f"[{key}]: [{props[key]}]\n" for key in sorted(props))


def render_battery(b: dict[str, Any]) -> str:
    def flag(value: object) -> str:
        return "true" if value else "false"

    text = "Current Battery Service state:\n"
    if b.get("updates_stopped"):
        text += "  (UPDATES STOPPED -- use 'reset' to restart)\n"
    text += (
        f"  AC powered: {flag(b.get('ac'))}\n"
        f"  USB powered: {flag(b.get('usb', True))}\n"
        f"  Wireless powered: {flag(b.get('wireless'))}\n"
        f"  Max charging current: {b.get('max_current', 500000)}\n"
        f"  Max charging voltage: {b.get('max_voltage', 5000000)}\n"
        f"  Charge counter: {b.get('charge_counter', 0)}\n"
        f"  status: {b['status']}\n"
        f"  health: {b['health']}\n"
        f"  present: {flag(b.get('present', True))}\n"
        f"  level: {b['level']}\n"
        f"  scale: {b.get('scale', 100)}\n"
        f"  voltage: {b['voltage']}\n"
        f"  temperature: {b['temperature']}\n"
        f"  technology: {b.get('technology', 'Li-ion')}\n"
    )
    if b.get("samsung_extras"):
        text += _SAMSUNG_BATTERY_EXTRAS
    return text


def _string16(text: str | None) -> bytes:
    if text is None:
        return struct.pack("<i", -1)
    body = text.encode("utf-16-le") + b"\x00\x00"
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("<i", len(text)) + body


def render_parcel(data: bytes) -> str:
    """A Binder reply as `service call` prints it: little-endian words, 16 bytes a line."""
    data += b"\x00" * (-len(data) % 4)

    def ascii_of(chunk: bytes) -> str:
        return "".join(chr(c) if 0x20 <= c < 0x7F else "." for c in chunk)

    def words(chunk: bytes) -> list[str]:
        return [f"{w:08x}" for (w,) in struct.iter_unpack("<I", chunk)]

    if len(data) <= 16:
        return f"Result: Parcel({' '.join(words(data))}   '{ascii_of(data)}')\n"
    lines = ["Result: Parcel("]
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        hex_words = "".join(f"{w} " for w in words(chunk)) + " " * 9 * (4 - len(chunk) // 4)
        lines.append(f"  0x{offset:08x}: {hex_words}'{ascii_of(chunk):<16}'")
    return "\n".join(lines) + ")\n"


def render_iphonesubinfo(reply: dict[str, Any]) -> str:
    if "exception" in reply:  # Parcel.writeException: code, message, remote stack trace size
        data = struct.pack("<i", reply["exception"]) + _string16(reply["message"])
        return render_parcel(data + struct.pack("<i", 0))
    return render_parcel(struct.pack("<i", 0) + _string16(reply.get("string")))


def render_device_policy(phone: dict[str, Any]) -> str:
    owner = phone.get("device_owner")
    text = (
        "Current Device Policy Manager state:\n"
        "  Immutable state:\n"
        "    mHasFeature=true\n"
        "    mIsWatch=false\n"
        "    mHasTelephonyFeature=true\n"
        "  Device state cache:\n"
        f"    Device owner type: {0 if owner else -1}\n"
        f"    Has device owner: {'true' if owner else 'false'}\n"
    )
    if owner:
        text += (
            "\n  Device Owner: \n"
            f"    admin=ComponentInfo{{{owner}/{owner}.DeviceAdminReceiver}}\n"
            "    name=\n"
            f"    package={owner}\n"
            "    isOrganizationOwnedDevice=true\n"
            "    User ID: 0\n"
        )
    for user, package in sorted(phone.get("profile_owners", {}).items()):
        text += (
            f"\n  Profile Owner (User {user}): \n"
            f"    admin=ComponentInfo{{{package}/{package}.ProfileAdminReceiver}}\n"
            "    name=\n"
            f"    package={package}\n"
        )
    return text + "\n  Enabled Device Admins (User 0, provisioningState: 3):\n"


def render_accounts(account_types: list[str]) -> str:
    text = f"User UserInfo{{0:Owner:c13}}:\n  Accounts: {len(account_types)}\n"
    for i, account_type in enumerate(account_types):
        text += f"    Account {{name=owner{i}@example.com, type={account_type}}}\n"
    return text + (
        "\n  AccountId, Action_type, ChangeTime, UserId, Uid, TableName, Key\n"
        "\n  RegisteredServicesCache: 3 services\n"
        "    ServiceInfo: AuthenticatorDescription {type=com.google}, "
        "ComponentInfo{com.google.android.gms/com.google.android.gms.auth.GoogleAuthService}, "
        "uid 10151\n"
        "    ServiceInfo: AuthenticatorDescription {type=com.osp.app.signin}, "
        "ComponentInfo{com.osp.app.signin/com.osp.app.signin.AuthenticationService}, uid 10120\n"
    )


def adb_main(argv: list[str]) -> int:
    scenario = load_scenario()
    _log_and_maybe_hang("adb", argv, scenario)
    phones: list[dict[str, Any]] = scenario.get("android", [])
    if argv[:1] == ["devices"]:
        sys.stdout.write(render_adb_devices(phones, scenario.get("adb_daemon_starting", False)))
        return 0
    if argv[:1] == ["version"]:
        _say("Android Debug Bridge version 1.0.41")
        return 0
    if len(argv) < 3 or argv[0] != "-s" or argv[2] != "shell":
        _say(f"adb: usage: unknown command {' '.join(argv)}", file=sys.stderr)
        return 1
    phone = next((p for p in phones if p["serial"] == argv[1]), None)
    if phone is None:
        _say(f"adb: device '{argv[1]}' not found", file=sys.stderr)
        return 1
    state = phone.get("state", "device")
    if state == "unauthorized":
        _say(
            "error: device unauthorized.\n"
            "This adb server's $ADB_VENDOR_KEYS is not set\n"
            "Try 'adb kill-server' if that seems wrong.\n"
            "Otherwise check for a confirmation dialog on your device.",
            file=sys.stderr,
        )
        return 1
    if state != "device":
        _say(f"error: device {state}", file=sys.stderr)
        return 1
    return _shell(phone, " ".join(argv[3:]))


def _shell(phone: dict[str, Any], command: str) -> int:
    if command == "getprop":
        sys.stdout.write(render_getprop(phone.get("props", {})))
    elif command.startswith("getprop "):
        _say(phone.get("props", {}).get(command.split()[1], ""))
    elif command == "dumpsys battery":
        sys.stdout.write(render_battery(phone["battery"]))
    elif command == "service call iphonesubinfo 1":
        reply = phone.get("iphonesubinfo", {"string": None})
        if reply.get("missing_service"):
            _say("service: Service iphonesubinfo does not exist")
        else:
            sys.stdout.write(render_iphonesubinfo(reply))
    elif command == "dumpsys device_policy":
        sys.stdout.write(render_device_policy(phone))
    elif command == "dumpsys account":
        sys.stdout.write(render_accounts(phone.get("accounts", [])))
    elif command.startswith("settings get "):
        namespace, key = command.split()[2:4]
        _say(phone.get("settings", {}).get(f"{namespace} {key}", "null"))
    else:
        _say(f"/system/bin/sh: {command.split()[0]}: inaccessible or not found", file=sys.stderr)
        return 127
    return 0


# -- iOS ------------------------------------------------------------------------------------

PAIRING_ERRORS = {
    "pending": "Pairing dialog response pending (-19)",
    "denied": "User denied pairing (-18)",
    "password": "Password protected (-17)",
    "invalid_host": "Invalid HostID (-21)",
}


# Domains ideviceinfo 1.3.0 knows; any other gets a warning on stderr (1.4.0 added these two).
_DOMAINS_ADDED_IN_140 = ("com.apple.fmip", "com.apple.Accessibility")
_LIMD_ESCAPES = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}


def lockdown_values(phone: dict[str, Any]) -> dict[str, Any]:
    """The phone's lockdownd answer (default domain) as plist values; NVRAM values are data."""
    values = dict(phone.get("info", {}))
    if phone.get("nvram"):
        values["NonVolatileRAM"] = {k: v.encode("ascii") for k, v in sorted(phone["nvram"].items())}
    return dict(sorted(values.items()))


def render_text_130(value: Any) -> str:
    """Key: value text as libimobiledevice 1.3.0's `plist_print_to_stream` (common/utils.c)."""

    def node(v: Any, level: int) -> str:
        if isinstance(v, bool):
            return ("true" if v else "false") + "\n"
        if isinstance(v, int):
            return f"{v}\n"
        if isinstance(v, float):
            return f"{v:f}\n"
        if isinstance(v, bytes):
            return base64.b64encode(v).decode("ascii") + "\n"
        if isinstance(v, list):
            return "\n" + items(v, level + 1)
        if isinstance(v, dict):
            return "\n" + entries(v, level + 1)
        return f"{v}\n"

    def items(v: list[Any], level: int) -> str:
        return "".join(f"{' ' * level}{i}: {node(item, level)}" for i, item in enumerate(v))

    def entries(v: dict[str, Any], level: int) -> str:
        text = ""
        for key, item in v.items():
            opener = f"[{len(item)}]: " if isinstance(item, list) else ": "
            text += f"{' ' * level}{key}{opener}{node(item, level)}"
        return text

    if isinstance(value, dict):
        return entries(value, 0)
    return items(value, 0) if isinstance(value, list) else node(value, 0)


def render_text_140(value: Any) -> str:
    """Key: value text as libplist's PLIST_FORMAT_LIMD writer (out-limd.c), which 1.4.0 uses."""

    def text(s: str) -> str:
        return "".join(
            _LIMD_ESCAPES.get(ord(c), f"\\u{ord(c):04x}") if ord(c) < 0x20 else c for c in s
        )

    def node(v: Any, depth: int, root: bool = False) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return "0.0" if v == 0 else f"{v:.17g}"
        if isinstance(v, bytes):
            return base64.b64encode(v).decode("ascii")
        if isinstance(v, list):
            out = ""
            for i, item in enumerate(v):
                if i > 0 or not root:
                    out += "\n" + " " * depth
                out += f"{i}: " + node(item, depth + 1)
            return out
        if isinstance(v, dict):
            out = ""
            for i, (key, item) in enumerate(v.items()):
                if i > 0:
                    out += "\n" + " " * depth
                opener = f"[{len(item)}]:" if isinstance(item, list) else ": "
                out += text(key) + opener + node(item, depth + 1)
            return out
        return text(str(v))

    return node(value, 0, root=True) + "\n"


def render_smart_battery(b: dict[str, Any]) -> str:
    nested_only = {"NominalChargeCapacity"}
    top = {k: v for k, v in b.items() if k not in nested_only}
    top["BatteryData"] = {
        k: b[k] for k in ("CycleCount", "DesignCapacity", "NominalChargeCapacity") if k in b
    }
    return plistlib.dumps({"IORegistry": top}).decode("utf-8")


def _find_iphone(scenario: Scenario, argv: list[str]) -> tuple[dict[str, Any] | None, str]:
    udid = argv[argv.index("-u") + 1] if "-u" in argv else ""
    phones: list[dict[str, Any]] = scenario.get("ios", [])
    return next((p for p in phones if p["udid"] == udid), None), udid


def idevice_id_main(argv: list[str]) -> int:
    scenario = load_scenario()
    _log_and_maybe_hang("idevice_id", argv, scenario)
    if scenario.get("usbmuxd_down"):
        _say("ERROR: Unable to retrieve device list!", file=sys.stderr)
        return 255
    for phone in scenario.get("ios", []):
        _say(phone["udid"])
    return 0


def _option(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv and argv.index(flag) + 1 < len(argv) else None


def ideviceinfo_main(argv: list[str]) -> int:
    """`-u UDID [-q DOMAIN] [-k KEY] [-x]`; the text layout is the phone's `ideviceinfo` field
    ("1.3.0" or "1.4.0", default 1.4.0); `"xml": "truncated"` cuts the full -x dump short (as a
    control character in a device name breaks it: libplist escapes only < > &), not a `-k`
    answer."""
    scenario = load_scenario()
    _log_and_maybe_hang("ideviceinfo", argv, scenario)
    phone, udid = _find_iphone(scenario, argv)
    version = (phone or {}).get("ideviceinfo", "1.4.0")
    if phone is None:
        _say(f"ERROR: Device {udid} not found!", file=None if version == "1.3.0" else sys.stderr)
        return 255
    trust = phone.get("trust", "trusted")
    if trust != "trusted":
        error = PAIRING_ERRORS[trust]
        _say(f"ERROR: Could not connect to lockdownd: {error}", file=sys.stderr)
        return 255
    domain, key = _option(argv, "-q"), _option(argv, "-k")
    if domain is not None and version == "1.3.0" and domain in _DOMAINS_ADDED_IN_140:
        _say(f'WARNING: Sending query with unknown domain "{domain}".', file=sys.stderr)
    values = lockdown_values(phone) if domain is None else phone.get("domains", {}).get(domain)
    if values is not None and key is not None:
        values = values.get(key)
    if values is None:  # lockdownd answered an error: the tool prints nothing
        return 0
    if "-x" in argv:
        xml = plistlib.dumps(values).decode("utf-8")
        if phone.get("xml") == "truncated" and key is None and domain is None:
            xml = xml[: len(xml) // 2]
        sys.stdout.write(xml)
    else:
        sys.stdout.write(render_text_130(values) if version == "1.3.0" else render_text_140(values))
    return 0


def idevicediagnostics_main(argv: list[str]) -> int:
    scenario = load_scenario()
    _log_and_maybe_hang("idevicediagnostics", argv, scenario)
    phone, udid = _find_iphone(scenario, argv)
    if phone is None:
        _say(f"No device found with udid {udid}.")
        return 255
    if phone.get("trust", "trusted") != "trusted":
        _say("ERROR: Could not connect to lockdownd, error code -19", file=sys.stderr)
        return 255
    battery = phone.get("battery")
    if "ioregentry" not in argv or battery is None:
        _say("Unable to retrieve IORegistry from device.")
        return 255
    sys.stdout.write(render_smart_battery(battery))
    return 0


MAINS = {
    "adb": adb_main,
    "idevice_id": idevice_id_main,
    "ideviceinfo": ideviceinfo_main,
    "idevicediagnostics": idevicediagnostics_main,
}


def main(tool: str) -> int:
    return MAINS[tool](sys.argv[1:])
