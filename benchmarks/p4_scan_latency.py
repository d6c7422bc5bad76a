"""P4: scan → journal → screen latency, ours vs the floor measured in the same run.

Ours: a dock station as it runs on a Pi, each part its own process. A serial scanner simulator
(this process) writes a manifest label on a pty; `edge drivers` reads it, stores it in its
outbox (one fsync) and publishes it QoS 1 to the station's private Mosquitto; `edge run` (the
hub) takes it on its bus client, the dock workflow decides, the journal commits `label.scanned`
(and `receipt_incomplete` for the previous label: two events, one fsync), the read model folds
them and the hub streams them to a screen (this process) on `/api/v1/stream`. Latency is from the
write on the pty to the screen's receipt of the `event` message for that label.
Floor: this process publishes a payload of the scan's size QoS 1 to the same broker; a bare
subscriber process receives it in paho's `on_message` and inserts one row into a sqlite3 file
(WAL, synchronous=FULL, the journal's table shape) with its commit. Latency is from the publish
call to the end of the commit.
The two alternate sample by sample, each after a short idle pause, so both see the same disk.
Both clocks are CLOCK_MONOTONIC (`time.perf_counter`), which all processes share.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import scratch

from drivers.sim.serial_scanner import SerialScannerSimulator
from edge.bus.broker import free_port, load_or_create_credentials, private_broker
from edge.bus.payloads import Scan, now
from edge.operators import OPERATORS_FILE, OperatorStore, Role

SCANS = 1000
WARMUP = 100  # the first scans after the manifest import share the disk with its WAL
# Scans at a dock are seconds apart: let the previous one's after-work (PUBACKs, the outbox
# delete, the broker's persistence save) finish so each sample starts from an idle station.
SETTLE_S = 0.02
SITE, STATION = "bench", "dock-1"
PIN = "8264"
PROFILE = """
[station]
site = "{site}"
station = "{station}"
role = "dock"

[bus]
port = {port}

[devices.dock-scanner]
kind = "scanner"
path = "{scanner}"
"""
HERE = Path(__file__).resolve().parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def label_code(i: int) -> str:
    return f"1ZRT{i:010d}"


class Floor:
    """The bare path: paho publish QoS 1 -> a subscriber process -> one INSERT + COMMIT."""

    def __init__(
        self,
        ports: tuple[int, int],
        creds: dict[str, str],
        topic: str,
        payload: bytes,
        db_path: Path,
    ) -> None:
        # The hub and drivers credentials are the running hub's and drivers' (one session each):
        # the floor reads as a screen and writes as a camera process hosting the `floor` slot.
        port, screen_port = ports
        self.topic, self.payload = topic, payload
        self.sub = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "_floor_subscriber.py"),
                str(screen_port),
                "screen",
                creds["screen"],
                topic,
                str(db_path),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.sub.stdout is not None
        self.committed: IO[str] = self.sub.stdout
        if self.committed.readline().strip() != "ready":
            raise RuntimeError("the floor subscriber did not start")
        self.pub = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="edge-floor", protocol=MQTTProtocolVersion.MQTTv5
        )
        self.pub.username_pw_set("camera", creds["camera"])
        self.pub.connect("127.0.0.1", port)
        self.pub.loop_start()
        time.sleep(0.5)

    def sample(self) -> float:
        """One publish, until the subscriber process has committed its row."""
        start = time.perf_counter()
        self.pub.publish(self.topic, self.payload, qos=1)
        line = self.committed.readline()
        if not line:
            raise RuntimeError("the floor subscriber died")
        return float(line) - start

    def close(self) -> None:
        self.pub.disconnect()
        self.pub.loop_stop()
        assert self.sub.stdin is not None
        self.sub.stdin.close()
        self.sub.wait(10)


def add_operators(data_dir: Path) -> None:
    store = OperatorStore(data_dir / OPERATORS_FILE)
    try:
        for operator_id, role in (("ada", Role.ADMIN), ("olga", Role.OPERATOR)):
            badge = f"BADGE-{operator_id.upper()}"
            store.add_operator(
                operator_id, operator_id.title(), role, PIN, badge=badge, now=datetime.now(UTC)
            )
    finally:
        store.close()


def manifest(count: int) -> list[dict[str, Any]]:
    return [
        {
            "return_id": f"R-{i:06d}",
            "label_codes": [label_code(i)],
            "customer_ref": f"C-{i}",
            "make": "Apple",
            "model": "iPhone 13",
            "quote": "240.00",
            "currency": "EUR",
            "status": "accepted",
        }
        for i in range(count)
    ]


def station_process(data_dir: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """One of the station's processes, started as systemd starts it."""
    out = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "edge", "--data-dir", str(data_dir), *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def until_ready(http: httpx.AsyncClient, hub: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise RuntimeError(f"edge run exited with {hub.returncode}")
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the hub did not become ready")


async def sign_in(http: httpx.AsyncClient, badge: str) -> dict[str, str]:
    answer = await http.post("/api/v1/auth/sign-in", json={"badge": badge, "pin": PIN})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def scanner_online(http: httpx.AsyncClient, auth: dict[str, str], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        answer = await http.get("/api/v1/devices", headers=auth)
        states = {d["device"]: (d["status"] or {}).get("state") for d in answer.json()["devices"]}
        if states.get("dock-scanner") == "online":
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the scanner did not come online")


async def label_scanned_at(screen: ClientConnection, code: str) -> float:
    """When the screen received the `label.scanned` event for `code`."""
    while True:
        text = await asyncio.wait_for(screen.recv(), 5)
        arrived = time.perf_counter()
        message = json.loads(text)
        if message["type"] != "event" or message["event"]["type"] != "label.scanned":
            continue
        payload = message["event"]["payload"]
        if payload["code"] == code:
            if payload["match"] != "label":
                raise RuntimeError(f"label {code} did not match the manifest")
            return arrived


def timed_scan(sim: SerialScannerSimulator, data: str) -> float:
    start = time.perf_counter()
    sim.scan(data)
    return start


async def measure(
    folder: Path, data_dir: Path, port: int, floor: Floor
) -> tuple[list[float], list[float]]:
    """Scan by scan, one floor sample then one of ours, so both see the same disk and load."""
    link = folder / "serial" / "by-id" / "usb-Scanner_Sim-if00"
    link.parent.mkdir(parents=True)
    profile_path = folder / "station.toml"
    profile_path.write_text(
        PROFILE.format(site=SITE, station=STATION, port=port, scanner=link), encoding="utf-8"
    )
    add_operators(data_dir)
    api_port = free_port()
    ours_lat: list[float] = []
    floor_lat: list[float] = []
    with ExitStack() as stack:
        sim = stack.enter_context(SerialScannerSimulator(link))
        hub = station_process(
            data_dir,
            folder / "hub.log",
            "run",
            "--profile",
            str(profile_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(api_port),
        )
        stack.callback(stop_process, hub)
        drivers = station_process(
            data_dir, folder / "drivers.log", "drivers", "--profile", str(profile_path)
        )
        stack.callback(stop_process, drivers)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as http:
            await until_ready(http, hub)
            admin = await sign_in(http, "BADGE-ADA")
            body = {"returns": manifest(SCANS + WARMUP)}
            (await http.post("/api/v1/manifest", json=body, headers=admin)).raise_for_status()
            operator = await sign_in(http, "BADGE-OLGA")  # the readings are hers
            await scanner_online(http, operator, 20)
            await asyncio.sleep(2)  # let the import's writes settle (a dock's day starts idle)
            async with connect(f"ws://127.0.0.1:{api_port}/api/v1/stream") as screen:
                token = operator["Authorization"].removeprefix("Bearer ")
                await screen.send(json.dumps({"token": token}))
                hello = json.loads(await screen.recv())
                if hello["type"] != "hello":
                    raise RuntimeError(f"the stream refused the screen: {hello}")
                for i in range(SCANS + WARMUP):
                    await asyncio.sleep(SETTLE_S)
                    bare = floor.sample()
                    await asyncio.sleep(SETTLE_S)
                    code = label_code(i)
                    start = timed_scan(sim, f"]C1{code}")
                    arrived = await label_scanned_at(screen, code)
                    if i >= WARMUP:
                        floor_lat.append(bare)
                        ours_lat.append(arrived - start)
    return ours_lat, floor_lat


def main() -> None:
    folder = scratch()
    try:
        data_dir = folder / "station"
        creds = load_or_create_credentials(data_dir / "keys")
        hosted = {"drivers": ("proc-drivers", "dock-scanner"), "camera": ("proc-camera", "floor")}
        broker = private_broker(
            folder, site=SITE, station=STATION, hosted=hosted, credentials=creds
        )
        port = broker.layout.port
        broker.start()
        try:
            sample = Scan(
                code=label_code(0),
                symbology="code128",
                aim="]C1",
                raw_b64=base64.b64encode(f"]C1{label_code(0)}".encode()).decode(),
                ts=now(),
                seq=1,
            )
            # a device topic the camera user may write but the hub does not subscribe to
            topic = f"edge/{SITE}/{STATION}/dev/floor/bench"
            ports = (port, broker.layout.screen_port)
            floor = Floor(ports, creds, topic, sample.to_bytes(), folder / "floor.sqlite")
            try:
                ours_lat, floor_lat = asyncio.run(measure(folder, data_dir, port, floor))
            finally:
                floor.close()
        finally:
            broker.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"scans: {len(ours_lat)} each, after {WARMUP} warm-up, one at a time, interleaved")
    print(f"{'':36} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    rows = (
        ("floor: paho pub -> sub -> INSERT", floor_lat),
        ("ours: scan -> journal -> screen", ours_lat),
    )
    for name, lat in rows:
        p50, p99, mean = percentile(lat, 0.5), percentile(lat, 0.99), statistics.mean(lat)
        print(f"{name:36} {p50 * 1e3:8.2f} {p99 * 1e3:8.2f} {mean * 1e3:8.2f}")
    print(
        "floor: QoS 1 publish -> a subscriber process's on_message -> INSERT + COMMIT (WAL, FULL)"
    )
    print(
        "ours:  pty write -> edge drivers, outbox COMMIT -> broker -> edge run, dock workflow ->"
        " journal COMMIT -> hub.db -> WebSocket event at the screen"
    )
    print(f"ratio: {percentile(ours_lat, 0.99) / percentile(floor_lat, 0.99):.2f}")


if __name__ == "__main__":
    main()
