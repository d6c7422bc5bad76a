"""A station profile's scanner entry → a configured driver.

[devices.dock_scanner]
kind = "scanner"
path = "/dev/input/by-id/usb-Honeywell_Imaging_1950g-event-kbd"
layout = "de"
terminator = "enter"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from drivers.scanner.decoder import Terminator
from drivers.scanner.evdev_driver import WedgeScanner
from drivers.scanner.layout import LayoutError, get_layout
from drivers.scanner.output import ScannerEvent
from drivers.scanner.serial_driver import SerialScanner
from drivers.scanner.shell import StatusCallback
from drivers.scanner.timing import SCANNER_MAX_GAP


class ScannerProfile(BaseModel):
    """One scanner in the station profile; unknown keys are refused, not ignored.

    From a `drivers.profile.DeviceSlot`: `{"path": slot.path, **slot.options}`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["scanner"] = "scanner"
    path: Path
    transport: Literal["evdev", "serial"] | None = None  # default: evdev under /dev/input
    layout: str = "us"  # keyboard wedge only
    terminator: Terminator = "enter"  # keyboard wedge only; serial lines end in CR/LF
    idle_gap: float = Field(0.08, gt=0, le=2)  # seconds
    scanner_max_gap: float = Field(SCANNER_MAX_GAP, gt=0, le=1)  # seconds
    max_length: int = Field(4096, ge=16, le=65536)
    baudrate: int = 9600  # serial only
    reopen_interval: float = Field(0.5, gt=0, le=60)  # seconds

    @field_validator("layout")
    @classmethod
    def _known_layout(cls, name: str) -> str:
        try:
            get_layout(name)
        except LayoutError as exc:  # names the built-in layouts
            raise ValueError(str(exc)) from None
        return name

    @property
    def is_evdev(self) -> bool:
        if self.transport is not None:
            return self.transport == "evdev"
        return self.path.is_relative_to("/dev/input")


def make_scanner(
    profile: ScannerProfile | Mapping[str, object],
    on_output: Callable[[ScannerEvent], None],
    on_status: StatusCallback,
) -> WedgeScanner | SerialScanner:
    """The driver for one profile entry, not yet running: `await driver.run()`, `driver.stop()`."""
    entry = ScannerProfile.model_validate(profile)
    if entry.is_evdev:
        return WedgeScanner(
            entry.path,
            on_output,
            on_status,
            reopen_interval=entry.reopen_interval,
            layout=entry.layout,
            terminator=entry.terminator,
            idle_gap=entry.idle_gap,
            scanner_max_gap=entry.scanner_max_gap,
            max_length=entry.max_length,
        )
    return SerialScanner(
        entry.path,
        on_output,
        on_status,
        reopen_interval=entry.reopen_interval,
        baudrate=entry.baudrate,
        max_length=entry.max_length,
    )
