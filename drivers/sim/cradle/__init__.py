"""Stand-in phone-diagnostic tools for the cradle driver's tests and the demo.

Put this folder first on PATH (or name its executables in the cradle profile) and point
$EDGE_SIM_CRADLE at a scenario JSON file; `presets/` holds ready ones. Scenario shape:

    {"android": [{"serial", "state", "usb", "transport_id", "props": {getprop},
                  "battery": {level, scale, health, status, temperature (tenths °C), voltage, …,
                              "updates_stopped", "samsung_extras"},
                  "iphonesubinfo": {"string": "…"} | {"exception": -1, "message": "…"}
                                   | {"missing_service": true},
                  "device_owner": "pkg", "profile_owners": {"10": "pkg"},
                  "accounts": ["com.google", …], "settings": {"secure user_setup_complete": "1"}}],
     "ios": [{"udid", "trust": "trusted" | "pending" | "denied" | "password" | "invalid_host",
              "ideviceinfo": "1.4.0" | "1.3.0",  # whose key: value text layout to print
              "xml": "truncated",  # optional: every `-x` answer cut short (a broken plist)
              "info": {ideviceinfo keys}, "nvram": {"fm-activation-locked": "NO"} (as <data>),
              "domains": {"com.apple.fmip": {"IsAssociated": false}},  # for `-q DOMAIN`
              "battery": {AppleSmartBattery keys} | null}],
     "hang": ["adb -s SERIAL shell dumpsys battery", …],  # command-line prefixes that never answer
     "usbmuxd_down": false, "adb_daemon_starting": false}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SIM_DIR = Path(__file__).resolve().parent
PRESETS_DIR = SIM_DIR / "presets"


def load_preset(name: str) -> dict[str, Any]:
    """A preset scenario by file stem, e.g. "pixel8_android14"."""
    data: dict[str, Any] = json.loads((PRESETS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data


def write_scenario(path: Path, scenario: dict[str, Any]) -> None:
    """Replace the scenario file atomically, so a stand-in never reads half of it."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(scenario, indent=2), encoding="utf-8")
    tmp.replace(path)
