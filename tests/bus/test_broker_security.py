"""Who may be whom on the station bus, against a real Mosquitto on the production config: a client
id belongs to one username (no credential takes another's session), and a process publishes only
for the device slots it hosts (issue 14, items 1 and 2)."""

from __future__ import annotations

import asyncio
import base64
import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.bus import BusClient, Outbox
from edge.bus.broker import CLIENT_USERS, SESSION_USERS
from edge.bus.client import broker_client_id
from edge.bus.payloads import DeviceStatus, Photo, Scan, Weight, now
from tests.broker import SITE, STATION, RunningBroker
from tests.hub.live import DOCK, live_station, wait_for

WAIT = 10.0
READINGS = 10


def run(coro: Any) -> None:
    asyncio.run(asyncio.wait_for(coro, 120))


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def scan(code: str, seq: int = 1) -> bytes:
    raw = base64.b64encode(b"]C0" + code.encode()).decode()
    return Scan(
        code=code, symbology="code128", aim="]C0", raw_b64=raw, ts=now(), seq=seq
    ).to_bytes()


@dataclass
class Attempt:
    user: str
    client_id: str
    port: int
    refused: bool = False
    stolen: list[str] = field(default_factory=list)


def try_to_take(broker: RunningBroker, user: str, client_id: str, port: int) -> Attempt:
    """Connect as `user` with `client_id` and clean_start=False, as the session's owner does, then
    make one round trip: a resumed session's queued messages follow the CONNACK at once, so any
    stolen ones are in before the SUBACK (and acknowledged by paho: gone for their owner)."""
    attempt = Attempt(user, client_id, port)
    connack: queue.Queue[ReasonCode] = queue.Queue()
    subacked = threading.Event()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.username_pw_set(user, broker.credentials[user])
    client.on_connect = lambda c, u, flags, rc, props: connack.put(rc)
    client.on_message = lambda c, u, message: attempt.stolen.append(message.topic)
    client.on_subscribe = lambda *args: subacked.set()
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.loop_start()
    try:
        if connack.get(timeout=WAIT).is_failure:
            attempt.refused = True
            return attempt
        client.subscribe(f"edge/{SITE}/{STATION}/status", 1)
        assert subacked.wait(WAIT), "no SUBACK"
        return attempt
    finally:
        client.disconnect()
        client.loop_stop()


def publish_as(
    broker: RunningBroker, user: str, topic: str, payload: bytes, *, retain: bool = False
) -> ReasonCode:
    """One QoS 1 publish with `user`'s credential; the broker's PUBACK reason."""
    acked: queue.Queue[ReasonCode] = queue.Queue()
    connected = threading.Event()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=broker_client_id(f"{user}-forger"),
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.username_pw_set(user, broker.credentials[user])
    client.on_connect = lambda *args: connected.set()
    client.on_publish = lambda c, u, mid, rc, props: acked.put(rc)
    client.connect("127.0.0.1", broker.port_for(user))
    client.loop_start()
    try:
        assert connected.wait(WAIT)
        client.publish(topic, payload, qos=1, retain=retain)
        return acked.get(timeout=WAIT)
    finally:
        client.disconnect()
        client.loop_stop()


@dataclass(frozen=True)
class Victim:
    """A session user, what it subscribes to, and who sends it QoS 1 messages on which topic."""

    user: str
    topic_filter: str
    sender: str
    device_id: str
    topic: str


VICTIMS = {
    "hub": Victim(
        "hub",
        f"edge/{SITE}/{STATION}/dev/#",
        "drivers",
        "dock-scanner",
        f"edge/{SITE}/{STATION}/dev/dock-scanner/scan",
    ),
    "drivers": Victim(
        "drivers",
        f"edge/{SITE}/{STATION}/cmd/dock-scale/+",
        "hub",
        "dock-scale",
        f"edge/{SITE}/{STATION}/cmd/dock-scale/tare",
    ),
    "camera": Victim(
        "camera",
        f"edge/{SITE}/{STATION}/cmd/dock-camera/+",
        "hub",
        "dock-camera",
        f"edge/{SITE}/{STATION}/cmd/dock-camera/capture",
    ),
}


def impostors(broker: RunningBroker, victim: BusClient) -> list[tuple[str, str, int]]:
    """Every other credential, on both listeners, with every id the victim might be known by."""
    name = victim.config.username or ""
    ids = {
        victim.config.client_id,
        broker_client_id(victim.config.client_id),
        name,
        broker_client_id(name),
        f"{SITE}.{STATION}.{name}",
    }
    ports = {broker.port, broker.process.layout.screen_port}
    return [
        (user, client_id, port)
        for user in CLIENT_USERS
        if user != name
        for client_id in sorted(ids)
        for port in sorted(ports)
    ]


@pytest.mark.parametrize("victim_user", SESSION_USERS)
def test_no_other_credential_takes_a_session_and_no_acknowledged_message_is_lost(
    broker: RunningBroker, tmp_path: Path, victim_user: str
) -> None:
    spec = VICTIMS[victim_user]

    async def scenario() -> None:
        got: list[bytes] = []

        def victim_client() -> BusClient:
            client = BusClient(broker.config(spec.user), broker.topics)
            client.subscribe_raw(spec.topic_filter, lambda topic, payload: got.append(payload))
            return client

        async def send(first: int, last: int) -> None:
            """Custody messages through the sender's outbox, until every PUBACK; the sender then
            leaves, so impostors with its credential take nothing of its."""
            sender = BusClient(
                broker.config(spec.sender), broker.topics, outbox=Outbox(tmp_path / "outbox.sqlite")
            )
            sender.start()
            assert await sender.wait_connected(WAIT)
            for _ in range(first, last + 1):
                await sender.publish_custody(spec.device_id, spec.topic, lambda s: scan(f"C{s}", s))
            await until(lambda: sender.stats.acknowledged == last - first + 1, "PUBACKs")
            await sender.stop()

        # 1. The owner is away: its session keeps what the broker acknowledged to the sender.
        victim = victim_client()
        victim.start()
        assert await victim.wait_connected(WAIT)
        await asyncio.sleep(0.2)  # SUBACK
        await victim.stop()
        await send(1, READINGS)
        attempts = [
            await asyncio.to_thread(try_to_take, broker, *impostor)
            for impostor in impostors(broker, victim)
        ]
        assert [a for a in attempts if a.stolen] == []

        # 2. The owner comes back and gets every acknowledged message; impostors try while it
        # is connected, and it is never pushed off.
        victim = victim_client()
        victim.start()
        assert await victim.wait_connected(WAIT)
        await until(lambda: len(got) == READINGS, "the queued messages")
        attempts += [
            await asyncio.to_thread(try_to_take, broker, *impostor)
            for impostor in impostors(broker, victim)
        ]
        await send(READINGS + 1, 2 * READINGS)
        await until(lambda: len(got) == 2 * READINGS, "the live messages")
        assert [a for a in attempts if a.stolen] == []
        assert victim.stats.connects == 1
        seqs = sorted(json.loads(payload)["seq"] for payload in got)
        assert seqs == list(range(1, 2 * READINGS + 1))  # 0 acknowledged messages lost
        # Impostors got in only under their own names: a session user on the session listener
        # (where the id becomes its username), a screen on the screens' listener, and there only
        # with an id starting `edge-`.
        for attempt in attempts:
            own_listener = (attempt.port == broker.port) == (attempt.user in SESSION_USERS)
            assert attempt.refused != (own_listener and attempt.client_id.startswith("edge-"))
        await victim.stop()

    run(scenario())


def test_several_screens_share_the_screen_credential(broker: RunningBroker) -> None:
    async def scenario() -> None:
        seen: list[list[str]] = [[], [], []]
        screens = []
        for mine in seen:
            screen = BusClient(broker.config("screen"), broker.topics)
            screen.subscribe_raw(broker.topics.all_devices, lambda t, p, mine=mine: mine.append(t))
            screen.start()
            screens.append(screen)
        for screen in screens:
            assert await screen.wait_connected(WAIT)
        await asyncio.sleep(0.2)  # SUBACKs
        topic = broker.topics.reading("dock-scanner", "scan")
        assert not (
            await asyncio.to_thread(publish_as, broker, "drivers", topic, scan("S1"))
        ).is_failure
        await until(lambda: all(mine == [topic] for mine in seen), "every screen's copy")
        assert [screen.stats.connects for screen in screens] == [1, 1, 1]
        for screen in screens:
            await screen.stop()

    run(scenario())


def forged_weight() -> bytes:
    return Weight(
        grams="412.5", stable=True, state="ok", raw="S S 412.5 g", ts=now(), seq=1, accepted=True
    ).to_bytes()


def forged_status() -> bytes:
    return DeviceStatus(kind="camera", state="offline", reason="forged", ts=now()).to_bytes()


def forged_photo() -> bytes:
    return Photo(sha256="0" * 64, width=1, height=1, ts=now(), seq=1).to_bytes()


def test_each_process_writes_only_the_slots_it_hosts(broker: RunningBroker) -> None:
    """Both directions at the broker: camera cannot write the scanner's or the scale's slot, the
    drivers cannot write the camera's; what is refused never reaches a subscriber."""
    topics = broker.topics
    forgeries = [
        ("camera", topics.reading("dock-scanner", "scan"), scan("FORGED-SCAN"), False),
        ("camera", topics.reading("dock-scale", "weight"), forged_weight(), False),
        ("camera", topics.device_status("dock-scale"), forged_status(), True),
        ("drivers", topics.device_status("dock-camera"), forged_status(), True),
        ("drivers", topics.reading("dock-camera", "photo"), forged_photo(), False),
        ("drivers", topics.reading("proc-camera", "status"), forged_status(), True),
        # a process's own slots carry only what their kind publishes
        ("camera", topics.reading("dock-camera", "weight"), forged_weight(), False),
        ("camera", topics.reading("proc-camera", "weight"), forged_weight(), False),
        ("camera", topics.reading("proc-camera", "scan"), scan("FORGED-PROC"), False),
        ("drivers", topics.reading("dock-scale", "scan"), scan("FORGED-SCALE"), False),
        ("drivers", topics.reading("proc-drivers", "diag"), b"{}", False),
    ]

    async def scenario() -> None:
        seen: list[tuple[str, bytes]] = []
        hub = BusClient(broker.config("hub"), topics)
        hub.subscribe_raw(topics.all_devices, lambda t, p: seen.append((t, p)))
        hub.start()
        assert await hub.wait_connected(WAIT)
        await asyncio.sleep(0.2)  # SUBACK
        for user, topic, payload, retain in forgeries:
            reason = await asyncio.to_thread(
                publish_as, broker, user, topic, payload, retain=retain
            )
            assert reason.is_failure and "authori" in str(reason).lower(), (user, topic, reason)
        # What each may write still goes through; sent after the refusals, so a forgery that had
        # got through would have reached the hub first.
        allowed = [
            ("drivers", topics.reading("dock-scanner", "scan"), scan("REAL-SCAN")),
            ("camera", topics.reading("dock-camera", "photo"), forged_photo()),
            ("camera", topics.device_status("dock-camera"), b'{"sentinel": true}'),
        ]
        for user, topic, payload in allowed:
            reason = await asyncio.to_thread(publish_as, broker, user, topic, payload, retain=True)
            assert not reason.is_failure, (user, topic, reason)
        await until(lambda: len(seen) == len(allowed), "the allowed readings")
        assert seen == [(topic, payload) for _, topic, payload in allowed]
        await hub.stop()

    run(scenario())


def test_the_hub_journals_no_reading_forged_with_another_process_credential(
    broker: RunningBroker, tmp_path: Path
) -> None:
    with live_station(broker, tmp_path, DOCK) as station:
        station.sign_in("BADGE-OLGA")
        devices = station.client.app.state.services.bus.devices  # type: ignore[attr-defined]
        wait_for(lambda: devices.get("dock-scanner", {}).get("state") == "online", 30)
        journal_before = len(station.events())
        for user, topic, payload in (
            ("camera", broker.topics.reading("dock-scanner", "scan"), scan("1ZFORGEDCAMERA01")),
            ("camera", broker.topics.reading("dock-scale", "weight"), forged_weight()),
        ):
            assert publish_as(broker, user, topic, payload).is_failure
        assert station.scanner is not None
        station.scanner.scan("1ZSENTINEL000001")
        events = wait_for(
            lambda: [e for e in station.events()[journal_before:] if "1ZSENTINEL000001" in str(e)],
            30,
            "the real scan's events",
        )
        assert events
        later = json.dumps(station.events()[journal_before:])
        assert "1ZFORGEDCAMERA01" not in later and "412.5" not in later
