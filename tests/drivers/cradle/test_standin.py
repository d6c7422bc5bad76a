"""The stand-in `ideviceinfo` speaks what the real one prints, per libimobiledevice version.

Expected text written from the printers (1.3.0 `common/utils.c`, libplist `out-limd.c` for
1.4.0), not from the stand-in: so the driver tests exercise the formats a station meets.
"""

from __future__ import annotations

import plistlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from drivers.sim.cradle.standin import ideviceinfo_main
from tests.drivers.cradle.bench import Bench

UDID = "00008110-001A2B3C4D5E801E"


@dataclass
class Said:
    stdout: str
    stderr: str


@pytest.fixture
def ideviceinfo(capsys: pytest.CaptureFixture[str]) -> Callable[..., Said]:
    """The stand-in's main in-process (the driver tests run its executable)."""

    def run(*args: str) -> Said:
        assert ideviceinfo_main(["-u", UDID, *args]) == 0
        out, err = capsys.readouterr()
        return Said(out, err)

    return run


def _phone(bench: Bench, version: str) -> None:
    bench.plug(
        {
            "ios": [
                {
                    "udid": UDID,
                    "ideviceinfo": version,
                    "info": {"ActivationState": "Activated", "DeviceName": "Bob\tX"},
                    "nvram": {"auto-boot": "true", "fm-activation-locked": "NO"},
                    "domains": {"com.apple.fmip": {"IsAssociated": False}},
                }
            ]
        }
    )


@pytest.mark.parametrize(
    ("version", "text", "warning"),
    [
        (
            "1.3.0",
            "ActivationState: Activated\nDeviceName: Bob\tX\n"
            "NonVolatileRAM: \n auto-boot: dHJ1ZQ==\n fm-activation-locked: Tk8=\n",
            'WARNING: Sending query with unknown domain "com.apple.fmip".\n',
        ),
        (
            "1.4.0",
            "ActivationState: Activated\nDeviceName: Bob\\tX\n"
            "NonVolatileRAM: auto-boot: dHJ1ZQ==\n fm-activation-locked: Tk8=\n",
            "",
        ),
    ],
)
def test_ideviceinfo_standin_formats(
    bench: Bench,
    ideviceinfo: Callable[..., Said],
    version: str,
    text: str,
    warning: str,
) -> None:
    _phone(bench, version)
    assert ideviceinfo().stdout == text
    assert ideviceinfo("-k", "ActivationState").stdout == "Activated\n"
    assert plistlib.loads(ideviceinfo("-x").stdout.encode())["NonVolatileRAM"] == {
        "auto-boot": b"true",
        "fm-activation-locked": b"NO",
    }
    single = ideviceinfo("-k", "ActivationState", "-x").stdout
    assert plistlib.loads(single.encode()) == "Activated"
    find_my = ideviceinfo("-q", "com.apple.fmip", "-k", "IsAssociated", "-x")
    assert plistlib.loads(find_my.stdout.encode()) is False
    assert find_my.stderr == warning
    assert ideviceinfo("-k", "NoSuchKey").stdout == ""  # lockdownd refuses: nothing printed
