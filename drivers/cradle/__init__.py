"""Phone diagnostic cradle: Android over adb, iPhone over libimobiledevice.

Pure parsers for each tool's output (`adb`, `libimobiledevice`, `ideviceinfo_text`; XML
plists read safely in `plists`), the lock / FRP rules (`lock`), report assembly per platform
(`android`, `ios`), what is published cleaned (`clean`), and the polling driver (`driver`).
"""

from drivers.cradle.driver import CradleDriver, StatusCallback
from drivers.cradle.profile import CradleProfile
from drivers.cradle.report import (
    Battery,
    CradleOutput,
    DeviceReport,
    DeviceStatus,
    Fact,
    Imei,
    LockStatus,
    Management,
)
from drivers.cradle.runner import CommandResult, run_command

__all__ = [
    "Battery",
    "CommandResult",
    "CradleDriver",
    "CradleOutput",
    "CradleProfile",
    "DeviceReport",
    "DeviceStatus",
    "Fact",
    "Imei",
    "LockStatus",
    "Management",
    "StatusCallback",
    "run_command",
]
