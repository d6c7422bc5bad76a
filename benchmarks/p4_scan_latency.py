"""P4: scan → journal → screen latency, ours vs the floor measured in the same run.

Ours: a whole dock station in one process. A serial scanner simulator writes a manifest label
on a pty; the drivers host (its own thread and loop) reads it, stores it in its outbox (one
fsync) and publishes it QoS 1 to a private Mosquitto; the real hub (uvicorn on a free port)
takes it on its bus client, the dock workflow decides, the journal commits `label.scanned` (and
`receipt_incomplete` for the previous label: two events, one fsync), the read model folds them
and the hub streams them to a screen connected to `/api/v1/stream`. Latency is from the write on
the pty to the screen's receipt of the `event` message for that label.
Floor: one paho client publishes a payload of the scan's size QoS 1 to the same broker; another
receives it in `on_message` and inserts one row into a sqlite3 file (WAL, synchronous=FULL, the
journal's table shape) with its commit. Latency is from the publish call to the commit.
The two alternate sample by sample, each after a short idle pause, so both see the same disk.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import shutil
import socket
import sqlite3
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import uvicorn
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BARE_SCHEMA, scratch

from drivers.host import DriverHost
from drivers.sim.serial_scanner import SerialScannerSimulator
from edge.bus import BusConfig
from edge.bus.broker import CLIENT_USERS, private_broker
from edge.bus.payloads import Scan, now
from edge.hub.serve import hub_app
from edge.operators import OPERATORS_FILE, OperatorStore, Role
from stations.profile import load_hub_profile

SCANS = 400
WARMUP = 20
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def label_code(i: int) -> str:
    return f"1ZRT{i:010d}"


class Floor:
    """The bare path: paho publish QoS 1 -> subscriber -> one INSERT + COMMIT (WAL, FULL)."""

    def __init__(
        self, port: int, creds: dict[str, str], topic: str, payload: bytes, db_path: Path
    ) -> None:
        self.topic, self.payload = topic, payload
        self.committed = threading.Event()
        self.conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.executescript(BARE_SCHEMA)
        self.digest = hashlib.sha256(payload).digest()
        self.sub = self._client("hub", port, creds)
        self.sub.on_message = self._insert
        self.sub.subscribe(topic, qos=1)
        self.pub = self._client("drivers", port, creds)
        time.sleep(0.5)

    @staticmethod
    def _client(user: str, port: int, creds: dict[str, str]) -> mqtt.Client:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        c.username_pw_set(user, creds[user])
        c.connect("127.0.0.1", port)
        c.loop_start()
        return c

    def _insert(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.conn.execute(
            "INSERT INTO events (event_id, type, subject, ts, body, hash, nodes)"
            " VALUES (?, 'label.scanned', 'R-000001', ?, ?, ?, ?)",
            (secrets.token_hex(16), now().isoformat(), message.payload, self.digest, self.digest),
        )
        self.committed.set()

    def sample(self) -> float:
        """One publish, waited for until the subscriber's row is committed."""
        self.committed.clear()
        start = time.perf_counter()
        self.pub.publish(self.topic, self.payload, qos=1)
        if not self.committed.wait(5):
            raise RuntimeError("floor message lost")
        return time.perf_counter() - start

    def close(self) -> None:
        for c in (self.pub, self.sub):
            c.disconnect()
            c.loop_stop()
        self.conn.close()


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


class DriversThread:
    """The drivers host on its own thread and event loop, as `edge drivers` is its own process."""

    def __init__(self, host: DriverHost) -> None:
        self.host = host
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self._run, name="drivers", daemon=True)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self.host.run(self.stop))
        finally:
            self.loop.close()

    def __enter__(self) -> DriversThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(20)


def timed_scan(sim: SerialScannerSimulator, data: str) -> float:
    start = time.perf_counter()
    sim.scan(data)
    return start


async def measure(
    folder: Path, port: int, creds: dict[str, str], floor: Floor
) -> tuple[list[float], list[float]]:
    """Scan by scan, one floor sample then one of ours, so both see the same disk and load."""
    data_dir = folder / "station"
    data_dir.mkdir()
    link = folder / "serial" / "by-id" / "usb-Scanner_Sim-if00"
    link.parent.mkdir(parents=True)
    profile_path = folder / "station.toml"
    profile_path.write_text(
        PROFILE.format(site=SITE, station=STATION, port=port, scanner=link), encoding="utf-8"
    )
    profile = load_hub_profile(profile_path)
    add_operators(data_dir)
    hub_config = BusConfig("127.0.0.1", port, f"{SITE}.{STATION}.hub", "hub", creds["hub"])
    app = hub_app(data_dir, profile, profile_path=profile_path, bus_config=hub_config)
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    api_port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    config = BusConfig("127.0.0.1", port, "drivers-bench", "drivers", creds["drivers"])
    host = DriverHost(profile.station, "drivers", config, data_dir / "outbox-drivers.sqlite")
    ours_lat: list[float] = []
    floor_lat: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as http:
            admin = await sign_in(http, "BADGE-ADA")
            body = {"returns": manifest(SCANS + WARMUP)}
            (await http.post("/api/v1/manifest", json=body, headers=admin)).raise_for_status()
            operator = await sign_in(http, "BADGE-OLGA")  # the readings are hers
            with SerialScannerSimulator(link) as sim, DriversThread(host):
                await scanner_online(http, operator, 20)
                async with connect(f"ws://127.0.0.1:{api_port}/api/v1/stream") as screen:
                    token = operator["Authorization"].removeprefix("Bearer ")
                    await screen.send(json.dumps({"token": token}))
                    hello = json.loads(await screen.recv())
                    if hello["type"] != "hello":
                        raise RuntimeError(f"the stream refused the screen: {hello}")
                    for i in range(SCANS + WARMUP):
                        await asyncio.sleep(SETTLE_S)
                        bare = await asyncio.to_thread(floor.sample)
                        await asyncio.sleep(SETTLE_S)
                        code = label_code(i)
                        start = await asyncio.to_thread(timed_scan, sim, f"]C1{code}")
                        arrived = await label_scanned_at(screen, code)
                        if i >= WARMUP:
                            floor_lat.append(bare)
                            ours_lat.append(arrived - start)
    finally:
        server.should_exit = True
        await serving
    return ours_lat, floor_lat


def main() -> None:
    folder = scratch()
    try:
        creds = {user: secrets.token_urlsafe(12) for user in CLIENT_USERS}
        broker = private_broker(folder, site=SITE, station=STATION, credentials=creds)
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
            # a device topic the drivers user may write but the hub does not subscribe to
            topic = f"edge/{SITE}/{STATION}/dev/floor/bench"
            floor = Floor(port, creds, topic, sample.to_bytes(), folder / "floor.sqlite")
            try:
                ours_lat, floor_lat = asyncio.run(measure(folder, port, creds, floor))
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
    print("floor: QoS 1 publish -> subscriber's on_message -> INSERT + COMMIT (WAL, FULL)")
    print(
        "ours:  pty write -> driver, outbox COMMIT -> broker -> hub, dock workflow ->"
        " journal COMMIT -> hub.db -> WebSocket event at the screen"
    )
    print(f"ratio: {percentile(ours_lat, 0.99) / percentile(floor_lat, 0.99):.2f}")


if __name__ == "__main__":
    main()
