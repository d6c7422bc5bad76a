"""The cradle as a station device: phone reports become custody `diag` readings.

The cradle's retained status carries the phone in it, so the bench screen shows the
technician what to do ("Unlock the phone and tap Trust") without a topic of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drivers.cradle.clean import clean_text, clean_values
from drivers.cradle.driver import CradleDriver
from drivers.cradle.profile import CradleProfile
from drivers.cradle.report import CradleOutput, DeviceReport, DeviceStatus
from drivers.profile import DeviceSlot, slot_options
from drivers.publisher import DevicePublisher
from drivers.registry import DriverKind
from edge.bus.payloads import Diag, now

# Phone states that need the technician's hand on the phone, not just patience.
NEEDS_TECHNICIAN = {"unauthorized", "untrusted", "no_permissions", "other_mode", "error"}


def _fact(fact: Any) -> Any:
    return None if fact is None or fact.value is None else clean_text(str(fact.value))


def diag_payload(report: DeviceReport, seq: int) -> bytes:
    battery = report.battery
    health = None
    if battery is not None:
        if battery.health_percent is not None:
            health = f"{battery.health_percent.value:.0f}%"
        elif battery.health is not None:
            health = str(battery.health.value)
    return Diag(
        ts=now(),
        seq=seq,
        platform=report.platform,
        imei=report.imei.value,
        serial=_fact(report.serial_number),
        model=_fact(report.model),
        battery_health=None if health is None else clean_text(health),
        lock=clean_values(
            {
                "state": report.lock.state,
                "method": report.lock.method,
                "confidence": report.lock.confidence,
                "reason": report.lock.reason,
            }
        ),
        fields=clean_values(report.as_dict()),
    ).to_bytes()


@dataclass
class CradleDevice:
    profile: CradleProfile
    publisher: DevicePublisher
    driver: CradleDriver = field(init=False)
    _own_state: tuple[str, str] = ("offline", "starting")
    _phones: dict[str, DeviceStatus] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.driver = CradleDriver(self.profile, self.on_output, self.on_status)

    async def run(self) -> None:
        await self.driver.run()

    def stop(self) -> None:
        self.driver.stop()

    def on_output(self, output: CradleOutput) -> None:
        if isinstance(output, DeviceReport):
            self.publisher.custody("diag", lambda seq: diag_payload(output, seq))
            return
        if output.state == "gone":
            self._phones.pop(output.device_id, None)
        else:
            self._phones[output.device_id] = output
        self._publish_status()

    def on_status(self, state: str, reason: str) -> None:
        self._own_state = (state, reason)
        self._publish_status()

    def _publish_status(self) -> None:
        state, reason = self._own_state
        waiting = [p for p in self._phones.values() if p.state in NEEDS_TECHNICIAN]
        if state == "degraded":
            state = "attention"
        if waiting and state == "online":
            state, reason = "attention", waiting[0].message
        self.publisher.status(
            state, reason, phones=[phone.as_dict() for phone in self._phones.values()]
        )


def build(slot: DeviceSlot, publisher: DevicePublisher) -> CradleDevice:
    return CradleDevice(slot_options(CradleProfile, slot, kind=slot.kind), publisher)


KIND = DriverKind(
    "cradle",
    "drivers",
    build,
    "phone diagnostic cradle (adb, libimobiledevice)",
    publishes=("diag",),
)
