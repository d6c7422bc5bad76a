"""The scale as a station device: profile slot in, weights and status out on the bus.

Every reading goes out live (QoS 0) for the screens; a weight the acceptance rule accepts
(stable, repeated, in range) goes out as custody (outbox, QoS 1, with the device's seq).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from drivers.profile import DeviceSlot, ProfileError
from drivers.publisher import CommandFailed, CommandResult, DevicePublisher
from drivers.registry import DriverKind
from drivers.scale.acceptance import StableWeightFilter
from drivers.scale.continuous import Continuous
from drivers.scale.driver import ScaleCommandError, ScaleDriver
from drivers.scale.mtsics import MtSics
from drivers.scale.protocol import Output, ScaleProtocol, SerialSettings
from drivers.scale.reading import ScaleReading
from drivers.scale.toledo8217 import Toledo8217
from edge.bus.payloads import Command, Weight, now

log = logging.getLogger(__name__)

PROTOCOLS: dict[str, Callable[[], ScaleProtocol]] = {
    "mtsics": MtSics,
    "toledo8217": Toledo8217,
    "indicator": lambda: Continuous(variant="indicator"),
    "and": lambda: Continuous(variant="and"),
}


def escaped(raw: bytes) -> str:
    return raw.decode("ascii", errors="backslashreplace").encode("unicode_escape").decode()


def weight_payload(reading: ScaleReading, seq: int | None = None) -> bytes:
    return Weight(
        grams=reading.grams if reading.grams is not None else Decimal(0),
        stable=reading.stable,
        state=reading.state.value,
        raw=escaped(reading.raw),
        ts=now(),
        seq=seq,
        accepted=seq is not None,
    ).to_bytes()


@dataclass
class ScaleDevice:
    path: Path
    protocol: ScaleProtocol
    serial_settings: SerialSettings
    publisher: DevicePublisher
    acceptance: StableWeightFilter
    poll_interval: float = 0.2
    driver: ScaleDriver = field(init=False)

    def __post_init__(self) -> None:
        self.driver = ScaleDriver(
            path=self.path,
            protocol=self.protocol,
            on_output=self.on_output,
            on_status=self.on_status,
            serial_settings=self.serial_settings,
            poll_interval=self.poll_interval,
        )
        self.publisher.on_command("zero", self.zero)
        self.publisher.on_command("tare", self.tare)

    async def run(self) -> None:
        await self.driver.run()

    def stop(self) -> None:
        self.driver.stop()

    def on_output(self, output: Output) -> None:
        if not isinstance(output, ScaleReading):
            self.acceptance.interrupt()  # a garbled frame breaks a run of agreeing readings
            return
        self.publisher.live("weight", weight_payload(output))
        if self.acceptance.offer(output) is not None:
            self.publisher.custody("weight", lambda seq: weight_payload(output, seq))

    def on_status(self, state: str, reason: str) -> None:
        self.acceptance.reset()
        self.publisher.status(
            state,
            reason,
            path=str(self.driver.path),
            protocol=self.driver.protocol.name,
            frame_errors=self.driver.frame_errors,
        )

    async def zero(self, command: Command) -> CommandResult:
        return await self._command("zero", command)

    async def tare(self, command: Command) -> CommandResult:
        return await self._command("tare", command)

    async def _command(self, verb: str, command: Command) -> CommandResult:
        try:
            result = await (self.driver.zero() if verb == "zero" else self.driver.tare())
        except ScaleCommandError as exc:
            raise CommandFailed(str(exc)) from None
        if not result.ok:
            raise CommandFailed(f"scale refused {verb}: {result.detail}")
        self.acceptance.reset()
        return {"detail": result.detail, "raw": escaped(result.raw)}


def _serial_settings(slot: DeviceSlot, default: SerialSettings) -> SerialSettings:
    options = slot.options
    try:
        return SerialSettings(
            baudrate=int(options.get("baudrate", default.baudrate)),
            bytesize=options.get("bytesize", default.bytesize),
            parity=options.get("parity", default.parity),
            stopbits=options.get("stopbits", default.stopbits),
        )
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"device {slot.id!r}: bad serial settings: {exc}") from None


def build(slot: DeviceSlot, publisher: DevicePublisher) -> ScaleDevice:
    name = str(slot.options.get("protocol", ""))
    if name not in PROTOCOLS:
        raise ProfileError(
            f"device {slot.id!r}: scale protocol {name!r} unknown "
            f"(use one of {', '.join(PROTOCOLS)})"
        )
    if not slot.path:
        raise ProfileError(f"device {slot.id!r}: a scale needs path = '/dev/serial/by-id/…'")
    protocol = PROTOCOLS[name]()
    return ScaleDevice(
        path=Path(slot.path),
        protocol=protocol,
        serial_settings=_serial_settings(slot, protocol.serial),
        publisher=publisher,
        acceptance=StableWeightFilter(
            repeats=int(slot.options.get("stable_repeats", 3)),
            tolerance=Decimal(str(slot.options.get("tolerance_grams", "0"))),
        ),
        poll_interval=float(slot.options.get("poll_interval", 0.2)),
    )


KIND = DriverKind("scale", "drivers", build, "serial scales (MT-SICS, Toledo 8217, continuous)")
