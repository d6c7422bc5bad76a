"""The cradle test bench: a scenario file to plug phones with, outputs seen, calls made."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.cradle import CradleDriver, CradleOutput, CradleProfile, DeviceReport, DeviceStatus
from drivers.sim.cradle import load_preset, write_scenario


@dataclass
class Bench:
    scenario_path: Path
    log_path: Path
    outputs: list[CradleOutput] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)

    def plug(self, scenario: dict[str, Any]) -> dict[str, Any]:
        write_scenario(self.scenario_path, scenario)
        return scenario

    def preset(self, name: str) -> dict[str, Any]:
        return self.plug(load_preset(name))

    def driver(self, **profile: Any) -> CradleDriver:
        return CradleDriver(
            CradleProfile.model_validate(profile), self.outputs.append, self._status
        )

    def _status(self, state: str, reason: str) -> None:
        self.statuses.append((state, reason))

    def reports(self) -> list[DeviceReport]:
        return [o for o in self.outputs if isinstance(o, DeviceReport)]

    def device_statuses(self) -> list[DeviceStatus]:
        return [o for o in self.outputs if isinstance(o, DeviceStatus)]

    def states(self, device_id: str) -> list[str]:
        return [s.state for s in self.device_statuses() if s.device_id == device_id]

    def calls(
        self, matching: Callable[[list[str]], bool] = lambda argv: True
    ) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        entries = [json.loads(line) for line in self.log_path.read_text().splitlines()]
        return [e for e in entries if matching(e["argv"])]


async def poll_and_read(driver: CradleDriver, times: int = 1) -> None:
    for _ in range(times):
        await driver.poll()
        await driver.wait_for_reads()
