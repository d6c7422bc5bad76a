"""`ideviceinfo`'s outputs and the iPhone lock rules (pure).

Vectors written from libimobiledevice's printers: 1.3.0 `common/utils.c`
(`plist_print_to_stream`: a container prints `Key: ` / `Key[N]: ` alone, entries one space
deeper, strings raw) and libplist's `out-limd.c` (`PLIST_FORMAT_LIMD`, what 1.4.0's
`ideviceinfo` calls: a nested dict's first entry on its parent's line, `Key[N]:`, control
characters escaped); `-x` prints `plist_to_xml`, where NVRAM values are `<data>`.
"""

from __future__ import annotations

import plistlib
from datetime import UTC, datetime

import pytest

from drivers.cradle.ideviceinfo_text import parse_info_text
from drivers.cradle.ios import (
    IosInfo,
    confirm_identity,
    find_my_from,
    ios_report,
    read_info,
    read_info_text,
)
from drivers.cradle.lock import (
    FIND_MY_METHOD,
    NVRAM_METHOD,
    LockSignal,
    find_my_signal,
    ios_lock,
    nvram_signal,
)
from drivers.cradle.plists import PlistRefused, load_dict_plist, load_xml_plist
from drivers.cradle.runner import CommandResult
from drivers.sim.cradle.standin import render_text_130
from edge.limits import MAX_TOOL_PLIST_BYTES

READ_AT = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
TEXT_1_3_0 = (
    "ActivationState: Activated\n"
    "BasebandKeyHashInformation: \n"
    " AKeyStatus: 2\n"
    " SKeyHash: u+/tcCwvaQ+1Y9t40I4yegCEmB28mALlaROhaIVGBWo=\n"
    "DeviceName: iPhone\n"
    "NonVolatileRAM: \n"
    " auto-boot: dHJ1ZQ==\n"
    " boot-args: \n"
    " fm-activation-locked: WUVT\n"
    "ProductType: iPhone10,5\n"
    "SupportedDeviceFamilies[2]: \n"
    " 0: 1\n"
    " 1: 2\n"
    "TelephonyCapability: false\n"
)
TEXT_1_4_0 = (
    "ActivationState: Activated\n"
    "BasebandKeyHashInformation: AKeyStatus: 2\n"
    " SKeyHash: u+/tcCwvaQ+1Y9t40I4yegCEmB28mALlaROhaIVGBWo=\n"
    "DeviceName: iPhone\n"
    "NonVolatileRAM: auto-boot: dHJ1ZQ==\n"
    " boot-args: \n"
    " fm-activation-locked: WUVT\n"
    "ProductType: iPhone10,5\n"
    "SupportedDeviceFamilies[2]:\n"
    " 0: 1\n"
    " 1: 2\n"
    "TelephonyCapability: false\n"
)
PARSED = {
    "ActivationState": "Activated",
    "BasebandKeyHashInformation": {
        "AKeyStatus": "2",
        "SKeyHash": "u+/tcCwvaQ+1Y9t40I4yegCEmB28mALlaROhaIVGBWo=",
    },
    "DeviceName": "iPhone",
    "NonVolatileRAM": {"auto-boot": "dHJ1ZQ==", "boot-args": "", "fm-activation-locked": "WUVT"},
    "ProductType": "iPhone10,5",
    "SupportedDeviceFamilies": {"0": "1", "1": "2"},
    "TelephonyCapability": "false",
}

XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>ActivationState</key>
	<string>Activated</string>
	<key>InternationalMobileEquipmentIdentity</key>
	<string>356938035643809</string>
	<key>NonVolatileRAM</key>
	<dict>
		<key>auto-boot</key>
		<data>
		dHJ1ZQ==
		</data>
		<key>fm-activation-locked</key>
		<data>
		Tk8=
		</data>
	</dict>
	<key>PasswordProtected</key>
	<true/>
	<key>ProductType</key>
	<string>iPhone10,5</string>
	<key>SupportedDeviceFamilies</key>
	<array>
		<integer>1</integer>
		<integer>2</integer>
	</array>
</dict>
</plist>
"""


def _value_plist(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n{body}\n</plist>\n'


# -- the text fallback, both layouts ---------------------------------------------------------


@pytest.mark.parametrize(("text", "layout"), [(TEXT_1_3_0, "1.3.0"), (TEXT_1_4_0, "1.4.0")])
def test_text_layouts_parse_alike(text: str, layout: str) -> None:
    parsed = parse_info_text(text)
    assert parsed.values == PARSED
    assert parsed.layout == layout


def test_text_1_4_0_nesting_and_arrays_of_dicts() -> None:
    # {"A": {"B": {"x": 1, "y": 2}, "C": 3}, "L": [{"k": "v", "l": "w"}], "Z": "Bob: phone"}
    text = "A: B: x: 1\n  y: 2\n C: 3\nL[1]:\n 0: k: v\n  l: w\nZ: Bob: phone\n"
    parsed = parse_info_text(text)
    assert parsed.values == {
        "A": {"B": {"x": "1", "y": "2"}, "C": "3"},
        "L": {"0": {"k": "v", "l": "w"}},
        "Z": "Bob: phone",
    }
    assert parsed.layout == "1.4.0"
    # the same values as 1.3.0 prints them
    text = "A: \n B: \n  x: 1\n  y: 2\n C: 3\nL[1]: \n 0: \n  k: v\n  l: w\nZ: Bob: phone\n"
    assert parse_info_text(text).values == parsed.values


def test_text_lock_yes_locks_in_both_layouts() -> None:
    for text in (TEXT_1_3_0, TEXT_1_4_0, "NonVolatileRAM: fm-activation-locked: WUVT\n"):
        info = read_info_text(text, "ideviceinfo -x: malformed")
        lock = ios_lock([nvram_signal(info.values, from_text=True)])
        assert (lock.state, lock.confidence) == ("locked", "high")


@pytest.mark.parametrize(
    "text",
    [
        TEXT_1_3_0.replace("WUVT", "Tk8="),
        TEXT_1_4_0.replace("WUVT", "Tk8="),
        "NonVolatileRAM: fm-activation-locked: Tk8=\n",  # a one-entry dict, 1.4.0
        "ProductType: iPhone10,5\n",  # the flag not shown at all
        # 1.3.0 prints a device name raw: its newlines can forge an NVRAM block
        "DeviceName: x\nNonVolatileRAM: \n fm-activation-locked: Tk8=\nProductType: iPhone10,5\n",
    ],
)
def test_text_never_clears(text: str) -> None:
    info = read_info_text(text, "ideviceinfo -x: malformed")
    lock = ios_lock([nvram_signal(info.values, from_text=True), find_my_signal(False)])
    assert lock.state == "unknown"
    assert "cannot show the flag reliably" in lock.reason


# -- the XML plist (primary) -----------------------------------------------------------------


def test_xml_info_is_typed() -> None:
    info = read_info(XML)
    assert info.form == "xml"
    assert info.values["NonVolatileRAM"] == {"auto-boot": b"true", "fm-activation-locked": b"NO"}
    assert info.values["PasswordProtected"] is True
    assert info.values["SupportedDeviceFamilies"] == [1, 2]
    assert nvram_signal(info.values) == LockSignal(NVRAM_METHOD, "off", "NO")
    locked = read_info(XML.replace("Tk8=", "WUVT"))
    assert nvram_signal(locked.values) == LockSignal(NVRAM_METHOD, "on", "YES")


def test_single_key_queries() -> None:
    # `ideviceinfo -k ActivationState -x` and `-q com.apple.fmip -k IsAssociated -x`
    assert load_xml_plist(_value_plist("<string>Activated</string>"), "-k") == "Activated"
    assert load_xml_plist(_value_plist("<true/>"), "-k") is True
    assert load_xml_plist("", "-k") is None  # lockdownd had no such key: the tool prints nothing
    ok = CommandResult(("ideviceinfo",), "ok", _value_plist("<false/>"))
    assert find_my_from(ok) == LockSignal(FIND_MY_METHOD, "off", "false")
    on = CommandResult(("ideviceinfo",), "ok", _value_plist("<true/>"))
    assert find_my_from(on).state == "on"
    assert find_my_from(CommandResult(("ideviceinfo",), "ok", "")).state == "absent"
    text = CommandResult(("ideviceinfo",), "ok", _value_plist("<string>yes</string>"))
    assert find_my_from(text).state == "unreadable"


@pytest.mark.parametrize(
    ("output", "why"),
    [
        ("<plist>" + " " * MAX_TOOL_PLIST_BYTES + "</plist>", "over the"),
        (plistlib.dumps({"a": 1}, fmt=plistlib.FMT_BINARY).decode("latin-1"), "binary plist"),
        (
            '<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY x "boom">]>'
            '<plist version="1.0"><string>&x;</string></plist>',
            "entity declarations",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<plist version="1.0"><dict><key>k</key><string>&x;</string></dict></plist>',
            "entity declarations",
        ),
        (XML[: len(XML) // 2], "malformed XML plist"),
        ("ActivationState: Activated\n", "not an XML plist"),
        (_value_plist("<array><integer>1</integer></array>"), "root is of type array, not dict"),
        ("", "no output"),
        # plistlib reads a <date> with a regex and fails on one that does not match it.
        (_value_plist("<dict><key>d</key><date>not a date</date></dict>"), "malformed XML plist"),
        (_value_plist("<dict><key>d</key><date></date></dict>"), "malformed XML plist"),
    ],
)
def test_unsafe_or_wrong_plists_are_refused(output: str, why: str) -> None:
    with pytest.raises(PlistRefused, match="ideviceinfo -x") as refused:
        load_dict_plist(output, "ideviceinfo -x")
    assert why in str(refused.value)


def test_unexpected_value_types_are_named_not_used() -> None:
    info = read_info(XML.replace("<string>iPhone10,5</string>", "<integer>105</integer>"))
    report = ios_report("UDID", info, None, READ_AT, None)
    assert report.model_code is None
    assert "ideviceinfo ProductType is of type integer, not string: not used" in report.problems
    odd = {"NonVolatileRAM": {"fm-activation-locked": 1}}
    assert nvram_signal(odd).state == "unreadable"
    assert nvram_signal({"NonVolatileRAM": "Tk8="}).state == "unreadable"


# -- the lock rules over both signals --------------------------------------------------------

OFF_NVRAM = LockSignal(NVRAM_METHOD, "off", "NO")
OFF_FIND_MY = LockSignal(FIND_MY_METHOD, "off", "false")


def test_lock_rules() -> None:
    both_off = ios_lock([OFF_NVRAM, OFF_FIND_MY])
    assert (both_off.state, both_off.confidence) == ("clear", "medium")
    assert both_off.method == f"{NVRAM_METHOD} + {FIND_MY_METHOD}"
    find_my_on = ios_lock([OFF_NVRAM, LockSignal(FIND_MY_METHOD, "on", "true")])
    assert (find_my_on.state, find_my_on.method) == ("locked", FIND_MY_METHOD)
    # one off, the other not served by this phone: clear, but only just
    one = ios_lock([LockSignal(NVRAM_METHOD, "absent", "no NonVolatileRAM"), OFF_FIND_MY])
    assert (one.state, one.confidence) == ("clear", "low")
    # one off, the other could not be read: unknown, saying why
    unread = ios_lock([OFF_NVRAM, find_my_signal(None, "ideviceinfo did not answer")])
    assert (unread.state, unread.method) == ("unknown", FIND_MY_METHOD)
    assert "ideviceinfo did not answer" in unread.reason
    nothing = ios_lock([LockSignal(NVRAM_METHOD, "absent", "x"), find_my_signal(None)])
    assert nothing.state == "unknown"


def test_report_from_text_says_why() -> None:
    info = read_info_text(TEXT_1_4_0.replace("WUVT", "Tk8="), "ideviceinfo -x: malformed")
    assert isinstance(info, IosInfo) and info.form == "text"
    ok = CommandResult(("ideviceinfo",), "ok", _value_plist("<false/>"))
    report = ios_report("UDID", info, None, READ_AT, ok)
    assert report.lock.state == "unknown"
    assert report.model_code is not None and report.model_code.value == "iPhone10,5"
    assert report.problems[0].startswith("ideviceinfo -x: malformed; read ideviceinfo's text")
    assert "1.4.0 layout" in report.problems[0]


def test_a_malformed_date_in_the_find_my_answer_is_unreadable_not_a_crash() -> None:
    answer = CommandResult(("ideviceinfo",), "ok", stdout=_value_plist("<date>soon</date>"))
    signal = find_my_from(answer)
    assert signal.state == "unreadable" and "malformed XML plist" in signal.said


def test_the_text_fallback_has_the_plists_size_bound() -> None:
    # The fallback runs when `-x` was refused, e.g. for being over the bound: the same answer
    # printed as text must not then be parsed (seconds per MB, on the drivers' event loop).
    text = "DeviceName: " + "x" * MAX_TOOL_PLIST_BYTES + "\nProductType: iPhone14,5\n"
    with pytest.raises(PlistRefused, match=r"ideviceinfo \(text output\): .* over the"):
        read_info_text(text, "ideviceinfo -x: too big")


FORGED_NAME = "Bob's iPad\x01\nInternationalMobileEquipmentIdentity: 356938035643809"


def test_a_device_name_cannot_forge_identity_through_the_text_fallback() -> None:
    # libplist escapes only < > & in XML strings, so the \x01 breaks `-x`; 1.3.0 then prints
    # the name's newline raw, and the line after it reads as an IMEI this Wi-Fi iPad lacks.
    values = {"DeviceName": FORGED_NAME, "ProductType": "iPad13,1", "SerialNumber": "DMPX1"}
    info = read_info_text(render_text_130(values), "ideviceinfo -x: malformed XML plist")
    assert info.values["InternationalMobileEquipmentIdentity"] == "356938035643809"  # forged

    def answer(value: str | None) -> CommandResult:
        body = "" if value is None else plistlib.dumps(value).decode()
        return CommandResult(("ideviceinfo",), "ok", stdout=body)

    answers = {
        "ProductType": answer("iPad13,1"),
        "SerialNumber": answer("DMPX1"),
        "InternationalMobileEquipmentIdentity": answer(None),  # lockdownd has no such key
    }
    confirmed = confirm_identity(info, answers)
    assert "InternationalMobileEquipmentIdentity" not in confirmed.values
    assert "InternationalMobileEquipmentIdentity not taken from the text" in confirmed.note
    report = ios_report("u", confirmed, None, datetime.now(UTC))
    assert report.imei.value is None and report.serial_number is not None
    assert report.serial_number.value == "DMPX1"
