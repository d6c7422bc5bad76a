"""The bus client against a real Mosquitto started with the production config renderer."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import sys
from asyncio.subprocess import Process
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from edge.bus import BusClient, Outbox, SeenReadings
from edge.bus.payloads import DeviceStatus, Scan, now
from tests.broker import RunningBroker

WAIT = 10.0
SCAN_TOPIC = "edge/ams-1/dock-1/dev/dock-scanner/scan"
CHILD = Path(__file__).with_name("child_client.py")
ROOT = Path(__file__).parents[2]


async def start_child(mode: str, broker: RunningBroker, outbox: Path | str = "-") -> Process:
    """A driver process of our own to SIGKILL; returns once it printed its ready line."""
    password = broker.credentials["drivers"]
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        mode,
        str(broker.port),
        password,
        str(outbox),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert child.stdout is not None
    assert (await child.stdout.readline()).strip() in (b"stored", b"up")
    return child


def run(coro: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


def scan_payload(code: str) -> Callable[[int], bytes]:
    def build(seq: int) -> bytes:
        return Scan(
            code=code,
            symbology="code128",
            aim="]C0",
            raw_b64=base64.b64encode(b"]C0" + code.encode()).decode(),
            ts=now(),
            seq=seq,
        ).to_bytes()

    return build


async def listener(
    broker: RunningBroker, topic_filter: str, **kw: Any
) -> tuple[BusClient, asyncio.Queue[Any]]:
    """A hub-side subscriber that collects decoded payloads."""
    got: asyncio.Queue[Any] = asyncio.Queue()
    client = BusClient(broker.config("hub", kw.pop("client_id", None)), broker.topics, **kw)
    client.subscribe(topic_filter, lambda topic, model: got.put_nowait((topic, model)))
    client.start()
    assert await client.wait_connected(WAIT)
    await asyncio.sleep(0.2)  # SUBACK
    return client, got


async def plain_driver(broker: RunningBroker) -> BusClient:
    """A driver-side client without an outbox, connected."""
    driver = BusClient(broker.config("drivers"), broker.topics)
    driver.start()
    assert await driver.wait_connected(WAIT)
    return driver


def test_custody_scan_reaches_subscriber_and_leaves_outbox(
    broker: RunningBroker, tmp_path: Path
) -> None:
    async def scenario() -> None:
        hub, got = await listener(broker, broker.topics.all_devices)
        outbox = Outbox(tmp_path / "outbox.sqlite")
        driver = BusClient(broker.config("drivers"), broker.topics, outbox=outbox)
        driver.start()
        # connected first: two readings published during the connect can overtake each other
        # (paho sends the second with the CONNECT, the first only after the CONNACK)
        assert await driver.wait_connected(WAIT)
        topic = broker.topics.reading("dock-scanner", "scan")
        first = await driver.publish_custody("dock-scanner", topic, scan_payload("RET-1"))
        second = await driver.publish_custody("dock-scanner", topic, scan_payload("RET-2"))
        seen = [await asyncio.wait_for(got.get(), WAIT) for _ in range(2)]
        assert [(t, m.code, m.seq) for t, m in seen] == [(topic, "RET-1", 1), (topic, "RET-2", 2)]
        assert (first.seq, second.seq) == (1, 2)
        for _ in range(50):
            if outbox.stats().pending == 0:
                break
            await asyncio.sleep(0.05)
        assert outbox.stats().pending == 0
        await driver.stop()
        await hub.stop()

    run(scenario())


def test_malformed_payloads_are_counted_and_never_stop_a_subscriber(
    broker: RunningBroker,
) -> None:
    async def scenario() -> None:
        hub, got = await listener(broker, broker.topics.all_devices)
        driver = BusClient(broker.config("drivers"), broker.topics)
        driver.start()
        assert await driver.wait_connected(WAIT)
        scan_topic = broker.topics.reading("dock-scanner", "scan")
        for bad in (b"not json", b"{}", b'{"v": 2, "code": "x"}', b"\xff\xfe", b"[1,2]"):
            driver.publish(scan_topic, bad, qos=1)
        driver.publish(f"{broker.topics.root}/dev/dock-scanner/unknown-kind", b"{}", qos=1)
        driver.publish(scan_topic, scan_payload("RET-OK")(7), qos=1)
        topic, model = await asyncio.wait_for(got.get(), WAIT)
        assert (topic, model.code, model.seq) == (scan_topic, "RET-OK", 7)
        assert hub.stats.malformed == 6
        assert got.empty()
        await driver.stop()
        await hub.stop()

    run(scenario())


def test_handler_that_raises_does_not_stop_later_messages(broker: RunningBroker) -> None:
    async def scenario() -> None:
        got: list[str] = []

        def handler(topic: str, model: Any) -> None:
            if model.code == "BOOM":
                raise RuntimeError("handler bug")
            got.append(model.code)

        hub = BusClient(broker.config("hub"), broker.topics)
        hub.subscribe(broker.topics.all_devices, handler)
        hub.start()
        assert await hub.wait_connected(WAIT)
        await asyncio.sleep(0.2)
        driver = await plain_driver(broker)
        for i, code in enumerate(["A", "BOOM", "B"], start=1):
            driver.publish(broker.topics.reading("s1", "scan"), scan_payload(code)(i), qos=1)
        for _ in range(100):
            if len(got) == 2:
                break
            await asyncio.sleep(0.05)
        assert got == ["A", "B"]
        assert hub.stats.handler_errors == 1
        await driver.stop()
        await hub.stop()

    run(scenario())


def test_a_subscription_made_later_gets_topics_that_already_flowed(broker: RunningBroker) -> None:
    """Each topic's matching subscriptions are remembered; a new subscription must count."""

    async def scenario() -> None:
        later: list[str] = []
        hub, got = await listener(broker, broker.topics.all_devices)
        driver = await plain_driver(broker)
        topic = broker.topics.reading("s1", "scan")
        other = broker.topics.reading("s2", "scan")
        driver.publish(topic, scan_payload("A")(1), qos=1)
        driver.publish(other, scan_payload("X")(1), qos=1)
        first = [(await asyncio.wait_for(got.get(), WAIT))[1].code for _ in range(2)]
        hub.subscribe(topic, lambda topic, model: later.append(model.code))
        await asyncio.sleep(0.2)  # SUBACK
        driver.publish(topic, scan_payload("B")(2), qos=1)
        driver.publish(other, scan_payload("Y")(2), qos=1)
        while "Y" not in first:
            first.append((await asyncio.wait_for(got.get(), WAIT))[1].code)
        # (Mosquitto sends a message once per matching subscription: B may come twice)
        assert list(dict.fromkeys(first)) == ["A", "X", "B", "Y"]
        assert set(later) == {"B"}  # only its own topic, and only from now on
        await driver.stop()
        await hub.stop()

    run(scenario())


def test_acl_refuses_cross_station_and_journal_publish(
    broker: RunningBroker, tmp_path: Path
) -> None:
    async def scenario() -> None:
        spy: list[str] = []
        hub = BusClient(broker.config("hub"), broker.topics)
        hub.subscribe_raw("edge/#", lambda topic, payload: spy.append(topic))
        hub.start()
        assert await hub.wait_connected(WAIT)
        await asyncio.sleep(0.2)
        outbox = Outbox(tmp_path / "outbox.sqlite")
        driver = BusClient(broker.config("drivers"), broker.topics, outbox=outbox)
        driver.start()
        other_station = "edge/ams-1/dock-2/dev/dock-scanner/scan"
        await driver.publish_custody("dock-scanner", other_station, scan_payload("RET-X"))
        await driver.publish_custody("dock-scanner", broker.topics.journal, scan_payload("RET-Y"))
        own = broker.topics.reading("dock-scanner", "scan")
        await driver.publish_custody("dock-scanner", own, scan_payload("RET-OK"))
        for _ in range(100):
            if driver.stats.refused == 2 and own in spy:
                break
            await asyncio.sleep(0.05)
        assert driver.stats.refused == 2
        assert spy == [own]
        for _ in range(100):  # the outbox rows are settled on its writer thread
            stats = outbox.stats()
            if (stats.pending, stats.refused) == (0, 2):
                break
            await asyncio.sleep(0.05)
        assert (stats.pending, stats.refused) == (0, 2)  # refused readings are kept, not lost
        await driver.stop()
        await hub.stop()

    run(scenario())


def test_wrong_password_is_reported_not_raised(broker: RunningBroker) -> None:
    async def scenario() -> None:
        client = BusClient(broker.config("drivers", password="wrong"), broker.topics)
        client.start()
        assert not await client.wait_connected(2.0)
        assert "refused" in client.stats.last_error.lower()
        await client.stop()

    run(scenario())


def test_scan_published_while_broker_down_arrives_once_it_is_back(
    broker: RunningBroker, tmp_path: Path
) -> None:
    async def scenario() -> None:
        hub, got = await listener(broker, broker.topics.all_devices, client_id="hub-persistent")
        outbox = Outbox(tmp_path / "outbox.sqlite")
        driver = BusClient(broker.config("drivers"), broker.topics, outbox=outbox)
        driver.start()
        assert await driver.wait_connected(WAIT)
        broker.process.stop()
        for _ in range(100):
            if not driver.stats.connected and not hub.stats.connected:
                break
            await asyncio.sleep(0.05)
        topic = broker.topics.reading("dock-scanner", "scan")
        await driver.publish_custody("dock-scanner", topic, scan_payload("RET-DOWN"))
        assert outbox.stats().pending == 1
        broker.process.start()
        _, model = await asyncio.wait_for(got.get(), 3 * WAIT)
        assert (model.code, model.seq) == ("RET-DOWN", 1)
        for _ in range(100):
            if outbox.stats().pending == 0:
                break
            await asyncio.sleep(0.05)
        assert outbox.stats().pending == 0
        await driver.stop()
        await hub.stop()

    run(scenario())


def test_reading_of_a_killed_driver_is_replayed_on_restart_and_deduplicated(
    broker: RunningBroker, tmp_path: Path
) -> None:
    """The driver is SIGKILLed right after storing a scan while the broker was down."""
    outbox_path = tmp_path / "outbox.sqlite"

    async def scenario() -> None:
        hub, got = await listener(broker, broker.topics.all_devices, client_id="hub-persistent")
        broker.process.stop()
        child = await start_child("store", broker, outbox_path)
        child.kill()
        await child.wait()
        broker.process.start()
        assert await hub.wait_connected(3 * WAIT)
        # The restarted driver replays its outbox; replay it twice to prove the dedupe.
        seen = SeenReadings()
        for attempt in range(2):
            outbox = Outbox(outbox_path)
            assert outbox.pending()[0].seq == 1
            config = broker.config("drivers", "drivers-killed")
            driver = BusClient(config, broker.topics, outbox=outbox)
            driver.start()
            _, model = await asyncio.wait_for(got.get(), 3 * WAIT)
            assert (model.code, model.seq) == ("RET-KILLED", 1)
            assert seen.first_time("dock-scanner", model.seq) is (attempt == 0)
            for _ in range(100):
                if outbox.stats().pending == 0:
                    break
                await asyncio.sleep(0.05)
            assert outbox.stats().pending == 0
            await driver.stop()
            outbox.close()
            if attempt == 0:  # put it back as if the PUBACK had been lost on the way
                requeue(outbox_path, model)
        await hub.stop()

    run(scenario())


def requeue(outbox_path: Path, model: Scan) -> None:
    import sqlite3

    with sqlite3.connect(outbox_path) as db:
        db.execute(
            "INSERT INTO outbox (device_id, seq, topic, payload, created) VALUES (?, ?, ?, ?, 0)",
            (
                "dock-scanner",
                model.seq,
                "edge/ams-1/dock-1/dev/dock-scanner/scan",
                model.to_bytes(),
            ),
        )


def test_retained_status_and_last_will_when_a_process_dies(broker: RunningBroker) -> None:
    async def scenario() -> None:
        child = await start_child("will", broker)
        await asyncio.sleep(0.3)
        status_topic = broker.topics.device_status("drivers")
        # A screen connecting later sees the retained state.
        screen, got = await listener(broker, status_topic)
        _, model = await asyncio.wait_for(got.get(), WAIT)
        assert isinstance(model, DeviceStatus) and model.state == "online"
        child.kill()
        await child.wait()
        _, model = await asyncio.wait_for(got.get(), 3 * WAIT)
        assert model.state == "offline"
        await screen.stop()

    run(scenario())


def test_outbox_refuses_clearly_when_the_disk_is_full(tiny_disk: Path) -> None:
    from edge.bus.outbox import OutboxError

    outbox = Outbox(tiny_disk / "outbox.sqlite")
    big = b"x" * 200_000
    with pytest.raises(OutboxError, match="free disk space"):
        for _ in range(50):
            outbox.add("dock-scanner", "t", lambda seq: big)
    kept = outbox.pending()
    assert kept and all(entry.payload == big for entry in kept)
    assert [e.seq for e in kept] == list(range(1, len(kept) + 1))  # nothing half-written
    outbox.close()
    reopened = Outbox(tiny_disk / "outbox.sqlite")
    assert reopened.next_entry("dock-scanner", "t", lambda seq: b"").seq == len(kept) + 1


def test_a_reading_the_full_outbox_cannot_keep_still_reaches_the_hub(
    broker: RunningBroker, tiny_disk: Path
) -> None:
    from edge.bus.outbox import OutboxError

    async def scenario() -> None:
        hub, got = await listener(broker, broker.topics.all_devices)
        outbox = Outbox(tiny_disk / "outbox.sqlite")
        driver = BusClient(broker.config("drivers"), broker.topics, outbox=outbox)
        driver.start()
        assert await driver.wait_connected(WAIT)
        topic = broker.topics.reading("dock-scanner", "scan")
        filler = tiny_disk / "filler"
        with filler.open("wb") as out, contextlib.suppress(OSError):
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        with pytest.raises(OutboxError, match="without a safety copy"):
            await driver.publish_custody("dock-scanner", topic, scan_payload("RET-FULL"))
        _, model = await asyncio.wait_for(got.get(), WAIT)
        assert (model.code, model.seq) == ("RET-FULL", 1)  # sent all the same
        filler.unlink()
        nxt = await driver.publish_custody("dock-scanner", topic, scan_payload("RET-AFTER"))
        _, model = await asyncio.wait_for(got.get(), WAIT)
        assert (model.code, model.seq, nxt.seq) == ("RET-AFTER", 2, 2)  # seq 1 is not reused
        await driver.stop()
        await hub.stop()

    run(scenario())
