"""The camera as a station device: profile slot in, scans, photos and status out on the bus.

Every new code is a custody `scan` (outbox, QoS 1, the device's seq) with `source="camera"`,
the same payload a scanner's read becomes. The `photo` command stores the current frame as a
JPEG in the station's blob store and publishes a custody `photo` with its sha256.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.camera.driver import CameraDriver, CameraError
from drivers.camera.readers import READERS
from drivers.codes import ScannedCode
from drivers.profile import DeviceSlot, ProfileError
from drivers.publisher import CommandFailed, CommandResult, DevicePublisher
from drivers.registry import DriverKind
from edge.bus.payloads import Command, Photo, Scan, now
from edge.journal.blobs import BlobStore
from edge.settings import StationSettings

log = logging.getLogger(__name__)


def scan_payload(code: ScannedCode, seq: int) -> bytes:
    return Scan(
        code=code.code,
        symbology=code.symbology,
        aim=code.aim,
        raw_b64=base64.b64encode(code.raw).decode("ascii"),
        ts=now(),
        seq=seq,
        gs1=code.gs1,
        imei=code.imei,
        source="camera",
    ).to_bytes()


@dataclass
class CameraDevice:
    publisher: DevicePublisher
    options: Mapping[str, Any]
    blobs: BlobStore
    driver: CameraDriver = field(init=False)

    def __post_init__(self) -> None:
        self.driver = CameraDriver.from_profile(
            self.options, on_output=self.on_output, on_status=self.on_status, blobs=self.blobs
        )
        self.publisher.on_command("photo", self.photo)

    async def run(self) -> None:
        await self.driver.run()

    def stop(self) -> None:
        self.driver.stop()

    def on_output(self, code: ScannedCode) -> None:
        self.publisher.custody("scan", lambda seq: scan_payload(code, seq))

    def on_status(self, state: str, reason: str) -> None:
        stats = self.driver.stats
        self.publisher.status(
            state,
            reason,
            source=self.driver.source.description,
            frames_captured=stats.frames_captured,
            frames_decoded=stats.frames_decoded,
            frames_blurry=stats.frames_blurry,
            frames_dropped=stats.frames_dropped,
            frames_unreadable=stats.frames_unreadable,
            codes_published=stats.codes_published,
        )

    async def photo(self, command: Command) -> CommandResult:
        try:
            taken = await self.driver.capture_photo()
        except CameraError as exc:
            raise CommandFailed(str(exc)) from None
        self.publisher.custody(
            "photo",
            lambda seq: Photo(
                sha256=taken.sha256,
                width=taken.width,
                height=taken.height,
                ts=now(),
                seq=seq,
                request_id=command.request_id,
            ).to_bytes(),
        )
        return {"sha256": taken.sha256, "width": taken.width, "height": taken.height}


def build(slot: DeviceSlot, publisher: DevicePublisher) -> CameraDevice:
    options = slot.options
    source = options.get("source", slot.path)
    if source is None or source == "":
        raise ProfileError(
            f"device {slot.id!r}: a camera needs source = '/dev/v4l/by-id/…-video-index0' "
            "(or a video file / image folder to replay)"
        )
    readers = options.get("readers", list(READERS))
    if not isinstance(readers, list) or not readers or any(r not in READERS for r in readers):
        raise ProfileError(f"device {slot.id!r}: readers must be some of {sorted(READERS)}")
    if options.get("strategy", "fallback") not in ("fallback", "all"):
        raise ProfileError(f"device {slot.id!r}: strategy is 'fallback' or 'all'")
    data_dir = publisher.data_dir or StationSettings.from_env().data_dir
    blob_dir = options.get("blob_dir") or data_dir / "blobs"
    try:
        return CameraDevice(publisher, {**options, "source": source}, BlobStore(Path(blob_dir)))
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"device {slot.id!r}: {exc}") from None


KIND = DriverKind(
    "camera",
    "camera",
    build,
    "camera: QR, Data Matrix, GS1, linear codes; photos",
    publishes=("scan", "photo"),
)
