"""Where frames come from: a V4L2 camera, or a recording (video file, image folder) to replay."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from drivers.camera.frames import Frame

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".avi", ".mp4", ".mkv", ".mov", ".mjpeg", ".mjpg", ".webm"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


class SourceError(Exception):
    """The source cannot be opened or was lost (unplugged, deleted); the message says why."""


class UnreadableFrame(Exception):
    """One frame could not be decoded as an image; the source goes on."""


class FrameSource(Protocol):
    """Opened and read by the capture thread only."""

    @property
    def description(self) -> str: ...

    @property
    def frame_interval(self) -> float:
        """Seconds between frames when replaying a recording; 0 for a live camera."""
        ...

    def open(self) -> None: ...

    def read(self) -> Frame | None:
        """The next frame; None when a recording ended. Raises SourceError when lost."""
        ...

    def close(self) -> None: ...


class CameraSource:
    """A V4L2 camera by index or by stable path (/dev/v4l/by-id/…-video-index0)."""

    def __init__(
        self,
        device: int | str,
        *,
        width: int | None = None,
        height: int | None = None,
        fourcc: str | None = "MJPG",  # USB cameras give 1280x720 at full rate only as MJPG
    ) -> None:
        self.device = device
        self.width = width
        self.height = height
        self.fourcc = fourcc
        self._capture: cv2.VideoCapture | None = None

    @property
    def description(self) -> str:
        return f"camera {self.device}"

    @property
    def frame_interval(self) -> float:
        return 0.0

    def open(self) -> None:
        if isinstance(self.device, str) and not Path(self.device).exists():
            raise SourceError(f"{self.device} does not exist: camera unplugged?")
        capture = cv2.VideoCapture(self.device, cv2.CAP_V4L2)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open camera {self.device}")
        if self.fourcc:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*self.fourcc))
        if self.width and self.height:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the driver wants the newest frame, not a queue
        self._capture = capture

    def read(self) -> Frame:
        if self._capture is None:
            raise SourceError("camera not open")
        ok, frame = self._capture.read()
        if not ok or frame is None:
            raise SourceError(f"no frame from camera {self.device}: unplugged?")
        return np.asarray(frame, dtype=np.uint8)

    def close(self) -> None:
        if self._capture is not None:
            with contextlib.suppress(cv2.error):
                self._capture.release()
            self._capture = None


class VideoFileSource:
    """A recorded video replayed at its own frame rate (or `fps`)."""

    def __init__(self, path: Path, *, fps: float | None = None) -> None:
        self.path = path
        self.fps = fps
        self._capture: cv2.VideoCapture | None = None
        self._interval = 0.0

    @property
    def description(self) -> str:
        return f"video file {self.path}"

    @property
    def frame_interval(self) -> float:
        return self._interval

    def open(self) -> None:
        if not self.path.is_file():
            raise SourceError(f"video file {self.path} does not exist")
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open video file {self.path}")
        fps = self.fps or capture.get(cv2.CAP_PROP_FPS) or 10.0
        self._interval = 1.0 / fps
        self._capture = capture

    def read(self) -> Frame | None:
        if self._capture is None:
            raise SourceError("video file not open")
        ok, frame = self._capture.read()
        if not ok or frame is None:
            if not self.path.is_file():
                raise SourceError(f"video file {self.path} disappeared")
            return None
        return np.asarray(frame, dtype=np.uint8)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class ImageFolderSource:
    """Every image in a folder, in name order, at `fps`; unreadable files are skipped."""

    def __init__(self, folder: Path, *, fps: float = 5.0) -> None:
        self.folder = folder
        self.fps = fps
        self._files: list[Path] = []
        self._next = 0

    @property
    def description(self) -> str:
        return f"image folder {self.folder}"

    @property
    def frame_interval(self) -> float:
        return 1.0 / self.fps

    def open(self) -> None:
        if not self.folder.is_dir():
            raise SourceError(f"image folder {self.folder} does not exist")
        self._files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise SourceError(f"no images in {self.folder}")
        self._next = 0

    def read(self) -> Frame | None:
        if self._next >= len(self._files):
            return None
        path = self._files[self._next]
        self._next += 1
        if not self.folder.is_dir():
            raise SourceError(f"image folder {self.folder} disappeared")
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            if not path.exists():
                raise SourceError(f"image {path} disappeared")
            raise UnreadableFrame(f"{path} is not a readable image")
        return np.asarray(frame, dtype=np.uint8)

    def close(self) -> None:
        self._files = []


def open_source(
    source: int | str | Path,
    *,
    fps: float | None = None,
    width: int | None = None,
    height: int | None = None,
    fourcc: str | None = "MJPG",
) -> FrameSource:
    """A profile's `source`: a device index or /dev path, a video file, or an image folder."""
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        return CameraSource(int(source), width=width, height=height, fourcc=fourcc)
    path = Path(source)
    if str(path).startswith("/dev/"):
        return CameraSource(str(path), width=width, height=height, fourcc=fourcc)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoFileSource(path, fps=fps)
    return ImageFolderSource(path, fps=fps or 5.0)
