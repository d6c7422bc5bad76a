"""libimobiledevice parsers on recorded outputs."""

from __future__ import annotations

from drivers.cradle.libimobiledevice import lockdown_error, parse_device_list, parse_smart_battery
from edge.limits import MAX_TOOL_PLIST_BYTES


def test_idevice_id_list() -> None:
    text = "00008110-000E44540A2A801E\n1a2b3c4d5e6f708192a3b4c5d6e7f80910a1b2c3\n\n"
    assert parse_device_list(text) == [
        "00008110-000E44540A2A801E",
        "1a2b3c4d5e6f708192a3b4c5d6e7f80910a1b2c3",
    ]
    assert parse_device_list("00008030-000C25E83A0B802E (USB)\n") == ["00008030-000C25E83A0B802E"]
    assert parse_device_list("ERROR: Unable to retrieve device list!\n") == []


def test_lockdown_errors_to_technician_messages() -> None:
    pending = lockdown_error(
        "ERROR: Could not connect to lockdownd: Pairing dialog response pending (-19)\n"
    )
    assert pending is not None and pending.problem == "pending"
    assert pending.said == "Pairing dialog response pending (-19)"
    assert pending.message.startswith("Unlock the phone and tap Trust")
    password = lockdown_error("ERROR: Could not connect to lockdownd: Password protected (-17)")
    assert password is not None and password.problem == "password"
    stale = lockdown_error("ERROR: Could not connect to lockdownd: Invalid HostID (-21)")
    assert stale is not None and stale.problem == "stale_pairing"
    denied = lockdown_error("ERROR: Could not connect to lockdownd: User denied pairing (-18)")
    assert denied is not None and denied.problem == "denied"
    old = lockdown_error("ERROR: Could not connect to lockdownd, error code -19\n")
    assert old is not None and old.problem == "other" and old.said == "error code -19"
    assert lockdown_error("ERROR: Device 00008110-000E44540A2A801E not found!") is None


# A real `idevicediagnostics ioregentry AppleSmartBattery` capture, trimmed.
IOREG = """\
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>IORegistry</key>
	<dict>
		<key>AdapterDetails</key>
		<dict>
			<key>Description</key>
			<string>pd charger</string>
			<key>Watts</key>
			<integer>15</integer>
		</dict>
		<key>Amperage</key>
		<integer>2656</integer>
		<key>BatteryData</key>
		<dict>
			<key>DesignCapacity</key>
			<integer>3544</integer>
			<key>FullChargeCapacity</key>
			<integer>3233</integer>
			<key>NominalChargeCapacity</key>
			<integer>3103</integer>
		</dict>
		<key>CycleCount</key>
		<integer>856</integer>
		<key>IsCharging</key>
		<true/>
	</dict>
</dict>
</plist>
"""


def test_smart_battery_nested_capacities() -> None:
    battery = parse_smart_battery(IOREG)
    assert battery is not None
    assert battery.cycle_count == 856
    assert battery.design_capacity == 3544
    assert battery.nominal_charge_capacity == 3103
    assert battery.apple_raw_max_capacity is None
    assert battery.is_charging is True


def test_smart_battery_relay_wrapper_and_errors() -> None:
    wrapped = (
        '<plist version="1.0"><dict><key>Diagnostics</key><dict><key>IORegistry</key><dict>'
        "<key>AppleRawMaxCapacity</key><integer>4000</integer>"
        "<key>DesignCapacity</key><integer>4000</integer>"
        "</dict></dict></dict></plist>"
    )
    battery = parse_smart_battery(wrapped)
    assert battery is not None and battery.apple_raw_max_capacity == 4000
    assert parse_smart_battery("Unable to retrieve IORegistry from device.\n") is None
    assert parse_smart_battery("<plist><dict><key>Status</key></plist>") is None


def test_smart_battery_over_the_size_limit_is_not_read() -> None:
    padding = "<!--" + "x" * MAX_TOOL_PLIST_BYTES + "-->"
    assert parse_smart_battery(IOREG.replace("<plist", padding + "<plist", 1)) is None
