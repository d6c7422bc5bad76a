"""The scale as a station device: profile slot in, weights and status out on the bus.

Every reading goes out live (QoS 0) for the screens; a weight the acceptance rule accepts
(stable, repeated, in range) goes out as custody (outbox, QoS 1, with the device's seq).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from drivers.profile import DeviceSlot, ProfileError, slot_options
from drivers.publisher import CommandFailed, CommandResult, DevicePublisher
from drivers.registry import DriverKind
from drivers.scale.acceptance import StableWeightFilter
from drivers.scale.continuous import Continuous
from drivers.scale.driver import ScaleCommandError, ScaleDriver
from drivers.scale.mtsics import MtSics
from drivers.scale.protocol import Output, ScaleProtocol, SerialSettings
from drivers.scale.reading import ScaleReading
from drivers.scale.toledo8217 import WEIGHT_FORMAT, Toledo8217
from edge.bus.payloads import Command, Weight, now

log = logging.getLogger(__name__)

# The units an MT-SICS balance may report in, as it writes them.
MTSICS_UNITS = ("g", "kg", "mg", "lb", "oz", "ozt", "ct", "dwt", "GN", "mom")
_UNIT_HELP = {
    "mtsics": f"one of {', '.join(MTSICS_UNITS)} (what the balance reports in; default g)",
    "toledo8217": "'kg' or 'lb', as the scale is set: its reply carries no unit",
}


def escaped(raw: bytes) -> str:
    return raw.decode("ascii", errors="backslashreplace").encode("unicode_escape").decode()


def weight_payload(reading: ScaleReading, seq: int | None = None) -> bytes:
    """The bus payload of a reading; one without a weight goes out with `grams` null."""
    return Weight(
        grams=reading.grams,
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


class ScaleOptions(BaseModel):
    """A scale slot's options; anything else in the slot is a mistake worth naming. `unit` and
    `weight_format` are checked against the protocol (which is validated first)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    protocol: Literal["mtsics", "toledo8217", "indicator", "and"]
    unit: str | None = Field(None, validate_default=True)
    weight_format: str | None = None
    baudrate: int | None = Field(None, gt=0, le=921600)
    bytesize: Literal[7, 8] | None = None
    parity: Literal["N", "E", "O"] | None = None
    stopbits: Literal[1, 2] | None = None
    stable_repeats: int = Field(3, ge=1, le=100)
    tolerance_grams: Decimal = Field(Decimal(0), ge=0)
    poll_interval: float = Field(0.2, ge=0.02, le=60)

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str | None, info: ValidationInfo) -> str | None:
        protocol = info.data.get("protocol")
        if protocol == "mtsics":
            if value is None:
                return "g"
            if value not in MTSICS_UNITS:
                raise ValueError(f"{value!r} is not a unit for mtsics: {_UNIT_HELP['mtsics']}")
        elif protocol == "toledo8217":
            if value not in ("kg", "lb"):
                given = "missing" if value is None else f"{value!r} is not a unit for toledo8217"
                raise ValueError(f"{given}: {_UNIT_HELP['toledo8217']}")
        elif protocol is not None and value is not None:
            raise ValueError(f"{protocol} lines carry their own unit: remove unit")
        return value

    @field_validator("weight_format")
    @classmethod
    def _weight_format(cls, value: str | None, info: ValidationInfo) -> str | None:
        protocol = info.data.get("protocol")
        if value is not None and protocol is not None and protocol != "toledo8217":
            raise ValueError(f"only toledo8217 takes a weight_format, not {protocol}")
        if value is not None and not WEIGHT_FORMAT.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a weight format: digits as 0 around one point, like 00.000"
            )
        return value

    def parser(self) -> ScaleProtocol:
        """The protocol's pure parser, set up as the profile says."""
        match self.protocol:
            case "mtsics":
                return MtSics(unit=self.unit or "g")
            case "toledo8217":
                unit: Literal["kg", "lb"] = "lb" if self.unit == "lb" else "kg"
                return Toledo8217(unit=unit, weight_format=self.weight_format)
            case "indicator" | "and":
                return Continuous(variant=self.protocol)

    def serial(self, default: SerialSettings) -> SerialSettings:
        return SerialSettings(
            baudrate=self.baudrate or default.baudrate,
            bytesize=self.bytesize or default.bytesize,
            parity=self.parity or default.parity,
            stopbits=self.stopbits or default.stopbits,
        )


def build(slot: DeviceSlot, publisher: DevicePublisher) -> ScaleDevice:
    options = slot_options(ScaleOptions, slot)
    if not slot.path:
        raise ProfileError(f"device {slot.id!r}: a scale needs path = '/dev/serial/by-id/…'")
    protocol = options.parser()
    return ScaleDevice(
        path=Path(slot.path),
        protocol=protocol,
        serial_settings=options.serial(protocol.serial),
        publisher=publisher,
        acceptance=StableWeightFilter(options.stable_repeats, options.tolerance_grams),
        poll_interval=options.poll_interval,
    )


KIND = DriverKind(
    "scale",
    "drivers",
    build,
    "serial scales (MT-SICS, Toledo 8217, continuous)",
    publishes=("weight",),
)
