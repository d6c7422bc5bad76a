"""A station profile's scanner entry becomes the right, configured driver."""

from __future__ import annotations

import pydantic
import pytest

from drivers.scanner import ScannerProfile, SerialScanner, WedgeScanner, make_scanner


def _ignore(*_: object) -> None:
    return None


def test_an_input_path_gets_the_keyboard_wedge_driver() -> None:
    driver = make_scanner(
        {
            "kind": "scanner",
            "path": "/dev/input/by-id/usb-Honeywell_1950g-event-kbd",
            "layout": "de",
            "terminator": "tab",
        },
        _ignore,
        _ignore,
    )
    assert isinstance(driver, WedgeScanner)
    assert (driver.layout, driver.terminator) == ("de", "tab")


def test_a_serial_path_gets_the_serial_driver() -> None:
    driver = make_scanner(
        {"path": "/dev/serial/by-id/usb-Zebra_DS2208-if00", "baudrate": 115200}, _ignore, _ignore
    )
    assert isinstance(driver, SerialScanner) and driver.baudrate == 115200


def test_transport_can_be_forced() -> None:
    profile = ScannerProfile.model_validate({"path": "/run/scanner", "transport": "evdev"})
    assert isinstance(make_scanner(profile, _ignore, _ignore), WedgeScanner)


@pytest.mark.parametrize(
    "entry",
    [
        {"path": "/dev/input/by-id/x-event-kbd", "layout": "klingon"},
        {"path": "/dev/input/by-id/x-event-kbd", "terminator": "space"},
        {"path": "/dev/input/by-id/x-event-kbd", "layuot": "de"},  # a typo is not ignored
        {"layout": "de"},
    ],
)
def test_a_bad_entry_is_refused(entry: dict[str, str]) -> None:
    with pytest.raises(pydantic.ValidationError):
        make_scanner(entry, _ignore, _ignore)


def test_an_unknown_layout_names_the_built_in_ones() -> None:
    with pytest.raises(pydantic.ValidationError, match="built in: de, fr, uk, us"):
        ScannerProfile.model_validate({"path": "/dev/input/by-id/x", "layout": "nl"})
