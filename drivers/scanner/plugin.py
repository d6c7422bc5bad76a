"""The scanner as a station device: every decoded read becomes a custody `scan` reading.

A read the timing says was typed by a person is still published (never lost) but marked
`source: "keyboard"`, so a workflow can ask for confirmation instead of trusting it. A read that
is not a trustworthy code (dropped events, noise, an overlong line) is never published as a
code: it is counted and shown in the device's status detail.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field

from drivers.codes import ScannedCode
from drivers.profile import DeviceSlot, ProfileError, slot_options
from drivers.publisher import DevicePublisher
from drivers.registry import DriverKind
from drivers.scanner.evdev_driver import WedgeScanner
from drivers.scanner.output import ScanError, ScannerEvent, ScannerOutput
from drivers.scanner.profile import ScannerProfile, make_scanner
from drivers.scanner.serial_driver import SerialScanner
from edge.bus.payloads import Scan, now

log = logging.getLogger(__name__)


def scan_payload(code: ScannedCode, source: str, seq: int) -> bytes:
    return Scan(
        code=code.code,
        symbology=code.symbology,
        aim=code.aim,
        raw_b64=base64.b64encode(code.raw).decode(),
        ts=now(),
        seq=seq,
        gs1=code.gs1,
        imei=code.imei,
        source=source,
    ).to_bytes()


@dataclass
class ScannerDevice:
    slot: DeviceSlot
    publisher: DevicePublisher
    driver: WedgeScanner | SerialScanner = field(init=False)
    read_errors: int = 0
    last_error: str = ""
    _state: tuple[str, str] = ("offline", "starting")

    def __post_init__(self) -> None:
        entry = slot_options(ScannerProfile, self.slot, path=self.slot.path)
        self.driver = make_scanner(entry, self.on_output, self.on_status)

    async def run(self) -> None:
        await self.driver.run()

    def stop(self) -> None:
        self.driver.stop()

    def on_output(self, event: ScannerEvent) -> None:
        if isinstance(event, ScannerOutput):
            source = "scanner" if event.kind == "scanner" else "keyboard"
            code = event.code
            self.publisher.custody("scan", lambda seq: scan_payload(code, source, seq))
            return
        self._read_error(event)

    def _read_error(self, error: ScanError) -> None:
        self.read_errors += 1
        self.last_error = error.reason
        log.warning("unusable read device=%s reason=%s", self.slot.id, error.reason)
        self._publish_status()

    def on_status(self, state: str, reason: str) -> None:
        self._state = (state, reason)
        self._publish_status()

    def _publish_status(self) -> None:
        state, reason = self._state
        self.publisher.status(
            state,
            reason,
            path=str(self.slot.path),
            read_errors=self.read_errors,
            last_read_error=self.last_error,
        )


def build(slot: DeviceSlot, publisher: DevicePublisher) -> ScannerDevice:
    if not slot.path:
        raise ProfileError(
            f"device {slot.id!r}: a scanner needs path = '/dev/input/by-id/…' or "
            "'/dev/serial/by-id/…'"
        )
    return ScannerDevice(slot, publisher)


KIND = DriverKind(
    "scanner",
    "drivers",
    build,
    "barcode scanners (keyboard wedge, serial)",
    publishes=("scan",),
)
