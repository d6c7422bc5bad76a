"""The capture thread keeps only the newest frame; sources open, end, vanish and come back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from drivers.camera import (
    CameraSource,
    FrameGrabber,
    ImageFolderSource,
    LatestFrame,
    SourceError,
    UnreadableFrame,
    VideoFileSource,
    open_source,
)
from drivers.camera.frames import Frame
from drivers.sim.camera import write_image_folder, write_video
from drivers.sim.labels import dock_background


def numbered(i: int) -> Frame:
    return np.array([i & 0xFF, i >> 8], dtype=np.uint8)


def number_of(frame: Frame) -> int:
    return int(frame[0]) + 256 * int(frame[1])


class CountingSource:
    """Frames numbered 0, 1, 2, … as fast as asked (a camera faster than the decoder)."""

    description = "counting source"
    frame_interval = 0.001

    def __init__(self) -> None:
        self.next = 0

    def open(self) -> None:
        pass

    def read(self) -> Frame:
        frame = numbered(self.next)
        self.next += 1
        return frame

    def close(self) -> None:
        pass


def test_the_slot_hands_out_the_newest_frame_and_counts_the_rest() -> None:
    slot = LatestFrame()
    for i in range(1, 4):
        slot.put(numbered(i))
    taken = slot.take_newer(0, timeout=0)
    assert taken is not None and taken[0] == 3 and number_of(taken[1]) == 3
    assert slot.dropped == 2
    assert slot.take_newer(3, timeout=0.01) is None  # nothing newer yet
    slot.put(numbered(4))
    assert slot.dropped == 2  # frame 3 had been taken


def test_a_slow_decoder_never_works_through_a_backlog() -> None:
    slot = LatestFrame()
    grabber = FrameGrabber(CountingSource(), slot, lambda state, reason: None)
    grabber.start()
    try:
        seq, taken_numbers = 0, []
        for _ in range(5):
            time.sleep(0.05)  # decoding takes a while
            captured_before = grabber.captured
            taken = slot.take_newer(seq, timeout=1.0)
            assert taken is not None
            seq = taken[0]
            taken_numbers.append(number_of(taken[1]))
            assert number_of(taken[1]) >= captured_before - 1, "got a stale frame"
    finally:
        grabber.stop()
        slot.close()
        grabber.join(2)
    assert taken_numbers == sorted(set(taken_numbers))
    assert slot.dropped > 0
    assert grabber.captured > len(taken_numbers) * 5


def test_stop_wakes_a_waiting_decoder() -> None:
    slot = LatestFrame()
    result: list[object] = []
    waiter = threading.Thread(target=lambda: result.append(slot.take_newer(0, timeout=10)))
    waiter.start()
    time.sleep(0.05)
    slot.close()
    waiter.join(2)
    assert result == [None]


def test_image_folder_plays_in_name_order_and_skips_garbage(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    frames = [dock_background(64, 48, rng) for _ in range(3)]
    write_image_folder(frames, tmp_path / "rec")
    (tmp_path / "rec" / "frame-00001.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "rec" / "notes.txt").write_text("not an image")
    source = open_source(tmp_path / "rec", fps=50)
    assert isinstance(source, ImageFolderSource)
    source.open()
    first = source.read()
    assert first is not None and np.array_equal(first, frames[0])
    with pytest.raises(UnreadableFrame):
        source.read()
    last = source.read()
    assert last is not None and first.shape == last.shape and last.shape == (48, 64, 3)
    assert source.read() is None  # the recording ended


def test_video_file_plays_at_its_frame_rate(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    assert write_video([dock_background(160, 120, rng) for _ in range(4)], tmp_path / "a.avi", 8)
    source = open_source(tmp_path / "a.avi")
    assert isinstance(source, VideoFileSource)
    source.open()
    assert source.frame_interval == pytest.approx(1 / 8)
    frames = [source.read() for _ in range(5)]
    source.close()
    assert [f is None for f in frames] == [False] * 4 + [True]
    assert frames[0] is not None and frames[0].shape == (120, 160, 3)


def test_missing_sources_say_why(tmp_path: Path) -> None:
    for source in (
        open_source(tmp_path / "none"),
        open_source(tmp_path / "none.avi"),
        open_source(str(tmp_path / "dev-v4l-missing")),
        CameraSource(str(tmp_path / "video-index0")),
    ):
        with pytest.raises(SourceError, match="does not exist"):
            source.open()
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no images"):
        open_source(tmp_path / "empty").open()
    (tmp_path / "broken.avi").write_bytes(b"RIFF nonsense")
    with pytest.raises(SourceError, match="cannot open"):
        open_source(tmp_path / "broken.avi").open()


def test_device_sources_are_recognised() -> None:
    assert isinstance(open_source(0), CameraSource)
    assert isinstance(open_source("2"), CameraSource)
    assert isinstance(open_source("/dev/v4l/by-id/usb-Cam-video-index0"), CameraSource)


def test_grabber_goes_offline_and_back_as_the_folder_comes_and_goes(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    states: list[tuple[str, str]] = []
    slot = LatestFrame()
    grabber = FrameGrabber(
        ImageFolderSource(folder, fps=20),
        slot,
        lambda s, r: states.append((s, r)),
        reopen_interval=0.05,
    )
    rng = np.random.default_rng(5)
    frames = [dock_background(64, 48, rng) for _ in range(200)]
    grabber.start()
    try:
        wait_for(lambda: bool(states) and states[-1][0] == "offline")
        write_image_folder(frames, folder)
        wait_for(lambda: states[-1][0] == "online" and slot.latest() is not None)
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
        wait_for(lambda: states[-1][0] == "offline")
        assert slot.latest() is None  # a vanished source leaves no stale picture behind
        write_image_folder(frames[:3], folder)
        wait_for(lambda: any(s == "online" for s, _ in states[3:]))
    finally:
        grabber.stop()
        grabber.join(2)
    assert [s for s, _ in states[:4]] == ["offline", "online", "offline", "online"]
    assert "does not exist" in states[0][1]
    assert "disappeared" in states[2][1] or "does not exist" in states[2][1]


def play_three_frames(folder: Path, *, loop: bool) -> list[tuple[str, str]]:
    """States seen while a 3-frame recording is read 7 times over."""
    write_image_folder(
        [dock_background(64, 48, np.random.default_rng(6)) for _ in range(3)], folder
    )
    states: list[tuple[str, str]] = []
    grabber = FrameGrabber(
        ImageFolderSource(folder, fps=100),
        LatestFrame(),
        lambda s, r: states.append((s, r)),
        reopen_interval=0.05,
        loop_recording=loop,
    )
    grabber.start()
    try:
        wait_for(lambda: grabber.captured >= 7)
    finally:
        grabber.stop()
        grabber.join(2)
    return states


def test_a_recording_that_ends_goes_offline_then_replays(tmp_path: Path) -> None:
    states = play_three_frames(tmp_path / "rec", loop=False)
    assert states[:3] == [
        ("online", f"image folder {tmp_path / 'rec'}"),
        ("offline", "recording ended"),
        ("online", f"image folder {tmp_path / 'rec'}"),
    ]


def test_a_looping_recording_stays_online(tmp_path: Path) -> None:
    states = play_three_frames(tmp_path / "rec", loop=True)
    assert [s for s, _ in states] == ["online"] * len(states)


def wait_for(condition: object, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    assert callable(condition)
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
