"""The cradle driver end to end: real subprocesses, the stand-in tools first on PATH.

Expected values come from the scenario each test plugs in, never from the code under test.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest

from drivers.cradle import DeviceReport
from drivers.cradle.lock import FIND_MY_METHOD, NVRAM_METHOD, NVRAM_TEXT_METHOD
from drivers.cradle.plugin import diag_payload
from edge.bus.payloads import Diag, decode
from edge.limits import MAX_CODE_LENGTH, MAX_TOOL_PLIST_BYTES
from tests.drivers.cradle.bench import Bench, poll_and_read

ADB_SOURCE = "adb getprop"
TRUST_MESSAGE = "Unlock the phone and tap Trust"
USB_DEBUG_MESSAGE = (
    "Unlock the phone and accept the USB debugging prompt (Always allow from this computer)."
)


def only_report(bench: Bench) -> DeviceReport:
    reports = bench.reports()
    assert len(reports) == 1, bench.outputs
    return reports[0]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- presets ---------------------------------------------------------------------------------


def test_pixel_android14_imei_denied_google_account(bench: Bench) -> None:
    phone: dict[str, Any] = bench.preset("pixel8_android14")["android"][0]
    asyncio.run(poll_and_read(bench.driver(platforms=["android"])))

    report = only_report(bench)
    props, battery = phone["props"], phone["battery"]
    assert report.platform == "android"
    assert report.device_id == phone["serial"]
    assert report.model is not None and report.model.value == props["ro.product.model"]
    assert report.model.source == f"{ADB_SOURCE} ro.product.model"
    assert report.brand is not None and report.brand.value == props["ro.product.brand"]
    assert report.manufacturer is not None
    assert report.manufacturer.value == props["ro.product.manufacturer"]
    assert report.os_version is not None
    assert report.os_version.value == props["ro.build.version.release"]
    assert report.sdk_level is not None and report.sdk_level.value == int(
        props["ro.build.version.sdk"]
    )
    assert report.serial_number is not None and report.serial_number.value == props["ro.serialno"]
    assert report.battery is not None
    assert report.battery.level_percent is not None
    assert report.battery.level_percent.value == battery["level"]
    assert report.battery.level_percent.source == "adb dumpsys battery level"
    assert report.battery.temperature_c is not None
    assert report.battery.temperature_c.value == battery["temperature"] / 10
    assert report.battery.health is not None and report.battery.health.value == "good"  # code 2
    assert report.battery.status is not None and report.battery.status.value == "charging"

    # IMEI denied to the shell on Android 10+: unavailable, with the phone's own reason
    assert report.imei.state == "unavailable"
    assert report.imei.value is None and report.imei.raw is None
    assert phone["iphonesubinfo"]["message"] in report.imei.reason
    assert report.imei.source == "adb service call iphonesubinfo 1"

    assert (report.lock.state, report.lock.method, report.lock.confidence) == (
        "locked",
        "adb dumpsys account type=com.google",
        "high",
    )
    assert report.management.enrolled is False
    assert report.problems == ()
    assert bench.states(phone["serial"]) == ["connected"]
    assert bench.statuses[-1][0] == "online"


def test_older_samsung_parcel_imei_and_clear_lock(bench: Bench) -> None:
    phone = bench.preset("galaxy_s7_android8")["android"][0]
    asyncio.run(poll_and_read(bench.driver(platforms=["android"])))

    report = only_report(bench)
    assert report.imei.state == "valid"
    assert report.imei.value == phone["iphonesubinfo"]["string"]
    assert report.model is not None and report.model.value == phone["props"]["ro.product.model"]
    assert report.battery is not None and report.battery.status is not None
    assert report.battery.status.value == "full"  # status 5
    assert report.battery.level_percent is not None
    assert report.battery.level_percent.value == phone["battery"]["level"]
    assert (report.lock.state, report.lock.confidence) == ("clear", "medium")
    assert report.management.enrolled is False


def test_mdm_enrolled_device(bench: Bench) -> None:
    phone = bench.preset("galaxy_a54_mdm")["android"][0]
    asyncio.run(poll_and_read(bench.driver(platforms=["android"])))

    report = only_report(bench)
    assert report.management.enrolled is True
    assert report.management.device_owner == phone["device_owner"]
    assert report.management.source == "adb dumpsys device_policy"
    assert report.lock.state == "locked"
    assert report.lock.method == "adb dumpsys device_policy Device Owner"
    assert report.imei.state == "unavailable"


def test_iphone13_activated(bench: Bench) -> None:
    phone = bench.preset("iphone13_activated")["ios"][0]
    asyncio.run(poll_and_read(bench.driver(platforms=["ios"])))

    report = only_report(bench)
    info, battery = phone["info"], phone["battery"]
    assert report.platform == "ios"
    assert report.device_id == phone["udid"]
    assert report.model_code is not None and report.model_code.value == info["ProductType"]
    assert report.model_code.source == "ideviceinfo ProductType"
    assert report.model is not None and report.model.value == "iPhone 13"  # iPhone14,5
    assert report.os_version is not None and report.os_version.value == info["ProductVersion"]
    assert report.serial_number is not None
    assert report.serial_number.value == info["SerialNumber"]
    assert report.serial_number.source == "ideviceinfo SerialNumber"
    assert report.activation_state is not None
    assert report.activation_state.value == info["ActivationState"]
    assert report.imei.state == "valid"
    assert report.imei.value == info["InternationalMobileEquipmentIdentity"]
    assert report.imei.source == "ideviceinfo InternationalMobileEquipmentIdentity"

    assert report.battery is not None
    assert report.battery.cycle_count is not None
    assert report.battery.cycle_count.value == battery["CycleCount"]
    assert report.battery.cycle_count.source == (
        "idevicediagnostics ioregentry AppleSmartBattery CycleCount"
    )
    assert report.battery.health_percent is not None
    assert report.battery.health_percent.value == round(
        battery["NominalChargeCapacity"] * 100 / battery["DesignCapacity"], 1
    )
    assert report.battery.temperature_c is not None
    assert report.battery.temperature_c.value == battery["Temperature"] / 100
    assert report.battery.level_percent is not None
    assert report.battery.level_percent.value == battery["CurrentCapacity"]

    assert phone["nvram"]["fm-activation-locked"] == "NO"
    assert phone["domains"]["com.apple.fmip"]["IsAssociated"] is False
    assert (report.lock.state, report.lock.method, report.lock.confidence) == (
        "clear",
        f"{NVRAM_METHOD} + {FIND_MY_METHOD}",
        "medium",
    )
    assert report.problems == ()
    assert report.management.enrolled is None  # not shown over lockdown: not guessed
    assert bench.states(phone["udid"]) == ["connected"]
    as_dict = report.as_dict()
    assert as_dict["imei"]["value"] == info["InternationalMobileEquipmentIdentity"]
    assert as_dict["read_at"] == report.read_at.isoformat()


def test_find_my_on_locks_from_the_plist(bench: Bench) -> None:
    phone = bench.preset("iphone12_find_my_on")["ios"][0]
    assert phone["ideviceinfo"] == "1.4.0"  # whose text output flattens NonVolatileRAM
    asyncio.run(poll_and_read(bench.driver(platforms=["ios"])))

    report = only_report(bench)
    assert (report.lock.state, report.lock.method, report.lock.confidence) == (
        "locked",
        NVRAM_METHOD,
        "high",
    )
    assert report.model is not None and report.model.value == "iPhone 12"
    assert report.problems == ()
    udid = phone["udid"]
    asked = [e["argv"][1:] for e in bench.calls(lambda argv: argv[0] == "ideviceinfo")]
    assert sorted(asked) == [
        ["-u", udid, "-q", "com.apple.fmip", "-k", "IsAssociated", "-x"],
        ["-u", udid, "-x"],
    ]


@pytest.mark.parametrize(
    ("preset", "version", "lock"),
    [("iphone12_find_my_on", "1.3.0", "locked"), ("iphone13_activated", "1.4.0", "unknown")],
)
def test_unreadable_plist_falls_back_to_text(
    bench: Bench, preset: str, version: str, lock: str
) -> None:
    scenario = bench.preset(preset)
    phone = scenario["ios"][0]
    phone["ideviceinfo"], phone["xml"] = version, "truncated"  # every -x answer cut short
    bench.plug(scenario)
    asyncio.run(poll_and_read(bench.driver(platforms=["ios"])))

    report = only_report(bench)
    assert report.model_code is not None
    assert report.model_code.value == phone["info"]["ProductType"]
    assert report.serial_number is not None
    assert report.serial_number.value == phone["info"]["SerialNumber"]
    assert report.lock.state == lock  # never clear from the text output
    assert NVRAM_TEXT_METHOD in report.lock.method
    assert report.problems[0].startswith("ideviceinfo -x: malformed XML plist")
    assert f"read ideviceinfo's text output instead ({version} layout)" in report.problems[0]
    assert ["-u", phone["udid"]] in [e["argv"][1:] for e in bench.calls()]


def test_a_device_name_cannot_forge_an_imei_through_the_text_fallback(bench: Bench) -> None:
    scenario = bench.preset("iphone13_activated")
    phone = scenario["ios"][0]
    del phone["info"]["InternationalMobileEquipmentIdentity"]  # baseband not up: no IMEI
    phone["info"]["DeviceName"] = "x\nInternationalMobileEquipmentIdentity: 356938035643809"
    # A control character in the name breaks the full -x dump (truncated stands in for it).
    phone["ideviceinfo"], phone["xml"] = "1.3.0", "truncated"
    bench.plug(scenario)
    asyncio.run(poll_and_read(bench.driver(platforms=["ios"])))

    report = only_report(bench)
    assert report.imei.value is None
    assert report.serial_number is not None
    assert report.serial_number.value == phone["info"]["SerialNumber"]
    asked = [e["argv"][1:] for e in bench.calls()]
    assert ["-u", phone["udid"], "-k", "InternationalMobileEquipmentIdentity", "-x"] in asked


def test_an_oversized_answer_is_an_error_in_both_forms(bench: Bench) -> None:
    scenario = bench.preset("iphone13_activated")
    phone = scenario["ios"][0]
    phone["info"]["DeviceName"] = "x" * MAX_TOOL_PLIST_BYTES  # over the bound as XML and text
    bench.plug(scenario)
    asyncio.run(poll_and_read(bench.driver(platforms=["ios"])))
    assert bench.reports() == []
    [status] = bench.device_statuses()
    assert status.state == "error"
    assert "ideviceinfo -x:" in status.message
    assert "ideviceinfo (text output):" in status.message


# -- technician prompts: no diagnostics invented -------------------------------------------


def test_untrusted_iphone_then_trusted(bench: Bench) -> None:
    scenario = bench.preset("iphone_untrusted")
    phone = scenario["ios"][0]
    driver = bench.driver(platforms=["ios"])
    asyncio.run(poll_and_read(driver, times=2))

    assert bench.reports() == []
    statuses = bench.device_statuses()
    assert [s.state for s in statuses] == ["untrusted"]  # announced once, not every poll
    assert statuses[0].message.startswith(TRUST_MESSAGE)
    assert statuses[0].detail == "Pairing dialog response pending (-19)"
    assert not bench.calls(lambda argv: argv[0] == "idevicediagnostics")

    phone["trust"] = "trusted"
    bench.plug(scenario)
    asyncio.run(poll_and_read(driver))
    report = only_report(bench)
    assert report.imei.value == phone["info"]["InternationalMobileEquipmentIdentity"]
    assert bench.states(phone["udid"]) == ["untrusted", "connected"]


def test_iphone_passcode_and_stale_pairing_messages(bench: Bench) -> None:
    scenario = bench.preset("iphone_untrusted")
    phone = scenario["ios"][0]
    driver = bench.driver(platforms=["ios"])
    phone["trust"] = "password"
    bench.plug(scenario)
    asyncio.run(poll_and_read(driver))
    phone["trust"] = "invalid_host"
    bench.plug(scenario)
    asyncio.run(poll_and_read(driver))
    messages = [s.message for s in bench.device_statuses()]
    assert messages[0].startswith("Unlock the phone with its passcode")
    assert "pairing with this station is out of date" in messages[1]
    assert bench.reports() == []


def test_unauthorized_android_then_accepted(bench: Bench) -> None:
    scenario = bench.preset("android_unauthorized")
    phone = scenario["android"][0]
    driver = bench.driver(platforms=["android"])
    asyncio.run(poll_and_read(driver, times=2))

    assert bench.reports() == []
    statuses = bench.device_statuses()
    assert [(s.state, s.message) for s in statuses] == [("unauthorized", USB_DEBUG_MESSAGE)]
    assert not bench.calls(lambda argv: "shell" in argv)  # nothing read from it

    phone["state"] = "device"
    bench.plug(scenario)
    asyncio.run(poll_and_read(driver))
    report = only_report(bench)
    assert report.model is not None and report.model.value == phone["props"]["ro.product.model"]
    assert bench.states(phone["serial"]) == ["unauthorized", "connected"]


def test_offline_and_no_permissions_states(bench: Bench) -> None:
    bench.plug(
        {
            "android": [
                {"serial": "AAA111", "state": "offline"},
                {"serial": "BBB222", "state": "no permissions"},
            ]
        }
    )
    asyncio.run(poll_and_read(bench.driver(platforms=["android"])))
    by_id = {s.device_id: s for s in bench.device_statuses()}
    assert by_id["AAA111"].state == "offline"
    assert by_id["BBB222"].state == "no_permissions"
    assert "udev" in by_id["BBB222"].message
    assert bench.reports() == []


# -- IMEI and lock edge cases ----------------------------------------------------------------


def test_bad_imei_reported_invalid_with_raw(bench: Bench) -> None:
    scenario = bench.preset("galaxy_s7_android8")
    bad = "352531085288648"  # 15 digits, Luhn check digit wrong
    scenario["android"][0]["iphonesubinfo"] = {"string": bad}
    ios = bench.preset("iphone13_activated")["ios"][0]
    short = "35465210234567"  # 14 digits
    ios["info"]["InternationalMobileEquipmentIdentity"] = short
    scenario["ios"] = [ios]
    bench.plug(scenario)
    asyncio.run(poll_and_read(bench.driver()))

    by_platform = {r.platform: r for r in bench.reports()}
    assert by_platform["android"].imei.state == "invalid"
    assert by_platform["android"].imei.raw == bad
    assert by_platform["android"].imei.value is None
    assert by_platform["ios"].imei.state == "invalid"
    assert by_platform["ios"].imei.raw == short


def test_bad_imeis_are_published_printable_and_bounded(bench: Bench) -> None:
    bad = ("352911098765434", "3" * 3000, "35291109876543\x003")  # Luhn, length, a NUL
    scenario = bench.preset("galaxy_s7_android8")
    template = scenario["android"][0]
    phones = []
    for n, imei in enumerate(bad):
        phone = json.loads(json.dumps(template))
        phone["serial"] = phone["props"]["ro.serialno"] = f"BAD{n}"
        phone["props"]["ro.product.model"] = "SM-G930F\x1b[2J" if n == 2 else "SM-G930F"
        phone["iphonesubinfo"] = {"string": imei}
        phones.append(phone)
    bench.plug({"android": phones})
    asyncio.run(poll_and_read(bench.driver()))

    reports = {r.device_id: r for r in bench.reports()}
    assert sorted(reports) == ["BAD0", "BAD1", "BAD2"]
    for n, imei in enumerate(bad):
        report = reports[f"BAD{n}"]
        assert (report.imei.state, report.imei.value) == ("invalid", None)
        payload = decode("diag", diag_payload(report, n + 1))
        assert isinstance(payload, Diag) and payload.imei is None
        raw = payload.fields["imei"]["raw"]  # type: ignore[index,call-overload]
        assert isinstance(raw, str) and raw.isprintable() and len(raw) <= MAX_CODE_LENGTH
        assert raw.startswith(imei[:14])
    nul = decode("diag", diag_payload(reports["BAD2"], 3))
    assert isinstance(nul, Diag)
    assert nul.fields["imei"]["raw"] == "35291109876543\\x003"  # type: ignore[index,call-overload]
    assert nul.model == "SM-G930F\\x1b[2J"  # an escape sequence shown, never sent raw


def test_unknown_lock_stays_unknown(bench: Bench) -> None:
    scenario = bench.preset("galaxy_s7_android8")
    del scenario["android"][0]["settings"]  # user_setup_complete reads "null"
    ios = bench.preset("iphone13_activated")["ios"][0]
    del ios["nvram"]  # no fm-activation-locked flag shown
    del ios["domains"]  # and no Find My domain served
    scenario["ios"] = [ios]
    bench.plug(scenario)
    asyncio.run(poll_and_read(bench.driver()))

    by_platform = {r.platform: r for r in bench.reports()}
    assert by_platform["android"].lock.state == "unknown"
    assert by_platform["ios"].lock.state == "unknown"


def test_frozen_battery_values_not_reported(bench: Bench) -> None:
    scenario = bench.preset("galaxy_s7_android8")
    scenario["android"][0]["battery"]["updates_stopped"] = True
    bench.plug(scenario)
    asyncio.run(poll_and_read(bench.driver(platforms=["android"])))
    report = only_report(bench)
    assert report.battery is None
    assert any("UPDATES STOPPED" in p for p in report.problems)


# -- timeouts, missing tools -----------------------------------------------------------------


def test_hanging_read_is_killed_and_the_driver_keeps_going(bench: Bench) -> None:
    scenario = bench.preset("pixel8_android14")
    serial = scenario["android"][0]["serial"]
    scenario["hang"] = [f"adb -s {serial} shell dumpsys battery"]
    bench.plug(scenario)
    driver = bench.driver(platforms=["android"], read_timeout=1.0)
    asyncio.run(poll_and_read(driver))

    report = only_report(bench)
    assert report.battery is None
    assert f"adb -s {serial} shell dumpsys battery did not answer within 1 s; killed it" in (
        report.problems
    )
    assert report.model is not None  # the rest was still read
    hung = bench.calls(lambda argv: argv[-2:] == ["dumpsys", "battery"])
    assert len(hung) == 1 and not _pid_alive(hung[0]["pid"])

    other = bench.preset("galaxy_s7_android8")["android"][0]
    scenario["android"].append(other)
    bench.plug(scenario)
    asyncio.run(poll_and_read(driver))
    assert [r.device_id for r in bench.reports()] == [serial, other["serial"]]


def test_hanging_listing_degrades_then_recovers(bench: Bench) -> None:
    scenario = bench.preset("iphone13_activated")
    scenario["hang"] = ["adb devices"]
    bench.plug(scenario)
    driver = bench.driver(list_timeout=0.5)
    asyncio.run(poll_and_read(driver))
    state, reason = bench.statuses[-1]
    assert state == "degraded"
    assert reason == "adb devices -l did not answer within 0.5 s; killed it"
    assert len(bench.reports()) == 1  # the iPhone was still read

    del scenario["hang"]
    bench.plug(scenario)
    asyncio.run(poll_and_read(driver))
    assert bench.statuses[-1] == ("online", "watching android, ios")


def test_hanging_ideviceinfo_is_an_error_not_a_report(bench: Bench) -> None:
    scenario = bench.preset("iphone13_activated")
    udid = scenario["ios"][0]["udid"]
    scenario["hang"] = ["ideviceinfo"]
    bench.plug(scenario)
    asyncio.run(poll_and_read(bench.driver(platforms=["ios"], read_timeout=0.5)))
    assert bench.reports() == []
    [status] = bench.device_statuses()
    assert status.state == "error"
    assert f"ideviceinfo -u {udid} -x did not answer within 0.5 s; killed it" in status.message


def test_missing_executables(bench: Bench, tmp_path: Any) -> None:
    bench.preset("iphone13_activated")
    missing_adb = str(tmp_path / "nowhere" / "adb")
    asyncio.run(poll_and_read(bench.driver(adb=missing_adb)))
    assert bench.statuses[-1] == ("degraded", "adb not installed: apt-get install adb")
    assert len(bench.reports()) == 1

    bench.statuses.clear()
    asyncio.run(poll_and_read(bench.driver(platforms=["android"], adb=missing_adb)))
    assert bench.statuses == [("offline", "adb not installed: apt-get install adb")]


def test_missing_diagnostics_tool_leaves_battery_empty(bench: Bench, tmp_path: Any) -> None:
    bench.preset("iphone13_activated")
    driver = bench.driver(
        platforms=["ios"], idevicediagnostics=str(tmp_path / "idevicediagnostics")
    )
    asyncio.run(poll_and_read(driver))
    report = only_report(bench)
    assert report.battery is None
    assert report.problems == (
        "idevicediagnostics not installed: apt-get install libimobiledevice-utils usbmuxd",
    )


def test_usbmuxd_down(bench: Bench) -> None:
    bench.plug({"usbmuxd_down": True})
    asyncio.run(poll_and_read(bench.driver(platforms=["ios"])))
    state, reason = bench.statuses[-1]
    assert state == "offline"
    assert "ERROR: Unable to retrieve device list!" in reason and "usbmuxd" in reason


# -- attach / detach -------------------------------------------------------------------------


def test_attach_detach_and_read_once_per_attachment(bench: Bench) -> None:
    pixel = bench.preset("pixel8_android14")
    serial = pixel["android"][0]["serial"]
    bench.preset("no_device")

    async def scenario() -> None:
        driver = bench.driver(poll_interval=0.05)
        task = asyncio.create_task(driver.run())

        async def until(condition: Any) -> None:
            for _ in range(200):
                if condition():
                    return
                await asyncio.sleep(0.05)
            raise AssertionError(f"timed out; outputs={bench.outputs}")

        await until(lambda: bench.statuses)
        bench.plug(pixel)
        await until(lambda: len(bench.reports()) == 1)
        await asyncio.sleep(0.3)  # several more polls: no second read
        bench.preset("no_device")
        await until(lambda: "gone" in bench.states(serial))
        bench.plug(pixel)
        await until(lambda: len(bench.reports()) == 2)
        driver.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert bench.states(serial) == ["connected", "gone", "connected"]
    getprops = bench.calls(lambda argv: argv[-1] == "getprop")
    assert len(getprops) == 2  # once per attachment
    assert bench.statuses[0] == ("online", "watching android, ios")
