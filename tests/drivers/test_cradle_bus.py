"""The cradle through the driver host: stand-in phone tools → driver → Mosquitto → hub."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from drivers.host import DriverHost
from drivers.profile import parse_profile
from drivers.sim.cradle import SIM_DIR, load_preset, write_scenario
from edge.bus.payloads import Diag
from tests.broker import RunningBroker
from tests.drivers.test_host import Hub, run, until


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "scenario.json"
    write_scenario(path, {})
    monkeypatch.setenv("PATH", f"{SIM_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("EDGE_SIM_CRADLE", str(path))
    return path


def test_phone_reports_and_technician_prompts_reach_the_hub(
    broker: RunningBroker, tmp_path: Path, scenario: Path
) -> None:
    profile = parse_profile(
        {
            "station": {"site": "ams-1", "station": "dock-1"},
            "devices": {"bench-cradle": {"kind": "cradle", "poll_interval": 0.2}},
        }
    )
    iphone = load_preset("iphone13_activated")
    expected = iphone["ios"][0]["info"]

    async def scenario_run() -> None:
        hub = Hub(broker)
        await hub.start()
        host = DriverHost(profile, "drivers", broker.config("drivers"), tmp_path / "outbox.sqlite")
        stop = asyncio.Event()
        running = asyncio.create_task(host.run(stop))
        write_scenario(scenario, load_preset("iphone_untrusted"))
        await until(lambda: "attention" in hub.statuses("bench-cradle"), 20)
        status = [m for t, m in hub.messages if t.endswith("bench-cradle/status")][-1]
        assert "Trust" in status.reason
        assert not hub.of(Diag)  # nothing invented for a phone that would not talk
        write_scenario(scenario, iphone)
        await until(lambda: len(hub.of(Diag)) == 1, 20)
        diag = hub.of(Diag)[0]
        assert diag.platform == "ios" and diag.seq == 1
        assert diag.imei == expected["InternationalMobileEquipmentIdentity"]
        assert diag.serial == expected["SerialNumber"]
        assert iphone["ios"][0]["nvram"]["fm-activation-locked"] == "NO"
        assert diag.lock["state"] == "clear"  # Find My off: the NVRAM flag and com.apple.fmip
        assert diag.fields["model_code"]["value"] == expected["ProductType"]
        stop.set()
        await running
        await hub.client.stop()

    run(scenario_run())
