"""P4 (bus part): scan → MQTT subscriber latency, ours vs a bare paho publish → subscribe.

Ours: a serial scanner simulator writes a code on a pty; the production path reads it
(pyserial, line framing, AIM/GS1/IMEI interpretation), stores it in the driver's outbox
(SQLite, synchronous=FULL: one fsync), publishes QoS 1 through paho to a private Mosquitto with
the station's ACL, and a hub-side BusClient decodes it into a `Scan` on the asyncio loop.
Bare: one paho client publishes a payload of the same size QoS 1 to the same broker; another
receives it in `on_message`. Latency is from the write / publish call to the subscriber.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import scratch

from drivers.host import DriverHost
from drivers.profile import parse_profile
from drivers.sim.serial_scanner import SerialScannerSimulator
from edge.bus import BusClient, BusConfig, Topics
from edge.bus.broker import CLIENT_USERS, private_broker
from edge.bus.payloads import Scan, now

SCANS = 400
WARMUP = 20
SITE, STATION = "bench", "dock-1"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bare(port: int, creds: dict[str, str], topic: str, payload: bytes) -> list[float]:
    received = threading.Event()

    def client(user: str) -> mqtt.Client:
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"edge-bare-{user}",  # the broker takes ids starting edge- only
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        c.username_pw_set(user, creds[user])
        c.connect("127.0.0.1", port)
        c.loop_start()
        return c

    sub = client("hub")
    sub.on_message = lambda *_: received.set()
    sub.subscribe(topic, qos=1)
    pub = client("drivers")
    time.sleep(0.5)
    latencies = []
    for i in range(SCANS + WARMUP):
        received.clear()
        start = time.perf_counter()
        pub.publish(topic, payload, qos=1)
        if not received.wait(5):
            raise RuntimeError("bare message lost")
        if i >= WARMUP:
            latencies.append(time.perf_counter() - start)
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
    return latencies


async def ours(folder: Path, port: int, creds: dict[str, str]) -> tuple[list[float], int]:
    link = folder / "serial" / "by-id" / "usb-Scanner_Sim-if00"
    link.parent.mkdir(parents=True)
    profile = parse_profile(
        {
            "station": {"site": SITE, "station": STATION},
            "bus": {"port": port},
            "devices": {"dock-scanner": {"kind": "scanner", "path": str(link)}},
        }
    )
    topics = Topics(SITE, STATION)
    got: asyncio.Queue[float] = asyncio.Queue()
    hub = BusClient(BusConfig("127.0.0.1", port, "hub-bench", "hub", creds["hub"]), topics)
    hub.subscribe(
        topics.all_devices,
        lambda t, m: got.put_nowait(time.perf_counter()) if isinstance(m, Scan) else None,
    )
    hub.start()
    await hub.wait_connected(10)
    config = BusConfig("127.0.0.1", port, "drivers-bench", "drivers", creds["drivers"])
    host = DriverHost(profile, "drivers", config, folder / "outbox.sqlite")
    stop = asyncio.Event()
    latencies = []
    with SerialScannerSimulator(link) as sim:
        running = asyncio.create_task(host.run(stop))
        await asyncio.sleep(1.0)
        for i in range(SCANS + WARMUP):
            code = f"]C11ZRT{i:010d}"
            start = time.perf_counter()
            await asyncio.to_thread(sim.scan, code)
            arrived = await asyncio.wait_for(got.get(), 5)
            if i >= WARMUP:
                latencies.append(arrived - start)
        stop.set()
        await running
    await hub.stop()
    return latencies, len(latencies)


def main() -> None:
    folder = scratch()
    try:
        creds = {user: secrets.token_urlsafe(12) for user in CLIENT_USERS}
        # the ACL `edge bus setup` renders for ours' profile, plus the bare run's slot
        hosted = {"drivers": ("proc-drivers", "dock-scanner", "bare"), "camera": ("proc-camera",)}
        broker = private_broker(
            folder, site=SITE, station=STATION, hosted=hosted, credentials=creds
        )
        port = broker.layout.port
        broker.start()
        try:
            sample = Scan(
                code="1ZRT0000000001",
                symbology="code128",
                aim="]C1",
                raw_b64=base64.b64encode(b"]C11ZRT0000000001").decode(),
                ts=now(),
                seq=1,
            )
            bare_lat = bare(port, creds, f"edge/{SITE}/{STATION}/dev/bare/scan", sample.to_bytes())
            ours_lat, n = asyncio.run(ours(folder, port, creds))
        finally:
            broker.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"scans: {n} each, after {WARMUP} warm-up")
    print(f"{'':28} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name, lat in (("bare paho pub -> sub", bare_lat), ("ours scan -> hub Scan", ours_lat)):
        p50, p99, mean = percentile(lat, 0.5), percentile(lat, 0.99), statistics.mean(lat)
        print(f"{name:28} {p50 * 1e3:8.2f} {p99 * 1e3:8.2f} {mean * 1e3:8.2f}")
    print(f"ratio: {percentile(ours_lat, 0.99) / percentile(bare_lat, 0.99):.2f}")


if __name__ == "__main__":
    main()
