"""The capture thread and its one-frame slot: a slow decoder always gets the newest frame."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from drivers.camera.frames import Frame
from drivers.camera.sources import FrameSource, SourceError, UnreadableFrame

log = logging.getLogger(__name__)

StateCallback = Callable[[str, str], None]  # (state, reason), called on the capture thread


class LatestFrame:
    """Holds one frame; a new one replaces it, so nobody ever works through a backlog."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._frame: Frame | None = None
        self._seq = 0
        self._taken = 0
        self._closed = False
        self.dropped = 0  # frames replaced before anyone took them

    def put(self, frame: Frame) -> None:
        with self._changed:
            if self._frame is not None and self._taken != self._seq:
                self.dropped += 1
            self._seq += 1
            self._frame = frame
            self._changed.notify_all()

    def clear(self) -> None:
        """Forget the frame (the source went away: it no longer shows the dock)."""
        with self._changed:
            self._frame = None

    def latest(self) -> Frame | None:
        """The current frame without taking it (for an evidence photo)."""
        with self._changed:
            return self._frame

    def take_newer(self, after: int, timeout: float) -> tuple[int, Frame] | None:
        """The newest frame with a sequence number above `after`, waiting up to `timeout` s."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._closed or (self._frame is not None and self._seq > after), timeout
            )
            if self._closed or self._frame is None or self._seq <= after:
                return None
            self._taken = self._seq
            return self._seq, self._frame

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()


class FrameGrabber:
    """Reads a source on its own thread into a `LatestFrame`; reopens it after a loss."""

    def __init__(
        self,
        source: FrameSource,
        slot: LatestFrame,
        on_state: StateCallback,
        *,
        reopen_interval: float = 1.0,
        loop_recording: bool = False,
    ) -> None:
        self.source = source
        self.slot = slot
        self.on_state = on_state
        self.reopen_interval = reopen_interval
        self.loop_recording = loop_recording
        self.captured = 0
        self.unreadable = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="camera-capture", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.source.open()
            except SourceError as exc:
                self.on_state("offline", str(exc))
                self._stop.wait(self.reopen_interval)
                continue
            except Exception as exc:  # a broken backend must not kill the thread silently
                log.exception("camera open failed source=%s", self.source.description)
                self.on_state("offline", f"cannot open {self.source.description}: {exc}")
                self._stop.wait(self.reopen_interval)
                continue
            self.on_state("online", self.source.description)
            try:
                reason = self._stream()
            except Exception as exc:
                log.exception("camera read failed source=%s", self.source.description)
                reason = f"read failed: {exc}"
            finally:
                self.source.close()
            if reason is None:
                return
            if reason == _ENDED and self.loop_recording:
                continue
            self.slot.clear()  # an offline camera shows nothing: no stale evidence photo
            self.on_state("offline", reason)
            self._stop.wait(self.reopen_interval)

    def _stream(self) -> str | None:
        """Frames into the slot until stopped (None) or the source ends or is lost (why)."""
        due = time.monotonic()
        while not self._stop.is_set():
            try:
                frame = self.source.read()
            except UnreadableFrame as exc:
                self.unreadable += 1
                log.warning("camera frame unreadable reason=%s", exc)
                continue
            except SourceError as exc:
                return str(exc)
            if frame is None:
                return _ENDED
            self.slot.put(frame)
            self.captured += 1
            interval = self.source.frame_interval
            if interval > 0:  # a recording plays at its frame rate, as a camera would deliver
                due += interval
                delay = due - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    due = time.monotonic()
        return None


_ENDED = "recording ended"
