"""The station's MQTT client on paho-mqtt 2.x: MQTT v5, persistent session, durable QoS 1.

Paho runs its network loop on its own thread (`loop_start`); every callback here only hands
work to the asyncio loop with `call_soon_threadsafe`, so a slow or failing handler can neither
block the network thread nor kill it. `connect_async` means a broker that is down at boot is
retried with backoff instead of raising. Subscriptions are (re)made in `on_connect`.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import inspect
import json
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.bus.broker import CLIENT_ID_PREFIX, SESSION_USERS
from edge.bus.outbox import EntryKey, Outbox, OutboxEntry
from edge.bus.payloads import PayloadError, decode
from edge.bus.topics import TopicError, Topics

log = logging.getLogger(__name__)
# Deleting acknowledged outbox rows waits this long, so the deletes of a burst share one write
# and stay off the CPU while the station is still working on the reading itself.
ACK_SETTLE_DELAY_S = 0.05

ROUTES_KEPT = 1024  # topics whose matching subscriptions are remembered

Handler = Callable[[str, Any], Awaitable[None] | None]
RawHandler = Callable[[str, bytes], Awaitable[None] | None]


@dataclass(frozen=True)
class BusConfig:
    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    session_expiry_s: int = 24 * 3600  # the broker keeps our subscriptions and queued QoS 1
    keepalive_s: int = 15
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30

    @classmethod
    def for_process(cls, user: str, password: str, host: str, port: int) -> BusConfig:
        """A station process's connection. The broker makes a session user's client id its
        username (one persistent session per user); a screen gets an id of its own and a
        session that ends with its connection (a screen's random id is never resumed)."""
        if user in SESSION_USERS:
            return cls(host, port, client_id_for(user), user, password)
        return cls(host, port, client_id_for(user), user, password, session_expiry_s=0)


def client_id_for(user: str) -> str:
    """A client id for `user`: a session user's is replaced by its username on the broker."""
    return user if user in SESSION_USERS else f"{user}-{secrets.token_hex(6)}"


def broker_client_id(client_id: str) -> str:
    """The id sent: the broker accepts only ids starting with CLIENT_ID_PREFIX."""
    return client_id if client_id.startswith(CLIENT_ID_PREFIX) else CLIENT_ID_PREFIX + client_id


@dataclass
class BusStats:
    connected: bool = False
    connects: int = 0
    last_error: str = ""
    received: int = 0
    malformed: int = 0
    handler_errors: int = 0
    refused: int = 0
    acknowledged: int = 0
    dead_lettered: int = 0


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes


@dataclass
class _Subscription:
    topic_filter: str
    qos: int
    handler: RawHandler


@dataclass
class BusClient:
    """One connection to the station's broker. Create, `subscribe…`, then `start()`."""

    config: BusConfig
    topics: Topics
    outbox: Outbox | None = None
    will: Will | None = None
    online_payload: bytes | None = None  # published retained to will.topic on every connect
    # Acknowledge a QoS 1 message only after every handler has finished with it (the hub acks
    # after the journal append), so a consumer killed mid-way gets it again from its session.
    manual_ack: bool = False
    # With manual_ack: a message whose handler keeps failing is retried, then written here
    # (JSON lines, fsynced) and acknowledged, so one poison message cannot wedge the session.
    dead_letter: Path | None = None
    handler_attempts: int = 3
    sweep_interval_s: float = 5.0  # how often unacknowledged outbox entries not in flight go out
    stats: BusStats = field(default_factory=BusStats)
    _subscriptions: list[_Subscription] = field(default_factory=list)
    # topic → the subscriptions it matches, worked out once per topic (paho builds a matcher
    # tree on every topic_matches_sub call: tens of microseconds per subscription and message)
    _routes: dict[str, list[_Subscription]] = field(default_factory=dict)
    # paho mid → (outbox entry, its message info). Paho numbers QoS 0 publishes from the same
    # counter, so an on_publish for a mid is only a PUBACK of ours if our message says published.
    _in_flight: dict[int, tuple[EntryKey, mqtt.MQTTMessageInfo]] = field(default_factory=dict)
    _acks: list[tuple[EntryKey, ReasonCode | None]] = field(default_factory=list)
    # Custody readings kept back while not connected, in the order they were read; sent once
    # the connection is up (paho would send one made while it reconnects ahead of them).
    _held: dict[EntryKey, OutboxEntry] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _outbox_writer: concurrent.futures.ThreadPoolExecutor | None = None
    _sweeper: asyncio.Future[None] | None = None
    _settling: set[EntryKey] = field(default_factory=set)
    _stopping: bool = False
    _client: mqtt.Client = field(init=False)

    def __post_init__(self) -> None:
        if self.manual_ack and self.dead_letter is None:
            raise ValueError("manual_ack needs a dead_letter file for messages no handler can take")
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=broker_client_id(self.config.client_id),
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=self.manual_ack,
        )
        if self.config.username is not None:
            client.username_pw_set(self.config.username, self.config.password)
        if self.will is not None:
            client.will_set(self.will.topic, self.will.payload, qos=1, retain=True)
        client.reconnect_delay_set(self.config.reconnect_min_s, self.config.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_connect_fail = self._on_connect_fail
        self._client = client

    # -- set-up --

    def subscribe_raw(self, topic_filter: str, handler: RawHandler, qos: int = 1) -> None:
        """Call `handler(topic, payload)` on the event loop for every message on the filter."""
        self._subscriptions.append(_Subscription(topic_filter, qos, handler))
        self._routes.clear()
        if self.stats.connected:
            self._client.subscribe(topic_filter, qos)

    def subscribe(self, topic_filter: str, handler: Handler, qos: int = 1) -> None:
        """Like `subscribe_raw`, with the payload decoded into its model for the topic kind.

        A topic outside the scheme or a malformed payload is counted, logged and dropped.
        """

        def decoded(topic: str, payload: bytes) -> Awaitable[None] | None:
            try:
                kind = self.topics.parse(topic).kind
                model = decode(kind, payload)
            except (TopicError, PayloadError) as exc:
                self.stats.malformed += 1
                log.warning("malformed message dropped topic=%s error=%s", topic, exc)
                return None
            return handler(topic, model)

        self.subscribe_raw(topic_filter, decoded, qos)

    def start(self) -> None:
        """Connect in the background (retrying while the broker is away) and replay the outbox."""
        self._loop = asyncio.get_running_loop()
        self._outbox_writer = concurrent.futures.ThreadPoolExecutor(1, "outbox")
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.config.session_expiry_s
        self._client.connect_async(
            self.config.host,
            self.config.port,
            keepalive=self.config.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self._client.loop_start()
        if self.outbox is not None:
            self._sweeper = asyncio.ensure_future(self._sweep())

    async def _sweep(self) -> None:
        """Publish every unacknowledged entry that is not in flight: at start (the replay), and
        whenever paho could not take one (its mid still held by an older unacknowledged one)."""
        assert self.outbox is not None
        loop = asyncio.get_running_loop()
        first = True
        while not self._stopping:
            try:
                pending = await loop.run_in_executor(self._outbox_writer, self.outbox.pending)
            except (RuntimeError, sqlite3.Error) as exc:  # shutting down, or the disk is gone
                log.error("outbox sweep failed: %s", exc)
                pending = []
            flying = {key for key, _ in self._in_flight.values()} | self._settling
            flying |= self._held.keys()
            stray = [entry for entry in pending if entry.key not in flying]
            if stray and not self._stopping:
                verb = "replaying" if first else "re-sending"
                log.info("%s %d unacknowledged readings from the outbox", verb, len(stray))
                for entry in stray:
                    try:
                        self._publish_entry(entry)
                    except Exception:  # one entry must not end the sweep for all the others
                        log.exception(
                            "outbox entry device=%s seq=%d not sent", entry.device_id, entry.seq
                        )
            first = False
            await asyncio.sleep(self.sweep_interval_s)

    async def wait_connected(self, within: float) -> bool:
        try:
            async with asyncio.timeout(within):
                await self._connected.wait()
        except TimeoutError:
            return False
        return True

    async def stop(self, offline_payload: bytes | None = None, settle_within: float = 2.0) -> None:
        """Say goodbye cleanly (a clean disconnect does not fire the will, so say it ourselves)."""
        if offline_payload is not None and self.will is not None and self.stats.connected:
            info = self._client.publish(self.will.topic, offline_payload, qos=1, retain=True)
            await asyncio.to_thread(_wait_published, info, 2.0)
        # Give readings on the wire a moment to be acknowledged and settled, so a clean stop
        # does not leave them to be replayed (as duplicates) at the next start.
        deadline = asyncio.get_running_loop().time() + settle_within
        while (self._in_flight or self._acks or self._settling) and self.stats.connected:
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.02)
        self._stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        self._settle_acks()  # PUBACKs that arrived just now: settle before the writer stops
        if self._outbox_writer is not None:
            await asyncio.to_thread(self._outbox_writer.shutdown, True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- publishing --

    def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        """Fire and forget (live readings, status); paho queues QoS 1 while disconnected."""
        self._client.publish(topic, payload, qos=qos, retain=retain)

    async def publish_custody(
        self, device_id: str, topic: str, payload_for_seq: Callable[[int], bytes]
    ) -> OutboxEntry:
        """`send_custody`, then wait until the outbox has the reading. Raises OutboxError (the
        reading went out all the same) when the outbox could not keep it."""
        entry, stored = self.send_custody(device_id, topic, payload_for_seq)
        await stored
        return entry

    def send_custody(
        self, device_id: str, topic: str, payload_for_seq: Callable[[int], bytes]
    ) -> tuple[OutboxEntry, asyncio.Future[None]]:
        """Publish QoS 1 now (while not connected: as soon as the connection is up, in order),
        until PUBACK, while the outbox stores the reading off the loop (in order). The reading is
        safe once either has happened, so the fsync does not delay it. Call on the loop; the
        future says whether the outbox kept it."""
        if self.outbox is None or self._outbox_writer is None or self._loop is None:
            raise RuntimeError("send_custody needs an outbox and a started client")
        entry = self.outbox.next_entry(device_id, topic, payload_for_seq)
        stored = self._loop.run_in_executor(self._outbox_writer, self.outbox.store, entry)
        self._publish_entry(entry)
        return entry, stored

    def _publish_entry(self, entry: OutboxEntry) -> None:
        if not self.stats.connected:  # until `_connected_now`, on this loop, sends it in order
            self._held.setdefault(entry.key, entry)
            return
        info = self._client.publish(entry.topic, entry.payload, qos=1)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            log.warning(
                "paho could not queue outbox entry device=%s seq=%d yet: %s",
                entry.device_id,
                entry.seq,
                info.rc,
            )
            return  # stays in the outbox; the sweep sends it again
        self._in_flight[info.mid] = (entry.key, info)

    # -- paho callbacks (network thread): hand everything to the loop --

    def _to_loop(self, func: Callable[..., None], *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(func, *args)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._to_loop(self._failed, f"broker refused connection: {reason_code}")
            return
        for sub in self._subscriptions:
            client.subscribe(sub.topic_filter, sub.qos)
        if self.will is not None and self.online_payload is not None:
            client.publish(self.will.topic, self.online_payload, qos=1, retain=True)
        self._to_loop(self._connected_now, flags.session_present)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._to_loop(self._failed, "broker unreachable; retrying with backoff")

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._to_loop(self._disconnected, str(reason_code))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._to_loop(
            self._dispatch, message.topic, bytes(message.payload), message.mid, message.qos
        )

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self.outbox is not None:  # only an outbox reading's PUBACK has work on the loop
            self._to_loop(self._published, mid, reason_code)

    # -- on the loop --

    def _connected_now(self, session_present: bool) -> None:
        self.stats.connected = True
        self.stats.connects += 1
        self.stats.last_error = ""
        self._connected.set()
        log.info(
            "connected to broker %s:%d session_present=%s",
            self.config.host,
            self.config.port,
            session_present,
        )
        # After what paho re-sends by itself (sent before it told us of the CONNACK), and
        # before any reading that comes from now on.
        held, self._held = list(self._held.values()), {}
        for entry in held:
            try:
                self._publish_entry(entry)
            except Exception:  # one entry must not keep the others back; the sweep retries it
                log.exception("outbox entry device=%s seq=%d not sent", entry.device_id, entry.seq)

    def _failed(self, reason: str) -> None:
        self.stats.last_error = reason
        log.warning("mqtt: %s", reason)

    def _disconnected(self, reason: str) -> None:
        if self.stats.connected and not self._stopping:
            log.warning("disconnected from broker: %s", reason)
        self.stats.connected = False
        self._connected.clear()

    def _dispatch(self, topic: str, payload: bytes, mid: int, qos: int, attempt: int = 1) -> None:
        if attempt == 1:
            self.stats.received += 1
        pending: list[Awaitable[None]] = []
        failed = False
        for sub in self._matching(topic):
            try:
                result = sub.handler(topic, payload)
            except Exception:
                failed = True
                self.stats.handler_errors += 1
                log.exception("message handler failed topic=%s", topic)
                continue
            if inspect.isawaitable(result):
                pending.append(result)
        if pending:
            task = asyncio.ensure_future(
                self._finish(topic, payload, pending, mid, qos, attempt, failed)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self._settle_message(topic, payload, mid, qos, attempt, failed)

    def _matching(self, topic: str) -> list[_Subscription]:
        subs = self._routes.get(topic)
        if subs is None:
            subs = [s for s in self._subscriptions if mqtt.topic_matches_sub(s.topic_filter, topic)]
            if len(self._routes) < ROUTES_KEPT:  # topics name devices: few, but not trusted
                self._routes[topic] = subs
        return subs

    async def _finish(
        self,
        topic: str,
        payload: bytes,
        pending: list[Awaitable[None]],
        mid: int,
        qos: int,
        attempt: int,
        failed: bool,
    ) -> None:
        for result in pending:
            try:
                await result
            except Exception:
                failed = True
                self.stats.handler_errors += 1
                log.exception("message handler failed topic=%s", topic)
        self._settle_message(topic, payload, mid, qos, attempt, failed)

    def _settle_message(
        self, topic: str, payload: bytes, mid: int, qos: int, attempt: int, failed: bool
    ) -> None:
        """Acknowledge (manual_ack) once handled; retry a failure, then dead-letter it."""
        if not self.manual_ack or qos == 0:
            return
        if failed and attempt < self.handler_attempts:
            assert self._loop is not None
            self._loop.call_later(
                0.5 * attempt, self._dispatch, topic, payload, mid, qos, attempt + 1
            )
            return
        if failed:
            assert self.dead_letter is not None
            self.stats.dead_lettered += 1
            log.critical(
                "message on %s failed %d times; kept in %s", topic, attempt, self.dead_letter
            )
            _append_dead_letter(self.dead_letter, topic, payload)
        self._client.ack(mid, qos)

    def _published(self, mid: int, reason_code: ReasonCode | None, recheck: int = 0) -> None:
        flying = self._in_flight.get(mid)
        if flying is None or self.outbox is None:
            return
        key, info = flying
        if not _is_published(info):
            # Paho marks the message published right after on_publish returns; if it still is
            # not, this on_publish was for a QoS 0 message that reused the mid: not our PUBACK.
            if recheck < 20 and self._loop is not None:
                self._loop.call_later(0.05, self._published, mid, reason_code, recheck + 1)
            return
        del self._in_flight[mid]
        self._settling.add(key)  # until its row is deleted or marked refused
        self._acks.append((key, reason_code))
        if len(self._acks) == 1:  # first ack of a burst: settle them all in one go, a little
            assert self._loop is not None  # later, once the reading's own path has gone by
            self._loop.call_later(ACK_SETTLE_DELAY_S, self._settle_acks)

    def _settled(self, key: EntryKey) -> Callable[[concurrent.futures.Future[None]], None]:
        def done(_: concurrent.futures.Future[None]) -> None:
            self._to_loop(self._settling.discard, key)

        return done

    def _settle_acks(self) -> None:
        acks, self._acks = self._acks, []
        if not acks or self.outbox is None or self._outbox_writer is None:
            return
        for key, reason_code in acks:
            if reason_code is not None and reason_code.is_failure:
                self.stats.refused += 1
                log.error(
                    "broker refused outbox entry device=%s seq=%d: %s; kept, not resent",
                    *key,
                    reason_code,
                )
                done = self._outbox_writer.submit(self.outbox.refuse, key, str(reason_code))
            else:
                self.stats.acknowledged += 1
                done = self._outbox_writer.submit(self.outbox.acknowledged, key)
            done.add_done_callback(self._settled(key))


def _is_published(info: mqtt.MQTTMessageInfo) -> bool:
    """`is_published()` raises for a message first queued while disconnected (its rc says
    "no connection" for good), although paho sends it after reconnecting; read the flag itself."""
    try:
        return info.is_published()
    except RuntimeError:
        return bool(getattr(info, "_published", False))


def _append_dead_letter(path: Path, topic: str, payload: bytes) -> None:
    line = json.dumps(
        {"topic": topic, "payload_b64": base64.b64encode(payload).decode(), "at": time.time()}
    )
    with path.open("a", encoding="utf-8") as out:
        out.write(line + "\n")
        out.flush()
        os.fsync(out.fileno())


def _wait_published(info: mqtt.MQTTMessageInfo, timeout: float) -> None:
    with contextlib.suppress(RuntimeError, ValueError):  # not connected: the will speaks for us
        info.wait_for_publish(timeout)
