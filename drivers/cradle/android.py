"""An Android phone's report from the outputs of the adb commands read for it (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeVar

from drivers.cradle.adb import (
    BATTERY_HEALTH,
    BATTERY_STATUS,
    DevicePolicy,
    parse_account_types,
    parse_battery,
    parse_device_policy,
    parse_getprop,
    parse_parcel_string,
)
from drivers.cradle.imei import read_imei
from drivers.cradle.lock import android_lock
from drivers.cradle.report import Battery, DeviceReport, Fact, Imei, Management
from drivers.cradle.runner import CommandResult

# What is read from each phone, in order: name → `adb -s SERIAL shell …` arguments.
ANDROID_READS: dict[str, tuple[str, ...]] = {
    "getprop": ("getprop",),
    "battery": ("dumpsys", "battery"),
    "imei": ("service", "call", "iphonesubinfo", "1"),
    "device_policy": ("dumpsys", "device_policy"),
    "accounts": ("dumpsys", "account"),
    "setup_complete": ("settings", "get", "secure", "user_setup_complete"),
}

# OEM properties some builds expose the IMEI in; tried only when the modem service says nothing.
IMEI_PROPERTIES = ("persist.radio.imei", "ro.ril.oem.imei", "ro.ril.miui.imei0")

T = TypeVar("T")

IMEI_SOURCE = "adb service call iphonesubinfo 1"
ANDROID_10_SDK = 29


def shell_argv(adb: str, serial: str, read: str) -> list[str]:
    return [adb, "-s", serial, "shell", *ANDROID_READS[read]]


def android_report(
    serial: str, results: Mapping[str, CommandResult], read_at: datetime
) -> DeviceReport:
    """Assemble the report; a command that failed leaves its fields empty and adds a problem."""
    problems = [r.problem() for r in results.values() if not r.ok]

    def output(read: str) -> str | None:
        result = results.get(read)
        return result.stdout if result is not None and result.ok else None

    props = parse_getprop(output("getprop") or "")

    def prop(key: str) -> Fact[str] | None:
        value = props.get(key, "").strip()
        return Fact(value, f"adb getprop {key}") if value else None

    sdk = prop("ro.build.version.sdk")
    sdk_level = Fact(int(sdk.value), sdk.source) if sdk and sdk.value.isdigit() else None
    serial_number = prop("ro.serialno") or prop("ro.boot.serialno")

    battery_text = output("battery")
    battery: Battery | None = None
    if battery_text is not None:
        dump = parse_battery(battery_text)
        if dump is None:
            problems.append("dumpsys battery printed no battery state")
        elif dump.frozen:
            problems.append(
                "battery values are frozen by 'dumpsys battery set' (UPDATES STOPPED); not "
                "reported: run 'adb shell dumpsys battery reset' and re-read"
            )
        else:
            battery = _battery(dump.values)

    policy_text = output("device_policy")
    policy = parse_device_policy(policy_text) if policy_text is not None else None
    if policy_text is not None and policy is None:
        problems.append("dumpsys device_policy printed no policy state")
    accounts_text = output("accounts")
    account_types = parse_account_types(accounts_text) if accounts_text is not None else None
    if accounts_text is not None and account_types is None:
        problems.append("dumpsys account printed no account list")
    setup = output("setup_complete")

    return DeviceReport(
        platform="android",
        device_id=serial,
        read_at=read_at,
        imei=_imei(output("imei"), props, sdk_level),
        lock=android_lock(account_types, policy, setup.strip() if setup is not None else None),
        management=_management(policy),
        manufacturer=prop("ro.product.manufacturer"),
        brand=prop("ro.product.brand"),
        model=prop("ro.product.model"),
        model_code=prop("ro.product.device"),
        os_version=prop("ro.build.version.release"),
        sdk_level=sdk_level,
        serial_number=serial_number,
        battery=battery,
        problems=tuple(problems),
    )


def _imei(parcel_text: str | None, props: Mapping[str, str], sdk: Fact[int] | None) -> Imei:
    if parcel_text is None:
        reason = "the IMEI query did not complete"
    else:
        reply = parse_parcel_string(parcel_text)
        if reply.text is not None:
            return read_imei(reply.text, IMEI_SOURCE)
        if reply.exception is not None:
            reason = f"the phone refused: {reply.exception}"
        else:
            reason = f"no IMEI in the reply ({reply.unreadable})"
    for key in IMEI_PROPERTIES:
        if props.get(key, "").strip():
            return read_imei(props[key], f"adb getprop {key}")
    if sdk is not None and sdk.value >= ANDROID_10_SDK:
        reason += (
            "; Android 10 and later keep the IMEI from adb: read it from *#06#, the SIM tray "
            "or the box label"
        )
    return read_imei(None, IMEI_SOURCE, missing_reason=reason)


def _battery(values: Mapping[str, str]) -> Battery:
    def number(key: str) -> int | None:
        text = values.get(key, "")
        return int(text) if text.lstrip("-").isdigit() else None

    def fact(key: str, convert: Callable[[int], T]) -> Fact[T] | None:
        value = number(key)
        return None if value is None else Fact(convert(value), f"adb dumpsys battery {key}")

    scale = number("scale") or 100
    return Battery(
        level_percent=fact("level", lambda level: round(level * 100 / scale)),
        health=fact("health", lambda code: BATTERY_HEALTH.get(code, f"code {code}")),
        status=fact("status", lambda code: BATTERY_STATUS.get(code, f"code {code}")),
        temperature_c=fact("temperature", lambda tenths: tenths / 10),
        voltage_mv=fact("voltage", lambda millivolts: millivolts),
    )


def _management(policy: DevicePolicy | None) -> Management:
    source = "adb dumpsys device_policy"
    if policy is None:
        return Management(None, source, reason="device policy could not be read")
    return Management(
        enrolled=bool(policy.device_owner or policy.profile_owners),
        source=source,
        device_owner=policy.device_owner,
        profile_owners=tuple(policy.profile_owners.values()),
    )
