"""Scanners through the bus: serial pty and a replayed evdev stream → driver → Mosquitto → hub."""

from __future__ import annotations

import asyncio
from pathlib import Path

from drivers.host import DriverHost
from drivers.profile import DeviceSlot, parse_profile
from drivers.publisher import DevicePublisher
from drivers.scanner.evdev_driver import WedgeScanner
from drivers.scanner.plugin import ScannerDevice
from drivers.sim import keystreams
from drivers.sim.serial_scanner import SerialScannerSimulator
from edge.bus import BusClient, Outbox
from edge.bus.payloads import Scan
from tests.broker import RunningBroker
from tests.drivers.scanner.support import InputNode
from tests.drivers.test_host import Hub, run, until

GS1_LABEL = "]C1" + "0109501234567891" + "10LOT42" + "\x1d" + "21SER7"
IMEI = "490154203237518"  # the published example IMEI, Luhn-valid


def test_serial_scanner_codes_errors_and_replug(broker: RunningBroker, tmp_path: Path) -> None:
    by_id = tmp_path / "serial" / "by-id"
    by_id.mkdir(parents=True)
    link = by_id / "usb-Honeywell_1900_Sim-if00"
    profile = parse_profile(
        {
            "station": {"site": "ams-1", "station": "dock-1"},
            "devices": {"dock-scanner": {"kind": "scanner", "path": str(link), "max_length": 64}},
        }
    )

    async def scenario() -> None:
        hub = Hub(broker)
        await hub.start()
        host = DriverHost(profile, "drivers", broker.config("drivers"), tmp_path / "outbox.sqlite")
        stop = asyncio.Event()
        with SerialScannerSimulator(link) as sim:
            running = asyncio.create_task(host.run(stop))
            await until(lambda: "online" in hub.statuses("dock-scanner"))
            sim.scan(GS1_LABEL)
            sim.scan(IMEI)
            sim.scan("X" * 200)  # longer than max_length: not a code
            await until(lambda: len(hub.of(Scan)) == 2)
            gs1, imei = hub.of(Scan)
            assert (gs1.aim, gs1.symbology, gs1.seq) == ("]C1", "gs1-128", 1)
            assert gs1.gs1 == {"01": "09501234567891", "10": "LOT42", "21": "SER7"}
            assert gs1.raw == GS1_LABEL.encode()
            assert (imei.code, imei.imei, imei.seq) == (IMEI, IMEI, 2)
            await until(
                lambda: any(
                    m.detail.get("read_errors") == 1
                    for t, m in hub.messages
                    if t.endswith("dock-scanner/status")
                )
            )
            sim.unplug()
            await until(lambda: hub.statuses("dock-scanner")[-1] == "offline")
            sim.plug()
            await until(lambda: hub.statuses("dock-scanner")[-1] == "online")
            sim.scan("RET-2026-000123")
            await until(lambda: len(hub.of(Scan)) == 3)
            assert hub.of(Scan)[-1].code == "RET-2026-000123" and hub.of(Scan)[-1].seq == 3
            stop.set()
            await running
        await hub.client.stop()

    run(scenario())


def test_wedge_scanner_on_a_german_layout_and_a_typing_human(
    broker: RunningBroker, tmp_path: Path
) -> None:
    node = InputNode(tmp_path / "usb-Datalogic_Sim-event-kbd")
    label = "RÜCK-2026/ä?#"

    async def scenario() -> None:
        hub = Hub(broker)
        await hub.start()
        bus = BusClient(broker.config("drivers"), broker.topics, Outbox(tmp_path / "outbox.sqlite"))
        bus.start()
        slot = DeviceSlot(id="dock-wedge", kind="scanner", path=str(node.path), layout="de")
        device = ScannerDevice(slot, DevicePublisher(bus, slot.id, "scanner"))
        device.driver = WedgeScanner(
            node.path, device.on_output, device.on_status, layout="de", open_device=node.open
        )
        node.plug()
        running = asyncio.create_task(device.run())
        await until(lambda: node.opens == 1 and node.device.grabbed)
        node.device.send(keystreams.scan(label, "de"))
        node.device.send(keystreams.scan("RET-9", "de", timing="human", seed=3))
        await until(lambda: len(hub.of(Scan)) == 2)
        scanned, typed = hub.of(Scan)
        assert (scanned.code, scanned.source) == (label, "scanner")
        assert (typed.code, typed.source) == ("RET-9", "keyboard")
        device.stop()
        await running
        await bus.stop()
        await hub.client.stop()

    run(scenario())
