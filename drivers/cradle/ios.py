"""An iPhone's report from `ideviceinfo` and the AppleSmartBattery entry (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from drivers.cradle.imei import read_imei
from drivers.cradle.ios_models import marketing_name
from drivers.cradle.libimobiledevice import InfoValue, SmartBattery, parse_smart_battery
from drivers.cradle.lock import ios_lock
from drivers.cradle.report import Battery, DeviceReport, Fact, Management
from drivers.cradle.runner import CommandResult

BATTERY_ENTRY = "AppleSmartBattery"
_BATTERY_SOURCE = f"idevicediagnostics ioregentry {BATTERY_ENTRY}"


def info_argv(ideviceinfo: str, udid: str) -> list[str]:
    return [ideviceinfo, "-u", udid]


def battery_argv(idevicediagnostics: str, udid: str) -> list[str]:
    return [idevicediagnostics, "-u", udid, "ioregentry", BATTERY_ENTRY]


def ios_report(
    udid: str,
    info: Mapping[str, InfoValue],
    battery_result: CommandResult | None,
    read_at: datetime,
) -> DeviceReport:
    """Assemble the report from a trusted phone's lockdown values and its battery entry."""
    problems: list[str] = []

    def key(name: str) -> Fact[str] | None:
        value = info.get(name)
        if isinstance(value, str) and value.strip():
            return Fact(value.strip(), f"ideviceinfo {name}")
        return None

    product_type = key("ProductType")
    model: Fact[str] | None = None
    if product_type is not None:
        name = marketing_name(product_type.value)
        if name is None:
            problems.append(f"ProductType {product_type.value} is not in the model table")
        else:
            model = Fact(name, "ideviceinfo ProductType (model table)")

    imei_value = info.get("InternationalMobileEquipmentIdentity")
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
        lock=ios_lock(info),
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
