"""The units that run `edge` keep its state private: data folder 0700, files 0600."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[1] / "systemd"


@pytest.mark.parametrize(
    "unit",
    ["edge-hub.service", "edge-drivers.service", "edge-camera.service", "edge-upstream.service"],
)
def test_state_is_private_to_the_services_user(unit: str) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(SYSTEMD / unit)
    service = parser["Service"]
    assert service["StateDirectory"]
    assert service["StateDirectoryMode"] == "0700"
    assert service["UMask"] == "0077"
