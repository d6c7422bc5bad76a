"""Delivery edge cases found in review: paho's shared mid counter, PUBACKs at stop, poison
messages under manual acknowledgement. Each failed before its fix."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.bus import BusClient, BusConfig, Outbox, Topics
from edge.bus.payloads import Scan, now
from tests.broker import RunningBroker
from tests.ports import reserve_port

WAIT = 10.0


def run(coro: Any) -> None:
    asyncio.run(asyncio.wait_for(coro, 120))


def scan(code: str) -> Callable[[int], bytes]:
    def build(seq: int) -> bytes:
        raw = base64.b64encode(code.encode()).decode()
        return Scan(code=code, symbology="qr", aim=None, raw_b64=raw, ts=now(), seq=seq).to_bytes()

    return build


async def until(condition: Callable[[], bool], within: float = WAIT) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def _read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = (await reader.readexactly(1))[0]
    multiplier, length = 1, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        length += (byte & 127) * multiplier
        multiplier *= 128
        if not byte & 128:
            break
    return head, await reader.readexactly(length)


async def _silent_broker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts the MQTT v5 connection and reads everything, but never sends a PUBACK."""
    try:
        head, _ = await _read_packet(reader)
        assert head >> 4 == 1  # CONNECT
        writer.write(bytes([0x20, 3, 0, 0, 0]))  # CONNACK: success, no properties
        await writer.drain()
        while True:
            head, _ = await _read_packet(reader)
            if head >> 4 == 12:  # PINGREQ
                writer.write(bytes([0xD0, 0]))
                await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass


def _slow_connack_broker(
    published: list[str], connack_after: float
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
    """Answers CONNECT only after `connack_after` seconds; records each PUBLISH's scan code in
    the order it came on the wire, and acknowledges it."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head, _ = await _read_packet(reader)
            assert head >> 4 == 1  # CONNECT
            await asyncio.sleep(connack_after)
            writer.write(bytes([0x20, 3, 0, 0, 0]))  # CONNACK: success, no properties
            while True:
                head, body = await _read_packet(reader)
                if head >> 4 == 3:  # PUBLISH, QoS 1: topic, packet id, properties, payload
                    topic_end = 2 + int.from_bytes(body[:2], "big")
                    mid = body[topic_end : topic_end + 2]
                    props = topic_end + 2
                    published.append(json.loads(body[props + 1 + body[props] :])["code"])
                    writer.write(bytes([0x40, 2]) + mid)  # PUBACK
                elif head >> 4 == 12:  # PINGREQ
                    writer.write(bytes([0xD0, 0]))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass

    return serve


def test_readings_go_out_in_their_order_across_a_reconnect(tmp_path: Path) -> None:
    """A reading kept while the broker was away, and one made while the client reconnects (its
    socket open, the CONNACK not yet back), reach the broker in the order they were read. Paho
    alone sends the second at once and the first only after the CONNACK."""

    async def scenario() -> None:
        published: list[str] = []
        port = reserve_port()  # nothing listens on it until the server below
        topics = Topics("ams-1", "dock-1")
        outbox = Outbox(tmp_path / "outbox.sqlite")
        config = BusConfig("127.0.0.1", port, "d", "drivers", "pw", reconnect_min_s=1)
        driver = BusClient(config, topics, outbox)
        topic = topics.reading("s", "scan")
        driver.start()  # nothing listens on the port yet: refused, retried in a second
        await asyncio.sleep(0.2)
        await driver.publish_custody("s", topic, scan("FIRST"))
        server = await asyncio.start_server(_slow_connack_broker(published, 0.5), "127.0.0.1", port)
        assert await until(lambda: driver._client.socket() is not None, 5)  # CONNECT sent
        await driver.publish_custody("s", topic, scan("SECOND"))
        assert await driver.wait_connected(5)
        assert await until(lambda: len(published) >= 2)
        assert published == ["FIRST", "SECOND"]
        assert await until(lambda: outbox.stats().pending == 0)
        await driver.stop()
        server.close()

    run(scenario())


def test_qos0_traffic_reusing_a_mid_never_acknowledges_a_custody_reading(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(_silent_broker, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        topics = Topics("ams-1", "dock-1")
        outbox = Outbox(tmp_path / "outbox.sqlite")
        driver = BusClient(BusConfig("127.0.0.1", port, "d", "drivers", "pw"), topics, outbox)
        driver.start()
        assert await driver.wait_connected(5)
        await driver.publish_custody("s", topics.reading("s", "scan"), scan("RET-1"))
        live = topics.reading("scale", "weight")
        for i in range(65535):  # a full turn of paho's mid counter in live weights (QoS 0)
            driver.publish(live, b"{}")
            if i % 2000 == 0:
                await asyncio.sleep(0)
        await asyncio.sleep(1.5)
        assert outbox.stats().pending == 1, "deleted from the outbox without a PUBACK"
        assert driver.stats.acknowledged == 0
        await driver.stop()
        server.close()

    run(scenario())


def test_reading_whose_mid_was_taken_during_an_outage_is_sent_by_the_sweep(
    broker: RunningBroker, tmp_path: Path
) -> None:
    async def scenario() -> None:
        got: list[str] = []
        hub = BusClient(broker.config("hub", "hub-persistent"), broker.topics)
        hub.subscribe(broker.topics.all_devices, lambda t, m: got.append(m.code))
        hub.start()
        assert await hub.wait_connected(WAIT)
        await asyncio.sleep(0.2)
        outbox = Outbox(tmp_path / "outbox.sqlite")
        driver = BusClient(broker.config("drivers"), broker.topics, outbox, sweep_interval_s=0.5)
        driver.start()
        assert await driver.wait_connected(WAIT)
        broker.process.stop()
        assert await until(lambda: not driver.stats.connected)
        topic = broker.topics.reading("dock-scanner", "scan")
        await driver.publish_custody("dock-scanner", topic, scan("A"))
        live = broker.topics.reading("dock-scale", "weight")
        for _ in range(65534):  # hours of live weights while the broker is down: mids wrap
            driver.publish(live, b"{}")
        await driver.publish_custody("dock-scanner", topic, scan("B"))  # its mid is A's
        broker.process.start()
        assert await until(lambda: len(got) >= 2, 30), f"hub saw {got}"
        assert got == ["A", "B"]
        assert await until(lambda: outbox.stats().pending == 0)
        await driver.stop()
        await hub.stop()

    run(scenario())


def test_puback_arriving_just_before_stop_is_settled(broker: RunningBroker, tmp_path: Path) -> None:
    async def scenario() -> None:
        outbox = Outbox(tmp_path / "outbox.sqlite")
        driver = BusClient(broker.config("drivers"), broker.topics, outbox)
        driver.start()
        assert await driver.wait_connected(WAIT)
        topic = broker.topics.reading("dock-scanner", "scan")
        await driver.publish_custody("dock-scanner", topic, scan("A"))
        await asyncio.to_thread(__import__("time").sleep, 0.3)  # PUBACK lands meanwhile
        await driver.stop()
        assert outbox.stats().pending == 0  # not replayed as a duplicate at the next start

    run(scenario())


def test_manual_ack_retries_dead_letters_a_poison_message_and_keeps_receiving(
    broker: RunningBroker, tmp_path: Path
) -> None:
    dead_letter = tmp_path / "dead-letter.jsonl"
    attempts: dict[str, int] = {}

    async def scenario() -> None:
        got: list[str] = []

        def handler(topic: str, model: Any) -> None:
            attempts[model.code] = attempts.get(model.code, 0) + 1
            if model.code.startswith("POISON") or (model.code == "FLAKY" and attempts["FLAKY"] < 2):
                raise RuntimeError("journal append failed")
            got.append(model.code)

        hub = BusClient(
            broker.config("hub", "hub-manual"),
            broker.topics,
            manual_ack=True,
            dead_letter=dead_letter,
        )
        hub.subscribe(broker.topics.all_devices, handler)
        hub.start()
        assert await hub.wait_connected(WAIT)
        await asyncio.sleep(0.2)
        driver = BusClient(broker.config("drivers"), broker.topics)
        driver.start()
        assert await driver.wait_connected(WAIT)
        topic = broker.topics.reading("s1", "scan")
        for i in range(1, 26):  # more than Mosquitto's 20 unacknowledged in flight
            driver.publish(topic, scan(f"POISON{i}")(i), qos=1)
        driver.publish(topic, scan("FLAKY")(26), qos=1)
        driver.publish(topic, scan("OK")(27), qos=1)
        assert await until(lambda: "OK" in got and "FLAKY" in got, 20), f"got {got}"
        assert await until(lambda: hub.stats.dead_lettered == 25)
        await driver.stop()
        await hub.stop()

    run(scenario())
    kept = [json.loads(line) for line in dead_letter.read_text().splitlines()]
    codes = sorted(json.loads(base64.b64decode(k["payload_b64"]))["code"] for k in kept)
    assert codes == sorted(f"POISON{i}" for i in range(1, 26))
    assert attempts["POISON1"] == 3 and attempts["FLAKY"] == 2
