"""What the cradle reports about a phone: every value with the command and key it came from."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")

Platform = Literal["android", "ios"]
LockState = Literal["locked", "clear", "unknown"]
Confidence = Literal["high", "medium", "low"]
ImeiState = Literal["valid", "invalid", "unavailable"]
DeviceState = Literal[
    "connected",
    "unauthorized",
    "untrusted",
    "offline",
    "no_permissions",
    "other_mode",
    "error",
    "gone",
]


@dataclass(frozen=True, slots=True)
class Fact(Generic[T]):
    """One value read from the phone; `source` names the command and key it came from."""

    value: T
    source: str  # e.g. "adb getprop ro.product.model", "ideviceinfo ProductType"


@dataclass(frozen=True, slots=True)
class Imei:
    """The IMEI as read, or why there is none. `value` is set only for a valid IMEI."""

    state: ImeiState
    source: str
    value: str | None = None  # 15 digits, Luhn check passed
    raw: str | None = None  # exactly what the phone answered, kept for an invalid one
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LockStatus:
    """Activation lock / FRP. `unknown` is never reported as `clear`."""

    state: LockState
    method: str  # the command and key the conclusion rests on
    confidence: Confidence
    reason: str


@dataclass(frozen=True, slots=True)
class Management:
    """Device management (MDM): Android device / profile owners; None where it could not be read."""

    enrolled: bool | None
    source: str
    device_owner: str | None = None  # the owning package, e.g. com.airwatch.androidagent
    profile_owners: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Battery:
    """Battery facts the platform exposes; absent ones stay None."""

    level_percent: Fact[int] | None = None
    health: Fact[str] | None = None  # Android health name: good, overheat, dead, …
    health_percent: Fact[float] | None = None  # iOS: full-charge capacity against design capacity
    cycle_count: Fact[int] | None = None
    design_capacity_mah: Fact[int] | None = None
    full_charge_capacity_mah: Fact[int] | None = None
    temperature_c: Fact[float] | None = None
    status: Fact[str] | None = None  # charging, discharging, full, …
    voltage_mv: Fact[int] | None = None


@dataclass(frozen=True, slots=True)
class DeviceReport:
    """One phone's diagnostics, read once it became readable; `problems`: what could not be."""

    platform: Platform
    device_id: str  # adb serial or iOS UDID
    read_at: datetime
    imei: Imei
    lock: LockStatus
    management: Management
    manufacturer: Fact[str] | None = None
    brand: Fact[str] | None = None
    model: Fact[str] | None = None  # marketing name
    model_code: Fact[str] | None = None  # iOS ProductType, Android ro.product.device
    os_version: Fact[str] | None = None
    sdk_level: Fact[int] | None = None
    serial_number: Fact[str] | None = None
    device_name: Fact[str] | None = None
    activation_state: Fact[str] | None = None
    battery: Battery | None = None
    problems: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: nested dicts, the time as ISO 8601."""
        data = dataclasses.asdict(self)
        data["read_at"] = self.read_at.isoformat()
        data["problems"] = list(self.problems)
        data["management"]["profile_owners"] = list(self.management.profile_owners)
        return data


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A phone appeared, changed state or left; `message` is for the technician at the bench."""

    platform: Platform
    device_id: str
    state: DeviceState
    message: str
    detail: str = ""  # the tool's own words (adb state, lockdownd error), for the log
    at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["at"] = self.at.isoformat() if self.at else None
        return data


CradleOutput = DeviceReport | DeviceStatus
