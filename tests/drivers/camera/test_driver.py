"""The camera driver end to end on recordings: codes out like a scanner's, status, photos."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera import (
    CameraDriver,
    CameraError,
    DecodePipeline,
    ImageFolderSource,
    Roi,
    VideoFileSource,
    open_source,
)
from drivers.codes import ScannedCode
from drivers.sim.camera import dock_session, write_image_folder, write_video
from drivers.sim.labels import LabelCode, distort, render_scene
from edge.journal.blobs import BlobStore

QR = LabelCode.qr("https://returns.example/r/RET-2026-000991")
DATAMATRIX = LabelCode.gs1_datamatrix(("01", "09506000134352"), ("10", "LOT9"), ("21", "SN991"))
CODE128 = LabelCode.code128("RET-2026-000991")
NEVER_SHARP = LabelCode.qr("only-ever-seen-blurred")


@dataclass
class Seen:
    codes: list[ScannedCode] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)

    def status(self, state: str, reason: str) -> None:
        self.statuses.append((state, reason))


async def until(condition: Callable[[], bool], within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def session(rng: np.random.Generator) -> list[np.ndarray]:
    """Three labels, each lying still for a moment, one blurred frame, the dock empty between."""
    frames = dock_session([[QR], [DATAMATRIX], [CODE128]], rng, frames_per_label=5)
    blurred = distort(render_scene([NEVER_SHARP], rng).image, "blur", 3, rng)
    return [*frames[:3], blurred, blurred, *frames[3:]]


def play(driver: CameraDriver, seen: Seen, done: Callable[[], bool]) -> None:
    async def scenario() -> None:
        task = asyncio.create_task(driver.run())
        await until(done)
        driver.stop()
        await task

    asyncio.run(scenario())


@pytest.mark.parametrize("recording", ["image folder", "video file"])
def test_each_label_is_published_once_as_a_scanned_code(tmp_path: Path, recording: str) -> None:
    rng = np.random.default_rng(8)
    frames = session(rng)
    if recording == "image folder":
        write_image_folder(frames, tmp_path / "rec")
        (tmp_path / "rec" / "frame-00002.png").write_bytes(b"garbage, not a PNG")
        source = open_source(tmp_path / "rec", fps=10)
    else:
        write_video(frames, tmp_path / "rec.avi", fps=10)
        source = open_source(tmp_path / "rec.avi")
    seen = Seen()
    driver = CameraDriver(source, seen.codes.append, seen.status, dedupe_window=30)
    play(driver, seen, lambda: ("offline", "recording ended") in seen.statuses)

    assert [c.code for c in seen.codes] == [
        QR.expected_code,
        DATAMATRIX.expected_code,
        CODE128.expected_code,
    ]
    assert seen.codes[1].gs1 == DATAMATRIX.expected_gs1
    assert seen.codes[0].aim == "]Q1"
    assert seen.statuses[0][0] == "online"
    assert driver.stats.codes_published == 3
    assert driver.stats.codes_repeated >= 1  # the same label on following frames
    assert driver.stats.frames_blurry >= 1
    if recording == "image folder":
        assert driver.stats.frames_unreadable == 1


def test_region_of_interest_from_the_profile(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    scene = render_scene([QR, CODE128], rng)
    qr_at = scene.placements[0]
    write_image_folder([scene.image] * 3, tmp_path / "rec")
    seen = Seen()
    roi = [qr_at.x - 8, qr_at.y - 8, qr_at.width + 16, qr_at.height + 16]
    profile = {
        "kind": "camera",
        "source": str(tmp_path / "rec"),
        "roi": roi,
        "blur_threshold": 1.5,
        "dedupe_seconds": 5,
        "fps": 10,
    }
    driver = CameraDriver.from_profile(profile, on_output=seen.codes.append, on_status=seen.status)
    assert driver.pipeline.roi == Roi(*roi)
    assert driver.pipeline.blur_threshold == 1.5
    assert isinstance(driver.source, ImageFolderSource)
    play(driver, seen, lambda: ("offline", "recording ended") in seen.statuses)
    assert [c.code for c in seen.codes] == [QR.expected_code]  # the Code 128 is outside


def test_dedupe_window_follows_the_injected_clock(tmp_path: Path) -> None:
    rng = np.random.default_rng(10)
    write_image_folder([render_scene([QR], rng).image] * 6, tmp_path / "rec")
    now = [0.0]

    def clock() -> float:
        now[0] += 10.0  # every decoded frame is ten "seconds" after the last
        return now[0]

    seen = Seen()
    driver = CameraDriver(
        ImageFolderSource(tmp_path / "rec", fps=5),
        seen.codes.append,
        seen.status,
        dedupe_window=5.0,
        clock=clock,
    )
    play(driver, seen, lambda: ("offline", "recording ended") in seen.statuses)
    assert len(seen.codes) == driver.stats.frames_decoded >= 2
    assert driver.stats.codes_repeated == 0


def test_camera_unplugged_goes_offline_and_comes_back(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    frames = [render_scene([QR], rng).image] * 40
    folder = tmp_path / "rec"
    seen = Seen()
    driver = CameraDriver(
        ImageFolderSource(folder, fps=10), seen.codes.append, seen.status, reopen_interval=0.05
    )

    async def scenario() -> None:
        task = asyncio.create_task(driver.run())
        await until(
            lambda: seen.statuses[-1:] == [("offline", f"image folder {folder} does not exist")]
        )
        await asyncio.to_thread(write_image_folder, frames, folder)
        await until(lambda: bool(seen.codes))
        shutil.rmtree(folder)
        await until(lambda: seen.statuses[-1][0] == "offline")
        await asyncio.to_thread(write_image_folder, frames[:3], folder)
        await until(lambda: seen.statuses[-1][0] == "online")
        driver.stop()
        await task

    asyncio.run(scenario())
    assert [s for s, _ in seen.statuses[:4]] == ["offline", "online", "offline", "online"]
    assert [c.code for c in seen.codes][:1] == [QR.expected_code]


def test_evidence_photo_lands_in_the_blob_store(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    scene = render_scene([QR], rng)
    write_image_folder([scene.image], tmp_path / "rec")
    blobs = BlobStore(tmp_path / "blobs")
    seen = Seen()
    driver = CameraDriver(
        ImageFolderSource(tmp_path / "rec", fps=10),
        seen.codes.append,
        seen.status,
        blobs=blobs,
        jpeg_quality=85,
        loop_recording=True,
    )
    photos = []

    async def scenario() -> None:
        task = asyncio.create_task(driver.run())
        await until(lambda: driver.stats.frames_decoded >= 1)
        photos.append(await driver.capture_photo())
        driver.stop()
        await task

    asyncio.run(scenario())
    sha256, width, height = photos[0]
    stored = (tmp_path / "blobs" / sha256[:2] / sha256[2:]).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == sha256
    assert stored[:3] == b"\xff\xd8\xff"  # a JPEG
    decoded = cv2.imdecode(np.frombuffer(stored, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    picture = np.asarray(decoded, dtype=np.uint8)
    assert picture.shape == (720, 1280, 3)
    assert (width, height) == (1280, 720)
    # The photo shows the label the camera saw.
    assert [d.code.code for d in DecodePipeline().decode(picture)] == [QR.expected_code]


def test_no_photo_without_a_picture_or_a_store(tmp_path: Path) -> None:
    seen = Seen()
    offline = CameraDriver(
        VideoFileSource(tmp_path / "none.avi"),
        seen.codes.append,
        seen.status,
        blobs=BlobStore(tmp_path / "blobs"),
    )
    with pytest.raises(CameraError, match="offline"):
        asyncio.run(offline.capture_photo())
    storeless = CameraDriver(VideoFileSource(tmp_path / "none.avi"), seen.codes.append, seen.status)
    with pytest.raises(CameraError, match="blob store"):
        asyncio.run(storeless.capture_photo())
