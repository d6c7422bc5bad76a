"""What a driver sees of the bus: publish its status and readings, answer its commands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import JsonValue, ValidationError

from edge.bus.client import BusClient
from edge.bus.outbox import OutboxError
from edge.bus.payloads import Command, DeviceStatus, Reply, now
from edge.bus.topics import ReadingKind

log = logging.getLogger(__name__)


class CommandFailed(Exception):
    """A device command could not be done; the message goes back to the requester."""


CommandResult = dict[str, JsonValue]
CommandHandler = Callable[[Command], Awaitable[CommandResult]]


@dataclass
class DevicePublisher:
    """One device slot's view of the bus. Drivers call it from the event loop only."""

    bus: BusClient
    device_id: str
    kind: str
    data_dir: Path | None = None  # the station's data folder (blobs, state), when hosted
    commands: dict[str, CommandHandler] = field(default_factory=dict)
    last_status: DeviceStatus | None = None
    custody_failures: int = 0
    refused_readings: int = 0  # readings no entry would take (edge/limits.py), never sent
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def status(self, state: str, reason: str, **detail: JsonValue) -> None:
        """Retained, so a screen that connects later sees the device's current health."""
        payload = DeviceStatus(
            kind=self.kind,
            state=state,
            reason=reason,
            ts=now(),
            detail=detail,
        )
        self.last_status = payload
        self.bus.publish(
            self.bus.topics.device_status(self.device_id), payload.to_bytes(), qos=1, retain=True
        )

    def live(self, reading_kind: ReadingKind, payload: bytes) -> None:
        """A reading nobody must lose sleep over (a moving weight): QoS 0, no outbox."""
        self.bus.publish(self.bus.topics.reading(self.device_id, reading_kind), payload)

    def custody(self, reading_kind: ReadingKind, payload_for_seq: Callable[[int], bytes]) -> None:
        """A reading that becomes custody: published QoS 1 at once (until PUBACK) while the
        outbox stores it."""
        topic = self.bus.topics.reading(self.device_id, reading_kind)
        try:
            _, stored = self.bus.send_custody(self.device_id, topic, payload_for_seq)
        except ValidationError as exc:  # e.g. a code over MAX_CODE_LENGTH: the hub would drop it
            self._refused(reading_kind, exc)
            return
        except Exception as exc:  # a client shutting down
            self._lost(exc)
            return
        task = asyncio.ensure_future(self._kept(stored))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _kept(self, stored: asyncio.Future[None]) -> None:
        try:
            await stored
        except OutboxError as exc:  # sent, but a killed driver or broker could now lose it
            self.custody_failures += 1
            log.error("custody reading without a safety copy device=%s: %s", self.device_id, exc)
            self.status("error", str(exc))
        except Exception as exc:
            self._lost(exc)

    def _refused(self, reading_kind: ReadingKind, exc: ValidationError) -> None:
        """Say why in the device's status; no seq is used, nothing is sent."""
        self.refused_readings += 1
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or reading_kind
        reason = f"{reading_kind} refused: {where}: {first['msg']}"
        log.warning("reading refused device=%s reason=%s", self.device_id, reason)
        self.status("attention", reason, refused_readings=self.refused_readings)

    def _lost(self, exc: Exception) -> None:
        self.custody_failures += 1
        log.error("custody reading lost device=%s: %s", self.device_id, exc, exc_info=exc)
        self.status("error", f"a reading could not be stored: {exc}")

    async def drain(self) -> None:
        """Wait until every custody reading handed over so far is in the outbox."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def on_command(self, verb: str, handler: CommandHandler) -> None:
        self.commands[verb] = handler

    async def handle_command(self, verb: str, command: Command) -> None:
        handler = self.commands.get(verb)
        if handler is None:
            known = ", ".join(sorted(self.commands)) or "none"
            reply = self._reply(
                command, verb, False, f"{self.kind} has no command {verb!r} (known: {known})"
            )
        else:
            try:
                result = await handler(command)
            except CommandFailed as exc:
                reply = self._reply(command, verb, False, str(exc))
            except Exception as exc:
                log.exception("command %s failed device=%s", verb, self.device_id)
                reply = self._reply(command, verb, False, f"{verb} failed: {exc}")
            else:
                reply = self._reply(command, verb, True, f"{verb} done", result)
        self.bus.publish(self.bus.topics.reading(self.device_id, "reply"), reply.to_bytes(), qos=1)

    def _reply(
        self,
        command: Command,
        verb: str,
        ok: bool,
        message: str,
        result: CommandResult | None = None,
    ) -> Reply:
        return Reply(
            request_id=command.request_id,
            verb=verb,
            ok=ok,
            message=message,
            ts=now(),
            result=result or {},
        )
