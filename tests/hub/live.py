"""A whole station for end-to-end tests: a private Mosquitto, simulated devices on ptys and an
image folder, the drivers and camera hosts, and the real hub behind its API (TestClient)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from drivers.host import DriverHost
from drivers.sim.camera import dock_session, write_image_folder
from drivers.sim.scale import ScaleSimulator
from drivers.sim.serial_scanner import SerialScannerSimulator
from edge.hub.serve import hub_app
from edge.operators import OPERATORS_FILE, OperatorStore, Role
from stations.profile import HubProfile, load_hub_profile
from tests.broker import SITE, STATION, RunningBroker

PIN = "8264"

# The dock as the live tests run it: scanner and scale on ptys, the camera on an image folder.
DOCK_SCANNER_AND_SCALE = """
[station]
site = "ams-1"
station = "dock-1"
role = "dock"

[bus]
port = {port}

[devices.dock-scanner]
kind = "scanner"
path = "{scanner}"

[devices.dock-scale]
kind = "scale"
path = "{scale}"
protocol = "mtsics"
"""
DOCK = (
    DOCK_SCANNER_AND_SCALE
    + """
[devices.dock-camera]
kind = "camera"
source = "{camera}"
fps = 10
loop = true
blob_dir = "{blobs}"

[receiving]
camera = "dock-camera"
"""
)


def wait_for(condition: Callable[[], Any], within: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


def add_operator(data_dir: Path, operator_id: str, role: Role, badge: str) -> None:
    store = OperatorStore(data_dir / OPERATORS_FILE)
    try:
        store.add_operator(
            operator_id, operator_id.title(), role, PIN, badge=badge, now=datetime.now(UTC)
        )
    finally:
        store.close()


@dataclass
class DeviceLoop:
    """Driver hosts on their own event loop thread, as `edge drivers` / `edge camera` run."""

    hosts: list[DriverHost]
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _thread: threading.Thread | None = None
    _stop: asyncio.Event | None = None

    def start(self) -> None:
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self._loop)

            async def run() -> None:
                self._stop = asyncio.Event()
                ready.set()
                await asyncio.gather(*(host.run(self._stop) for host in self.hosts))

            self._loop.run_until_complete(run())

        self._thread = threading.Thread(target=main, daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(20)


@dataclass
class LiveStation:
    data_dir: Path
    profile: HubProfile
    client: TestClient
    scale: ScaleSimulator | None
    scanner: SerialScannerSimulator | None
    tokens: dict[str, str] = field(default_factory=dict)

    def sign_in(self, badge: str) -> str:
        answer = self.client.post("/api/v1/auth/sign-in", json={"badge": badge, "pin": PIN})
        assert answer.status_code == 200, answer.text
        token = str(answer.json()["token"])
        self.tokens[badge] = token
        return token

    def call(self, method: str, url: str, badge: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[badge]}"}
        return self.client.request(method, url, headers=headers, **kwargs)

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        token = next(iter(self.tokens.values()))
        page = self.client.get(
            "/api/v1/journal",
            params={"after": after, "limit": 500},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert page.status_code == 200, page.text
        return list(page.json()["events"])

    def size(self) -> int:
        return len(self.events())


def write_profile(folder: Path, text: str) -> Path:
    path = folder / "station.toml"
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def live_station(
    broker: RunningBroker, tmp_path: Path, profile_text: str, *, camera_frames: bool = True
) -> Iterator[LiveStation]:
    """`profile_text` may use {scale}, {scanner}, {camera}, {blobs} and {port} placeholders."""
    data_dir = tmp_path / "station"
    data_dir.mkdir()
    by_id = tmp_path / "dev" / "serial" / "by-id"
    by_id.mkdir(parents=True)
    scale_link = by_id / "usb-Mettler_Toledo_Sim-if00-port0"
    scanner_link = by_id / "usb-Honeywell_Granit_Sim-if00"
    recording = tmp_path / "camera"
    if camera_frames:
        frames = dock_session([[]], np.random.default_rng(3))
        write_image_folder(frames, recording)
    path = write_profile(
        tmp_path,
        profile_text.format(
            scale=scale_link,
            scanner=scanner_link,
            camera=recording,
            port=broker.port,
            blobs=data_dir / "blobs",
        ),
    )
    profile = load_hub_profile(path)
    add_operator(data_dir, "olga", Role.OPERATOR, "BADGE-OLGA")
    add_operator(data_dir, "tom", Role.TECHNICIAN, "BADGE-TOM")
    add_operator(data_dir, "ada", Role.ADMIN, "BADGE-ADA")
    kinds = {slot.kind for slot in profile.station.devices}
    scale = ScaleSimulator("mtsics", scale_link) if "scale" in kinds else None
    scanner = SerialScannerSimulator(scanner_link) if "scanner" in kinds else None
    for sim in (scale, scanner):
        if sim is not None:
            sim.plug()
    hosts = [
        DriverHost(
            profile.station,
            process,
            broker.config(process),
            data_dir / f"outbox-{process}.sqlite",
        )
        for process in ("drivers", "camera")
    ]
    devices = DeviceLoop(hosts)
    app = hub_app(
        data_dir,
        profile,
        profile_path=path,
        bus_config=broker.config("hub", client_id=f"{SITE}.{STATION}.hub"),
    )
    try:
        with TestClient(app) as client:
            devices.start()
            yield LiveStation(data_dir, profile, client, scale, scanner)
            devices.stop()
    finally:
        devices.stop()
        for sim in (scale, scanner):
            if sim is not None:
                sim.unplug()
