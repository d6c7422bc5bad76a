"""The profile entry shape docs/cradle.md documents."""

from __future__ import annotations

import tomllib

import pydantic
import pytest

from drivers.cradle import CradleProfile

STATION_TOML = """
[devices.bench_cradle]
kind = "cradle"
platforms = ["android", "ios"]
adb = "/usr/bin/adb"
ideviceinfo = "ideviceinfo"
read_timeout = 20
"""


def test_profile_from_station_toml() -> None:
    entry = tomllib.loads(STATION_TOML)["devices"]["bench_cradle"]
    profile = CradleProfile.model_validate(entry)
    assert profile.platforms == ("android", "ios")
    assert profile.adb == "/usr/bin/adb"
    assert profile.idevicediagnostics == "idevicediagnostics"  # default: found on PATH
    assert profile.read_timeout == 20


@pytest.mark.parametrize(
    "entry",
    [
        {"kind": "scale"},
        {"platforms": ["windows"]},
        {"poll_interval": 0},
        {"adb_path": "adb"},  # unknown keys are refused, not ignored
    ],
)
def test_profile_refuses_bad_entries(entry: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        CradleProfile.model_validate(entry)
