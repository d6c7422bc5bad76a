"""A code the hub would refuse is never published (issue 14.4, 14.8): a scanner's read over
MAX_CODE_LENGTH or with a control character is a read error, and any driver's scan payload
that fails the bus model is refused, both named in the device's status."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from drivers.codes import CodeError, interpret
from drivers.host import DriverHost
from drivers.profile import parse_profile
from drivers.publisher import DevicePublisher
from drivers.sim.serial_scanner import SerialScannerSimulator
from edge.bus import BusClient, Outbox
from edge.bus.payloads import DeviceStatus, Scan, now
from edge.limits import MAX_CODE_LENGTH
from tests.broker import RunningBroker
from tests.drivers.test_host import Hub, run, until


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"x" * (MAX_CODE_LENGTH + 1), f"over the limit of {MAX_CODE_LENGTH}"),
        (b"]Q3" + b"x" * (MAX_CODE_LENGTH + 1), f"over the limit of {MAX_CODE_LENGTH}"),
        (b"R-1\x1b[2J", "control character 0x1b (ESC)"),
        (b"R-1\tR-2", "control character 0x09 (TAB)"),
        ("R-1\u0085".encode(), "control character 0x85"),
        # An AIM identifier and nothing after it: zbar's GS1 flag on a symbol holding only FNC1
        # now becomes `]C1`/`]Q3` with no data; a wedge scanner with AIM prefixes sends the same.
        (b"]C1", "empty read"),
        (b"]Q3\x1d", "empty read"),
    ],
    ids=["long", "long-after-aim", "escape", "tab", "c1", "aim-only", "aim-and-gs"],
)
def test_interpret_refuses_what_no_entry_takes(raw: bytes, why: str) -> None:
    with pytest.raises(CodeError, match=why.replace("(", r"\(").replace(")", r"\)")):
        interpret(raw)


def test_interpret_takes_a_code_at_the_limit_and_gs1_separators() -> None:
    assert interpret(b"]Q3" + b"x" * MAX_CODE_LENGTH).code == "x" * MAX_CODE_LENGTH
    assert interpret(b"]d20109501234567891\x1d10LOT").gs1["10"] == "LOT"
    assert interpret(b"[)>\x1e06\x1dP123\x1e\x04").code == "[)>\x1e06\x1dP123\x1e\x04"  # ISO 15434


def test_an_overlong_or_escaped_read_is_a_status_not_a_scan(
    broker: RunningBroker, tmp_path: Path
) -> None:
    by_id = tmp_path / "serial" / "by-id"
    by_id.mkdir(parents=True)
    link = by_id / "usb-Honeywell_1900_Sim-if00"
    profile = parse_profile(
        {
            "station": {"site": "ams-1", "station": "dock-1"},
            "devices": {"dock-scanner": {"kind": "scanner", "path": str(link)}},
        }
    )

    def last_read_error(hub: Hub) -> str:
        details = [m.detail for t, m in hub.messages if t.endswith("dock-scanner/status")]
        return str(details[-1].get("last_read_error", "")) if details else ""

    async def scenario() -> None:
        hub = Hub(broker)
        await hub.start()
        host = DriverHost(profile, "drivers", broker.config("drivers"), tmp_path / "outbox.sqlite")
        stop = asyncio.Event()
        with SerialScannerSimulator(link) as sim:
            running = asyncio.create_task(host.run(stop))
            await until(lambda: "online" in hub.statuses("dock-scanner"))
            sim.scan("Y" * (MAX_CODE_LENGTH + 1))  # within the line buffer, over the code limit
            await until(lambda: f"over the limit of {MAX_CODE_LENGTH}" in last_read_error(hub))
            sim.scan("R-1\x1b[2J")
            await until(lambda: "0x1b (ESC)" in last_read_error(hub))
            sim.scan("RET-2026-000123")
            await until(lambda: len(hub.of(Scan)) == 1)
            assert hub.of(Scan)[0].code == "RET-2026-000123"
            stop.set()
            await running
        await hub.client.stop()

    run(scenario())


def test_a_driver_building_a_scan_no_entry_takes_gets_a_status_saying_why(
    broker: RunningBroker, tmp_path: Path
) -> None:
    """Any driver (a third-party one too) that builds an oversize scan: nothing is sent, no seq
    is used, and the device's status names the field and the limit."""

    def scan(code: str) -> Callable[[int], bytes]:
        raw = base64.b64encode(code.encode()[:16]).decode()
        return lambda seq: Scan(
            code=code, symbology="qr", aim=None, raw_b64=raw, ts=now(), seq=seq
        ).to_bytes()

    async def scenario() -> None:
        hub = Hub(broker)
        await hub.start()
        # the camera's slot, with the camera process's credential (the broker's ACL)
        bus = BusClient(broker.config("camera"), broker.topics, Outbox(tmp_path / "outbox.sqlite"))
        bus.start()
        assert await bus.wait_connected(10)
        publisher = DevicePublisher(bus, "dock-camera", "camera")
        publisher.custody("scan", scan("Q" * (MAX_CODE_LENGTH + 1)))
        publisher.custody("scan", scan("RET-2026-000123"))
        await until(lambda: len(hub.of(Scan)) == 1)
        await until(lambda: "attention" in hub.statuses("dock-camera"))
        [status] = [m for m in hub.of(DeviceStatus) if m.state == "attention"]
        assert status.reason.startswith("scan refused: code:") and "512" in status.reason
        assert hub.of(Scan)[0].seq == 1 and publisher.refused_readings == 1
        await publisher.drain()
        await bus.stop()
        await hub.client.stop()

    run(scenario())
