"""An iPhone's report from `ideviceinfo` and the AppleSmartBattery entry (pure).

`ideviceinfo -x` (an XML plist, typed) is the source; its key: value text is read only when the
plist cannot be, and then the lock flag is not taken from it (`lock.nvram_signal`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from drivers.cradle.ideviceinfo_text import parse_info_text
from drivers.cradle.imei import read_imei
from drivers.cradle.ios_models import marketing_name
from drivers.cradle.libimobiledevice import SmartBattery, parse_smart_battery
from drivers.cradle.lock import LockSignal, find_my_signal, ios_lock, nvram_signal
from drivers.cradle.plists import PlistRefused, kind, load_dict_plist, load_xml_plist
from drivers.cradle.report import Battery, DeviceReport, Fact, Management
from drivers.cradle.runner import CommandResult
from edge.limits import MAX_TOOL_PLIST_BYTES

BATTERY_ENTRY = "AppleSmartBattery"
_BATTERY_SOURCE = f"idevicediagnostics ioregentry {BATTERY_ENTRY}"
# lockdownd's Find My domain and the key that is true while Find My (Activation Lock) is on.
FIND_MY_DOMAIN = "com.apple.fmip"
FIND_MY_KEY = "IsAssociated"


@dataclass(frozen=True, slots=True)
class IosInfo:
    """lockdownd's values as read: from the XML plist, or from the text output (and why)."""

    values: Mapping[str, object]
    form: Literal["xml", "text"]
    note: str = ""  # for the text fallback: why, and which layout it was


def info_argv(ideviceinfo: str, udid: str) -> list[str]:
    return [ideviceinfo, "-u", udid, "-x"]


def info_text_argv(ideviceinfo: str, udid: str) -> list[str]:
    return [ideviceinfo, "-u", udid]


def value_argv(ideviceinfo: str, udid: str, key: str, domain: str | None = None) -> list[str]:
    """One key (in one lockdownd domain) as an XML plist: `-q DOMAIN -k KEY -x`."""
    return [ideviceinfo, "-u", udid, *(["-q", domain] if domain else []), "-k", key, "-x"]


def find_my_argv(ideviceinfo: str, udid: str) -> list[str]:
    return value_argv(ideviceinfo, udid, FIND_MY_KEY, FIND_MY_DOMAIN)


def read_info(xml_output: str) -> IosInfo:
    """`ideviceinfo -x` → values. Raises PlistRefused (size, not XML, not a dict) naming why."""
    return IosInfo(load_dict_plist(xml_output, "ideviceinfo -x"), "xml")


def read_info_text(text_output: str, why: str) -> IosInfo:
    """The fallback: `ideviceinfo` text (either libimobiledevice layout) read after `why`.
    The same answer as the plist, so under the same bound; PlistRefused when over it."""
    size = len(text_output.encode("utf-8", errors="replace"))
    if size > MAX_TOOL_PLIST_BYTES:
        raise PlistRefused(
            f"ideviceinfo (text output): {size} bytes is over the {MAX_TOOL_PLIST_BYTES}-byte limit"
        )
    parsed = parse_info_text(text_output)
    layout = "layout unknown" if parsed.layout == "flat" else f"{parsed.layout} layout"
    note = f"{why}; read ideviceinfo's text output instead ({layout})"
    note += ", its lock flag counts only when on"
    return IosInfo(parsed.values, "text", note)


# Read again one by one (`-k KEY -x`) when the text fallback is used: in the 1.3.0 text a device
# name's raw newlines can forge any line, and a single-key plist holds no device name.
IDENTITY_KEYS = ("ProductType", "SerialNumber", "InternationalMobileEquipmentIdentity")


def confirm_identity(info: IosInfo, answers: Mapping[str, CommandResult]) -> IosInfo:
    """For text-read values, each identity key as its own `-k KEY -x` answer says, or dropped
    (with why in the note) when that answer is missing, failed or not a string."""
    if info.form != "text":
        return info
    values = dict(info.values)
    dropped: list[str] = []
    for name in IDENTITY_KEYS:
        result = answers.get(name)
        value: object = None
        if result is not None and result.ok:
            try:
                value = load_xml_plist(result.stdout, f"ideviceinfo -k {name} -x")
            except PlistRefused:
                value = None
        if isinstance(value, str):
            values[name] = value
        elif values.pop(name, None) is not None:
            dropped.append(name)
    note = info.note
    if dropped:
        note += (
            f"; {', '.join(dropped)} not taken from the text output "
            "(its own -k query did not confirm it)"
        )
    return IosInfo(values, "text", note)


def find_my_from(result: CommandResult | None) -> LockSignal:
    """The Find My signal from `ideviceinfo -q com.apple.fmip -k IsAssociated -x`."""
    if result is None:
        return find_my_signal(None, "not asked")
    if not result.ok:
        return find_my_signal(None, result.problem())
    try:
        value = load_xml_plist(result.stdout, "ideviceinfo -q com.apple.fmip -k IsAssociated -x")
    except PlistRefused as exc:
        return find_my_signal(None, str(exc))
    return find_my_signal(value)


def battery_argv(idevicediagnostics: str, udid: str) -> list[str]:
    return [idevicediagnostics, "-u", udid, "ioregentry", BATTERY_ENTRY]


def ios_report(
    udid: str,
    info: IosInfo,
    battery_result: CommandResult | None,
    read_at: datetime,
    find_my_result: CommandResult | None = None,
) -> DeviceReport:
    """Assemble the report from a trusted phone's lockdown values, its Find My answer and its
    battery entry."""
    problems: list[str] = [info.note] if info.note else []

    def key(name: str) -> Fact[str] | None:
        value = info.values.get(name)
        if isinstance(value, str) and value.strip():
            return Fact(value.strip(), f"ideviceinfo {name}")
        if value is not None and not isinstance(value, str):
            problems.append(f"ideviceinfo {name} is of type {kind(value)}, not string: not used")
        return None

    product_type = key("ProductType")
    model: Fact[str] | None = None
    if product_type is not None:
        name = marketing_name(product_type.value)
        if name is None:
            problems.append(f"ProductType {product_type.value} is not in the model table")
        else:
            model = Fact(name, "ideviceinfo ProductType (model table)")

    imei_value = info.values.get("InternationalMobileEquipmentIdentity")
    if imei_value is not None and not isinstance(imei_value, str):
        problems.append(
            "ideviceinfo InternationalMobileEquipmentIdentity is of type "
            f"{kind(imei_value)}, not string: not used"
        )
    imei = read_imei(
        imei_value if isinstance(imei_value, str) else None,
        "ideviceinfo InternationalMobileEquipmentIdentity",
        missing_reason="ideviceinfo shows no InternationalMobileEquipmentIdentity "
        "(no cellular modem, or the baseband is not up)",
    )

    battery: Battery | None = None
    if battery_result is not None:
        if not battery_result.ok:
            problems.append(battery_result.problem())
        else:
            smart = parse_smart_battery(battery_result.stdout)
            if smart is None:
                said = battery_result.stdout.strip().splitlines()
                problems.append(f"no {BATTERY_ENTRY} entry: {said[0] if said else 'no output'}")
            else:
                battery = _battery(smart)

    return DeviceReport(
        platform="ios",
        device_id=udid,
        read_at=read_at,
        imei=imei,
        lock=ios_lock(
            [nvram_signal(info.values, from_text=info.form == "text"), find_my_from(find_my_result)]
        ),
        management=Management(
            None,
            "ideviceinfo",
            reason="MDM enrolment is not shown over lockdown: check Settings > General > "
            "VPN & Device Management",
        ),
        manufacturer=Fact("Apple", "idevice_id (answers only for Apple devices)"),
        model=model,
        model_code=product_type,
        os_version=key("ProductVersion"),
        serial_number=key("SerialNumber"),
        device_name=key("DeviceName"),
        activation_state=key("ActivationState"),
        battery=battery,
        problems=tuple(problems),
    )


def _battery(smart: SmartBattery) -> Battery:
    def fact(value: int | None, name: str) -> Fact[int] | None:
        return Fact(value, f"{_BATTERY_SOURCE} {name}") if value is not None else None

    full, full_key = smart.nominal_charge_capacity, "NominalChargeCapacity"
    if full is None:
        full, full_key = smart.apple_raw_max_capacity, "AppleRawMaxCapacity"
    health: Fact[float] | None = None
    if full is not None and smart.design_capacity:
        health = Fact(
            round(full * 100 / smart.design_capacity, 1),
            f"{_BATTERY_SOURCE} {full_key}/DesignCapacity",
        )
    status: Fact[str] | None = None
    if smart.fully_charged:
        status = Fact("full", f"{_BATTERY_SOURCE} FullyCharged")
    elif smart.is_charging is not None:
        status = Fact(
            "charging" if smart.is_charging else "not_charging", f"{_BATTERY_SOURCE} IsCharging"
        )
    level = smart.current_capacity if smart.current_capacity is not None else None
    return Battery(
        level_percent=fact(level, "CurrentCapacity")
        if level is not None and level <= 100
        else None,
        health_percent=health,
        cycle_count=fact(smart.cycle_count, "CycleCount"),
        design_capacity_mah=fact(smart.design_capacity, "DesignCapacity"),
        full_charge_capacity_mah=fact(full, full_key),
        temperature_c=Fact(smart.temperature / 100, f"{_BATTERY_SOURCE} Temperature")
        if smart.temperature is not None
        else None,
        status=status,
        voltage_mv=fact(smart.voltage, "Voltage"),
    )
