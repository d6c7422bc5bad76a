"""A driver process (`edge drivers`, `edge camera`): every device of the profile it hosts.

Each device runs under supervision: a driver that crashes is logged, reported on its status
topic and restarted after a pause, without taking the other devices or the process down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from drivers.profile import DeviceSlot, ProfileError, StationProfile
from drivers.publisher import DevicePublisher
from drivers.registry import DriverKind, ProcessName, RunningDevice, driver_kinds, kind_for
from edge.bus.client import BusClient, BusConfig, Will
from edge.bus.outbox import Outbox
from edge.bus.payloads import Command, DeviceStatus, now
from edge.bus.topics import Topics
from edge.systemd_notify import notify, watchdog_interval

log = logging.getLogger(__name__)
RESERVED_PREFIX = "proc-"  # `dev/proc-drivers/status` is the process's own status and will


def process_status(process: ProcessName, state: str, reason: str) -> bytes:
    return DeviceStatus(
        kind="process", state=state, reason=reason, ts=now(), detail={"process": process}
    ).to_bytes()


@dataclass
class _Hosted:
    slot: DeviceSlot
    kind: DriverKind
    device: RunningDevice
    publisher: DevicePublisher
    task: asyncio.Task[None] | None = None
    crashes: int = 0


@dataclass
class DriverHost:
    profile: StationProfile
    process: ProcessName
    bus_config: BusConfig
    outbox_path: Path
    kinds: dict[str, DriverKind] | None = None
    restart_after_s: float = 2.0
    bus: BusClient = field(init=False)
    hosted: list[_Hosted] = field(default_factory=list)

    def __post_init__(self) -> None:
        topics = Topics(self.profile.site, self.profile.station)
        status_topic = topics.device_status(RESERVED_PREFIX + self.process)
        self.bus = BusClient(
            self.bus_config,
            topics,
            outbox=Outbox(self.outbox_path),
            will=Will(
                status_topic,
                process_status(self.process, "offline", f"{self.process} process lost (last will)"),
            ),
            online_payload=process_status(self.process, "online", f"{self.process} running"),
        )

    def build_devices(self) -> None:
        """Build every enabled device this process hosts; a profile mistake stops the start."""
        kinds = self.kinds if self.kinds is not None else driver_kinds()
        for slot in self.profile.devices:
            if not slot.enabled:
                continue
            if slot.id.startswith(RESERVED_PREFIX):
                raise ProfileError(
                    f"device slot {slot.id!r}: the prefix {RESERVED_PREFIX!r} is reserved"
                )
            kind = kind_for(slot, kinds)
            if kind.process != self.process:
                continue
            publisher = DevicePublisher(self.bus, slot.id, kind.name, self.outbox_path.parent)
            device = kind.build(slot, publisher)
            self.hosted.append(_Hosted(slot, kind, device, publisher))
            self.bus.subscribe(
                self.bus.topics.commands_for(slot.id), self._command_handler(publisher)
            )

    def _command_handler(
        self, publisher: DevicePublisher
    ) -> Callable[[str, Command], Awaitable[None]]:
        async def handle(topic: str, command: Command) -> None:
            verb = self.bus.topics.parse(topic).verb or ""
            await publisher.handle_command(verb, command)

        return handle

    async def run(self, stop: asyncio.Event) -> None:
        if not self.hosted:
            self.build_devices()
        self.bus.start()
        for hosted in self.hosted:
            hosted.task = asyncio.create_task(self._supervise(hosted, stop))
        log.info("%s process hosting %d device(s)", self.process, len(self.hosted))
        notify(f"READY=1\nSTATUS=hosting {len(self.hosted)} device(s)")
        watchdog = asyncio.create_task(self._watchdog(stop))
        await stop.wait()
        await watchdog
        for hosted in self.hosted:
            hosted.device.stop()
        tasks = [h.task for h in self.hosted if h.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(h.publisher.drain() for h in self.hosted))
        for hosted in self.hosted:  # retained: a screen connecting later must not see "online"
            hosted.publisher.status("offline", f"{self.process} process stopped")
        await self.bus.stop(process_status(self.process, "offline", f"{self.process} stopped"))

    def healthy(self) -> bool:
        """Every device's supervisor is alive and the outbox is readable."""
        if not all(h.task is not None and not h.task.done() for h in self.hosted):
            return False
        try:
            if self.bus.outbox is not None:
                self.bus.outbox.stats()
        except sqlite3.Error:
            return False
        return True

    async def _watchdog(self, stop: asyncio.Event) -> None:
        """Pet systemd's watchdog only while the loop runs and the devices are supervised."""
        interval = watchdog_interval()
        if interval is None:
            return
        while not stop.is_set():
            if self.healthy():
                notify("WATCHDOG=1")
            else:
                log.error("not petting the watchdog: a device supervisor or the outbox failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    async def _supervise(self, hosted: _Hosted, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await hosted.device.run()
                return
            except Exception as exc:
                hosted.crashes += 1
                log.exception("driver for %s crashed; restarting", hosted.slot.id)
                hosted.publisher.status(
                    "error", f"driver crashed ({exc}); restarting", crashes=hosted.crashes
                )
                # A fresh driver: the crashed one's cached state would keep it from saying
                # "online" again once it works.
                hosted.device = hosted.kind.build(hosted.slot, hosted.publisher)
            try:
                await asyncio.wait_for(stop.wait(), self.restart_after_s)
            except TimeoutError:
                continue
