"""A camera over the dock: capture thread, decode pipeline, repeat filter, evidence photos.

The thin shell around the pure pipeline. Decoded codes go to `on_output` as `ScannedCode`s, the
same objects a scanner produces; `on_status` hears online / offline with a reason. Callbacks run
on the event loop; capture and decoding run on threads so the loop never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drivers.camera.capture import FrameGrabber, LatestFrame
from drivers.camera.decode import (
    DEFAULT_BLUR_THRESHOLD,
    DEFAULT_READERS,
    DecodePipeline,
    FrameDecode,
    Strategy,
)
from drivers.camera.frames import Roi
from drivers.camera.photo import BlobSink, EvidencePhoto, store_photo
from drivers.camera.repeats import RepeatFilter
from drivers.camera.sources import FrameSource, open_source
from drivers.codes import ScannedCode

log = logging.getLogger(__name__)

StatusCallback = Callable[[str, str], None]  # (state, reason)


class CameraError(Exception):
    """An evidence photo could not be taken; the message says why."""


@dataclass
class CameraStats:
    """Counters for metrics (edge_camera_…_total)."""

    frames_decoded: int = 0
    frames_blurry: int = 0
    codes_published: int = 0
    codes_repeated: int = 0  # suppressed by the repeat window
    frames_captured: int = 0
    frames_dropped: int = 0  # replaced by a newer frame before the decoder got to them
    frames_unreadable: int = 0
    last_sharpness: float = 0.0


@dataclass
class CameraDriver:
    source: FrameSource
    on_output: Callable[[ScannedCode], None]
    on_status: StatusCallback
    pipeline: DecodePipeline = field(default_factory=DecodePipeline)
    dedupe_window: float = 2.0  # seconds a code must be out of sight before it is read again
    blobs: BlobSink | None = None
    jpeg_quality: int = 90
    reopen_interval: float = 1.0
    loop_recording: bool = False  # a recording restarts instead of going offline at its end
    clock: Callable[[], float] = time.monotonic
    stats: CameraStats = field(default_factory=CameraStats)
    _slot: LatestFrame = field(default_factory=LatestFrame)
    _grabber: FrameGrabber | None = None
    _repeats: RepeatFilter = field(init=False)
    _stopped: asyncio.Event = field(default_factory=asyncio.Event)
    _state: str = ""

    def __post_init__(self) -> None:
        self._repeats = RepeatFilter(self.dedupe_window)

    @classmethod
    def from_profile(
        cls,
        entry: Mapping[str, Any],
        *,
        on_output: Callable[[ScannedCode], None],
        on_status: StatusCallback,
        blobs: BlobSink | None = None,
    ) -> CameraDriver:
        """From a profile's `[devices.<name>]` table with kind = "camera" (docs/camera.md)."""
        roi = entry.get("roi")
        strategy: Strategy = entry.get("strategy", "fallback")
        pipeline = DecodePipeline(
            roi=Roi.from_list(roi) if roi else None,
            blur_threshold=float(entry.get("blur_threshold", DEFAULT_BLUR_THRESHOLD)),
            readers=tuple(entry.get("readers", DEFAULT_READERS)),
            strategy=strategy,
        )
        source = open_source(
            entry["source"],
            fps=entry.get("fps"),
            width=entry.get("width"),
            height=entry.get("height"),
            fourcc=entry.get("fourcc", "MJPG"),
        )
        return cls(
            source=source,
            on_output=on_output,
            on_status=on_status,
            pipeline=pipeline,
            dedupe_window=float(entry.get("dedupe_seconds", 2.0)),
            blobs=blobs,
            jpeg_quality=int(entry.get("jpeg_quality", 90)),
            loop_recording=bool(entry.get("loop", False)),
        )

    async def run(self) -> None:
        """Until stop(): capture on a thread, decode the newest frame, publish new codes."""
        loop = asyncio.get_running_loop()

        def from_capture_thread(state: str, reason: str) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed at shutdown
                loop.call_soon_threadsafe(self._status, state, reason)

        self._grabber = FrameGrabber(
            self.source,
            self._slot,
            from_capture_thread,
            reopen_interval=self.reopen_interval,
            loop_recording=self.loop_recording,
        )
        self._grabber.start()
        try:
            seq = 0
            while not self._stopped.is_set():
                taken = await asyncio.to_thread(self._slot.take_newer, seq, 0.5)
                if taken is None:
                    continue
                seq, frame = taken
                result = await asyncio.to_thread(self.pipeline.process, frame)
                self._deliver(result)
        finally:
            self._grabber.stop()
            self._slot.close()
            await asyncio.to_thread(self._grabber.join, 5.0)

    def stop(self) -> None:
        self._stopped.set()
        self._slot.close()
        if self._grabber is not None:
            self._grabber.stop()

    async def capture_photo(self) -> EvidencePhoto:
        """The current frame as a JPEG in the blob store: (sha256, width, height)."""
        if self.blobs is None:
            raise CameraError("no blob store is configured for evidence photos")
        frame = self._slot.latest()
        if frame is None:
            raise CameraError("no current frame: the camera is offline")
        photo = await asyncio.to_thread(store_photo, frame, self.blobs, self.jpeg_quality)
        log.info(
            "camera photo sha256=%s width=%d height=%d", photo.sha256, photo.width, photo.height
        )
        return photo

    # -- internals --

    def _status(self, state: str, reason: str) -> None:
        if state != self._state:
            self._state = state
            log.info(
                "camera status source=%s state=%s reason=%s", self.source.description, state, reason
            )
            self.on_status(state, reason)

    def _deliver(self, result: FrameDecode) -> None:
        stats = self.stats
        stats.last_sharpness = result.sharpness
        if self._grabber is not None:
            stats.frames_captured = self._grabber.captured
            stats.frames_unreadable = self._grabber.unreadable
        stats.frames_dropped = self._slot.dropped
        if result.blurry:
            stats.frames_blurry += 1
            return
        stats.frames_decoded += 1
        now = self.clock()
        for decoded in result.codes:
            if self._repeats.admit(decoded.code.code, now):
                stats.codes_published += 1
                self.on_output(decoded.code)
            else:
                stats.codes_repeated += 1
