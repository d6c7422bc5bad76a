"""The hub's side of the bus: device readings in (acknowledged only after the journal commit),
commands and journal events out, device status kept for the screens.

A custody reading is acknowledged to the broker only once the events it caused are committed,
so a hub killed mid-way gets it again from its persistent session. A redelivered reading (same
device, seq and payload digest) is recognised from the read model, which is folded from the
journal, so the dedupe survives restarts.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from edge.bus.client import BusClient, BusConfig, Will
from edge.bus.payloads import (
    Command,
    DeviceStatus,
    Diag,
    PayloadError,
    Photo,
    Reply,
    Scan,
    Weight,
    decode,
)
from edge.bus.topics import TopicError, Topics
from edge.hub.runtime import Hub, Result
from stations.workflow import (
    DeviceCommand,
    DiagInput,
    PhotoInput,
    Reading,
    ScanInput,
    WeightInput,
    WorkflowRefused,
)

log = logging.getLogger(__name__)
DEAD_LETTER_FILE = "hub-dead-letter.jsonl"


@dataclass
class BridgeStats:
    readings: int = 0
    duplicates: int = 0
    malformed: int = 0


@dataclass
class HubBus:
    hub: Hub
    config: BusConfig
    stats: BridgeStats = field(default_factory=BridgeStats)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    client: BusClient = field(init=False)

    def __post_init__(self) -> None:
        topics = Topics(self.hub.site, self.hub.station)
        self.topics = topics
        self.client = BusClient(
            self.config,
            topics,
            will=Will(topics.status, b"offline"),
            online_payload=b"online",
            manual_ack=True,
            dead_letter=self.hub.data_dir / DEAD_LETTER_FILE,
        )
        root = topics.root
        self.client.subscribe_raw(f"{root}/dev/+/status", self._on_status)
        for kind in ("scan", "weight", "photo", "diag", "reply"):
            self.client.subscribe_raw(f"{root}/dev/+/{kind}", self._on_reading)
        self.hub.send_command = self.send_command
        self.hub.on_events = self.publish_events

    @property
    def connected(self) -> bool:
        return self.client.stats.connected

    def start(self) -> None:
        self.client.start()

    async def stop(self) -> None:
        await self.client.stop(offline_payload=b"offline")

    # -- out --

    def send_command(self, command: DeviceCommand) -> None:
        payload = Command(request_id=command.request_id, args=command.args).to_bytes()
        self.client.publish(self.topics.command(command.device_id, command.verb), payload, qos=1)

    def publish_events(self, stored: list[str]) -> None:
        """Every appended custody event, as stored, on the station's journal topic."""
        for text in stored:
            self.client.publish(self.topics.journal, text.encode(), qos=1)

    # -- in --

    def _on_status(self, topic: str, payload: bytes) -> None:
        try:
            parsed = self.topics.parse(topic)
            status = decode("dev-status", payload)
        except (TopicError, PayloadError) as exc:
            self.stats.malformed += 1
            log.warning("malformed device status dropped topic=%s error=%s", topic, exc)
            return
        assert isinstance(status, DeviceStatus) and parsed.device_id is not None
        record = {"device": parsed.device_id, **status.model_dump(mode="json")}
        self.devices[parsed.device_id] = record
        self.hub.broadcaster.publish({"type": "device_status", "status": record})

    def _on_reading(self, topic: str, payload: bytes) -> Awaitable[None] | None:
        """Hand a custody reading to the workflow thread at once; the returned awaitable ends
        (and the message is acknowledged) once its events are committed. The screens are shown
        a reading that is no custody input (a moving weight) at once, a custody reading once the
        hub has handled it, right after the events it caused: at the moment a scan arrives the
        workflow thread has the CPU (and the GIL) to itself."""
        try:
            parsed = self.topics.parse(topic)
            model = decode(parsed.kind, payload)
        except (TopicError, PayloadError) as exc:
            self.stats.malformed += 1
            log.warning("malformed reading dropped topic=%s error=%s", topic, exc)
            return None
        device = parsed.device_id or "?"
        item = self._as_input(device, model, hashlib.sha256(payload).hexdigest()[:32])
        if item is None:
            self._show(parsed.kind, device, model)
            return None
        self.stats.readings += 1
        handled = self.hub.submit(item)  # deduped by the workflow thread
        return self._handled(parsed.kind, device, model, item.reading.seq, handled)

    def _show(self, kind: str, device: str, model: Any) -> None:
        self.hub.broadcaster.publish_encoded(
            [
                f'{{"type":"reading","kind":"{kind}","device":{json.dumps(device)},'
                f'"reading":{model.model_dump_json()}}}'
            ]
        )

    async def _handled(
        self, kind: str, device: str, model: Any, seq: int | None, handled: Future[Result]
    ) -> None:
        try:
            await asyncio.wrap_future(handled)
        except WorkflowRefused as exc:  # a reading is never refused; a bug if it is
            log.error("reading refused device=%s seq=%s: %s", device, seq, exc)
        finally:
            self._show(kind, device, model)

    def _as_input(
        self, device: str, model: Any, digest: str
    ) -> ScanInput | WeightInput | PhotoInput | DiagInput | None:
        operator = self.hub.operator_for_readings(device)
        match model:
            case Scan():
                return ScanInput(
                    code=model.code,
                    symbology=model.symbology,
                    reading=Reading(device, model.seq, digest),
                    operator=operator,
                    gs1=dict(model.gs1),
                    imei=model.imei,
                    source=model.source,
                )
            case Weight():
                if not model.accepted or model.seq is None or model.grams is None:
                    return None  # live weight or a state without one: screens only
                return WeightInput(
                    Decimal(model.grams), Reading(device, model.seq, digest), operator
                )
            case Photo():
                return PhotoInput(
                    model.sha256,
                    model.width,
                    model.height,
                    model.request_id,
                    Reading(device, model.seq, digest),
                    operator,
                    blob_present=self.hub.journal.blobs.has(model.sha256),
                )
            case Diag():
                return DiagInput(
                    platform=model.platform,
                    imei=model.imei,
                    serial=model.serial,
                    model=model.model,
                    battery_health=model.battery_health,
                    lock=dict(model.lock),
                    fields=dict(model.fields),
                    reading=Reading(device, model.seq, digest),
                    operator=operator,
                )
            case Reply():
                return None
        return None
