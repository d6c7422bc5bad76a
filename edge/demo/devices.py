"""The demo's devices on a real bus: a private Mosquitto, simulated hardware, the driver hosts.

Only the hardware is simulated (ptys, recorded phone tools, generated label images); from the
device file upward it is the production path: `DriverHost`, the outbox, paho, Mosquitto with
its ACL, and a hub-side subscriber that sees what the hub will see.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from drivers.host import DriverHost
from drivers.hosting import hosted_slots, slot_publishes
from drivers.profile import parse_profile
from drivers.registry import ProcessName
from drivers.sim.camera import dock_session, write_image_folder
from drivers.sim.cradle import SIM_DIR as CRADLE_SIM_DIR
from drivers.sim.cradle import load_preset, write_scenario
from drivers.sim.scale import ScaleSimulator
from drivers.sim.serial_scanner import SerialScannerSimulator
from edge.bus.broker import (
    PrivateBroker,
    free_port,
    load_or_create_credentials,
    private_broker,
)
from edge.bus.client import BusClient, BusConfig
from edge.bus.payloads import DeviceStatus, Diag, Photo, Reply, Scan, Weight
from edge.bus.topics import Topics

WAIT = 15.0
CRADLE_TOOLS = ("adb", "idevice_id", "ideviceinfo", "idevicediagnostics")
# A GS1-128 shipping label as a scanner with AIM prefixes sends it: SSCC, then a return id.
SCANNER_LABEL = "]C1" + "00" + "095011010000000018" + "400" + "RET-2026-000001"


@dataclass
class Sighting:
    device: str
    kind: str
    what: str
    seq: int | None


@dataclass
class HubView:
    """Every decoded message under the station's dev/ tree, as the hub receives it."""

    sightings: list[Sighting] = field(default_factory=list)
    statuses: dict[str, DeviceStatus] = field(default_factory=dict)

    def receive(self, topic: str, model: Any) -> None:
        device = topic.split("/")[4]
        if isinstance(model, DeviceStatus):
            self.statuses[device] = model
        elif isinstance(model, Scan):
            extra = f" IMEI {model.imei}" if model.imei else ""
            gs1 = f" GS1 {model.gs1}" if model.gs1 else ""
            self.add(device, "scan", f"{model.code!r} ({model.symbology}){extra}{gs1}", model.seq)
        elif isinstance(model, Weight) and model.accepted:
            self.add(device, "weight", f"{model.grams} g, stable, accepted", model.seq)
        elif isinstance(model, Photo):
            size = f"{model.width}x{model.height}"
            self.add(device, "photo", f"{size} JPEG, sha256 {model.sha256[:16]}…", model.seq)
        elif isinstance(model, Diag):
            lock = f"{model.lock.get('state')} ({model.lock.get('confidence')})"
            what = f"{model.model}, IMEI {model.imei or 'unavailable'}, lock {lock}"
            self.add(device, "diag", what, model.seq)
        elif isinstance(model, Reply):
            self.add(device, "reply", f"{model.verb}: {model.message}", None)

    def add(self, device: str, kind: str, what: str, seq: int | None) -> None:
        self.sightings.append(Sighting(device, kind, what, seq))

    def count(self, kind: str) -> int:
        return sum(1 for s in self.sightings if s.kind == kind)


async def until(condition: Callable[[], bool], within: float = WAIT) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


@contextlib.asynccontextmanager
async def demo_station(data_dir: Path, site: str, station: str) -> AsyncIterator[DemoStation]:
    station_obj = DemoStation(data_dir, site, station)
    await station_obj.start()
    try:
        yield station_obj
    finally:
        await station_obj.stop()


@dataclass
class DemoStation:
    data_dir: Path
    site: str
    station: str
    hub: HubView = field(default_factory=HubView)
    scale: ScaleSimulator | None = None
    scanner: SerialScannerSimulator | None = None
    cradle_scenario: Path | None = None
    _broker: PrivateBroker | None = None
    _hub_client: BusClient | None = None
    profile_data: dict[str, Any] = field(default_factory=dict)
    bus_config: Callable[[str], BusConfig] | None = None
    _hosts: list[tuple[DriverHost, asyncio.Event, asyncio.Task[None]]] = field(default_factory=list)

    @property
    def sim_dir(self) -> Path:
        return self.data_dir / "sim"

    async def start(self) -> None:
        by_id = self.sim_dir / "serial" / "by-id"
        by_id.mkdir(parents=True, exist_ok=True)
        scale_link = by_id / "usb-Mettler_Toledo_Sim-if00-port0"
        self.scale = ScaleSimulator("mtsics", scale_link)
        self.scale.plug()
        scanner_link = by_id / "usb-Honeywell_Granit_1980i_Sim-if00"
        self.scanner = SerialScannerSimulator(scanner_link)
        self.scanner.plug()
        recording = self.sim_dir / "camera-dock"
        await asyncio.to_thread(_camera_recording, recording)
        self.cradle_scenario = self.sim_dir / "cradle.json"
        write_scenario(self.cradle_scenario, {})
        os.environ["EDGE_SIM_CRADLE"] = str(self.cradle_scenario)
        port = free_port()
        self.profile_data = {
            "station": {"site": self.site, "station": self.station},
            "bus": {"port": port},
            "devices": {
                "dock-scale": {"kind": "scale", "path": str(scale_link), "protocol": "mtsics"},
                "dock-scanner": {"kind": "scanner", "path": str(scanner_link)},
                "dock-camera": {
                    "kind": "camera",
                    "source": str(recording),
                    "fps": 10,
                    "loop": True,
                    "blob_dir": str(self.data_dir / "blobs"),
                },
                "bench-cradle": {
                    "kind": "cradle",
                    "poll_interval": 0.3,
                    **{tool: str(CRADLE_SIM_DIR / tool) for tool in CRADLE_TOOLS},
                },
            },
        }
        profile = parse_profile(self.profile_data)
        credentials = load_or_create_credentials(self.data_dir / "keys")
        self._broker = private_broker(
            self.data_dir,
            site=self.site,
            station=self.station,
            hosted=hosted_slots(profile),
            publishes=slot_publishes(profile),
            credentials=credentials,
            port=port,
        )
        await asyncio.to_thread(self._broker.start)
        topics = Topics(self.site, self.station)
        layout = self._broker.layout

        def config(user: str) -> BusConfig:
            user_port = layout.screen_port if user == "screen" else layout.port
            return BusConfig.for_process(user, credentials[user], "127.0.0.1", user_port)

        self.bus_config = config  # for the hub, which the demo runs next to the devices
        self._hub_client = BusClient(config("screen"), topics)  # what a screen sees
        self._hub_client.subscribe(topics.all_devices, self.hub.receive)
        self._hub_client.start()
        await self._hub_client.wait_connected(WAIT)

        for process in ("drivers", "camera"):
            self._start_host(profile, process, config(process))

    def _start_host(self, profile: Any, process: ProcessName, config: BusConfig) -> None:
        host = DriverHost(profile, process, config, self.data_dir / f"outbox-{process}.sqlite")
        stop = asyncio.Event()
        self._hosts.append((host, stop, asyncio.create_task(host.run(stop))))

    async def stop(self) -> None:
        for _, stop, _ in self._hosts:
            stop.set()
        await asyncio.gather(*(task for _, _, task in self._hosts), return_exceptions=True)
        if self.scale is not None:
            self.scale.unplug()
        if self.scanner is not None:
            self.scanner.unplug()
        if self._hub_client is not None:
            await self._hub_client.stop()
        if self._broker is not None:
            await asyncio.to_thread(self._broker.stop)


def _camera_recording(folder: Path) -> None:
    """The dock camera's view of the scale plate (no label in sight: the scanner reads it)."""
    if folder.is_dir() and any(folder.iterdir()):
        return
    frames = dock_session([[]], np.random.default_rng(7))
    write_image_folder(frames, folder)


async def run_devices(data_dir: Path, site: str, station: str) -> HubView:
    """A box's label scanned, the box weighed, the camera reading its label, a phone docked."""
    async with demo_station(data_dir, site, station) as demo:
        await until(lambda: {"dock-scale", "dock-scanner"} <= set(demo.hub.statuses))
        assert demo.scale is not None and demo.scanner is not None
        demo.scanner.scan(SCANNER_LABEL)
        await until(lambda: demo.hub.count("scan") >= 1)
        demo.scale.place("412.5")
        await until(lambda: demo.hub.count("weight") >= 1)
        assert demo.cradle_scenario is not None
        write_scenario(demo.cradle_scenario, load_preset("pixel8_android14"))
        await until(lambda: demo.hub.count("diag") >= 1)
        await until(lambda: demo.hub.count("scan") >= 2)  # the camera's read of its label
        # What a screen saw while the station ran (stopping turns every device "offline").
        return HubView(list(demo.hub.sightings), dict(demo.hub.statuses))
