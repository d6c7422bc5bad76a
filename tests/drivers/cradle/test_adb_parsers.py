"""adb parsers on recorded outputs (shapes quoted in docs/cradle.md, from public captures)."""

from __future__ import annotations

from drivers.cradle.adb import (
    parse_account_types,
    parse_battery,
    parse_device_policy,
    parse_devices,
    parse_getprop,
    parse_parcel_string,
    state_advice,
)

ADB_DEVICES = "\n".join(
    [
        "* daemon not running; starting now at tcp:5037",
        "* daemon started successfully",
        "List of devices attached",
        "emulator-5554\tdevice product:sdk_gphone64_arm64 model:sdk_gphone64_arm64 "
        "device:emu64a transport_id:1",
        "emulator-5556          offline transport_id:2",
        "0123456789ABCDEF       unauthorized usb:1-1 transport_id:3",
        "R58M123       no permissions (missing udev rules? user is in the plugdev group); "
        "see [http://developer.android.com/tools/device.html] usb:1-2 transport_id:4",
        "R58N12ABCDE   device usb:1-3 product:o1sxx model:SM_G991B device:o1s transport_id:5",
        "",
        "",
    ]
)


def test_adb_devices_every_state_and_detail() -> None:
    devices = parse_devices(ADB_DEVICES)
    assert [(d.serial, d.state) for d in devices] == [
        ("emulator-5554", "device"),
        ("emulator-5556", "offline"),
        ("0123456789ABCDEF", "unauthorized"),
        ("R58M123", "no permissions"),
        ("R58N12ABCDE", "device"),
    ]
    assert devices[4].detail == {
        "usb": "1-3",
        "product": "o1sxx",
        "model": "SM_G991B",
        "device": "o1s",
        "transport_id": "5",
    }
    assert devices[3].detail == {"usb": "1-2", "transport_id": "4"}
    assert "missing udev rules" in devices[3].note


def test_adb_devices_empty_list() -> None:
    assert parse_devices("List of devices attached\n\n") == []


def test_state_advice_for_technician() -> None:
    assert state_advice("unauthorized") == (
        "unauthorized",
        "Unlock the phone and accept the USB debugging prompt (Always allow from this computer).",
    )
    assert state_advice("no permissions")[0] == "no_permissions"
    state, message = state_advice("recovery")
    assert state == "other_mode" and "recovery mode" in message


GETPROP = """\
[ro.build.version.release]: [15]
[ro.build.version.sdk]: [35]
[ro.product.brand]: [google]
[ro.product.model]: [Pixel 9 Pro]
[persist.sys.timezone]: []
garbage line
"""


def test_getprop() -> None:
    props = parse_getprop(GETPROP)
    assert props["ro.product.model"] == "Pixel 9 Pro"
    assert props["ro.build.version.sdk"] == "35"
    assert props["persist.sys.timezone"] == ""
    assert len(props) == 5


# Samsung Galaxy (blog capture of `adb shell dumpsys battery`, vendor lines kept).
SAMSUNG_BATTERY = """\
Current Battery Service state:
  mBootCompleted: true
  AC powered: false
  USB powered: true
  Wireless powered: false
  Max charging current: 0
  Max charging voltage: 0
  Charge counter: 0
  status: 2
  health: 2
  present: true
  level: 84
  scale: 100
  voltage: 4063
  temperature: 326
  technology: Li-ion
  batterySWSelfDischarging: false
  mSecPlugTypeSummary: 2
  LED Charging: true
  current now: 321
  charge counter: 0
  LLB CAL:
  LLB MAN: 20160426
"""


def test_dumpsys_battery_samsung() -> None:
    dump = parse_battery(SAMSUNG_BATTERY)
    assert dump is not None and not dump.frozen
    assert dump.values["level"] == "84"
    assert dump.values["temperature"] == "326"
    assert dump.values["health"] == "2"
    assert dump.values["USB powered"] == "true"


def test_dumpsys_battery_frozen_by_set() -> None:
    text = (
        "Current Battery Service state:\n"
        "  (UPDATES STOPPED -- use 'reset' to restart)\n"
        "  level: 5\n"
    )
    dump = parse_battery(text)
    assert dump is not None and dump.frozen


def test_dumpsys_battery_not_a_dump() -> None:
    assert parse_battery("Can't find service: battery\n") is None


# chromium devil's recorded reply from `service call iphonesubinfo 1` (Android before 10).
IMEI_PARCEL = """\
Result: Parcel(
  0x00000000: 00000000 0000000f 00350033 00360033 '........3.5.3.6.'
  0x00000010: 00360032 00370030 00300032 00300039 '2.6.0.7.2.0.9.0.'
  0x00000020: 00380033 00000039                   '3.8.9...        ')
"""


def test_parcel_string_from_recorded_reply() -> None:
    reply = parse_parcel_string(IMEI_PARCEL)
    assert reply.text == "353626072090389"
    assert reply.exception is None


def test_parcel_security_exception() -> None:
    # Android 10+: EX_SECURITY (-1) then the message as String16 ("getDeviceId: …", 11 chars
    # written out here; the real message is longer).
    text = """\
Result: Parcel(
  0x00000000: ffffffff 0000000b 00650067 00440074 '........g.e.t.D.'
  0x00000010: 00760065 00630069 00490065 00000064 'e.v.i.c.e.I.d...'
  0x00000020: 00000000                            '....            ')
"""
    reply = parse_parcel_string(text)
    assert reply.text is None
    assert reply.exception == "SecurityException: getDeviceId"


def test_parcel_single_line_and_failures() -> None:
    assert parse_parcel_string("Result: Parcel(00000000 ffffffff   '........')").unreadable
    assert parse_parcel_string("service: Service iphonesubinfo does not exist\n").unreadable == (
        "not a parcel: service: Service iphonesubinfo does not exist"
    )
    reply = parse_parcel_string('Result: Parcel(Error: 0xffffffb6 "Not a data message")')
    assert reply.unreadable is not None and "Error" in reply.unreadable


DEVICE_POLICY = "\n".join(
    [
        "Current Device Policy Manager state:",
        "  Immutable state:",
        "    mHasFeature=true",
        "  Device Owner: ",  # the real dump ends these headers with a space
        "    admin=ComponentInfo{com.afwsamples.testdpc/.DeviceAdminReceiver}",
        "    name=",
        "    package=com.afwsamples.testdpc",
        "    isOrganizationOwnedDevice=true",
        "    User ID: 0",
        "",
        "  Profile Owner (User 10): ",
        "    admin=ComponentInfo{com.example.work/com.example.work.Admin}",
        "    name=Work",
        "    package=com.example.work",
        "",
        "  Enabled Device Admins (User 0, provisioningState: 3):",
    ]
)


def test_device_policy_owners() -> None:
    policy = parse_device_policy(DEVICE_POLICY)
    assert policy is not None
    assert policy.device_owner == "com.afwsamples.testdpc"
    assert policy.profile_owners == {10: "com.example.work"}


def test_device_policy_none_and_unreadable() -> None:
    unmanaged = parse_device_policy("Current Device Policy Manager state:\n  Immutable state:\n")
    assert unmanaged is not None and unmanaged.device_owner is None
    assert unmanaged.profile_owners == {}
    assert parse_device_policy("Permission Denial: can't dump DevicePolicyManager\n") is None


ACCOUNTS = """\
User UserInfo{0:Owner:c13}:
  Accounts: 4
    Account {name=someone@gmail.com,        type=com.google}
    Account {name=someone@example.com, type=com.osp.app.signin}
    Account {name=someone@example.com, type=com.samsung.android.mobileservice}
    Account {name=Meet,                     type=com.google.android.apps.tachyon}

  RegisteredServicesCache: 2 services
    ServiceInfo: AuthenticatorDescription {type=com.google}, ComponentInfo{x/y}, uid 10151
"""


def test_account_types_without_names() -> None:
    types = parse_account_types(ACCOUNTS)
    assert types == [
        "com.google",
        "com.osp.app.signin",
        "com.samsung.android.mobileservice",
        "com.google.android.apps.tachyon",
    ]


def test_account_types_none_signed_in_vs_unreadable() -> None:
    assert parse_account_types("User UserInfo{0:Owner:c13}:\n  Accounts: 0\n") == []
    assert parse_account_types("") is None
    # announced two, listed one: not a dump we understand
    assert parse_account_types("  Accounts: 2\n    Account {name=a, type=com.google}\n") is None
