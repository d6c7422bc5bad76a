"""Recordings a simulated dock camera plays: image folders and MJPG videos of label scenes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from drivers.sim.labels import SCENE_SIZE, Image, LabelCode, dock_background, render_scene


def write_image_folder(frames: Iterable[Image], folder: Path, suffix: str = ".png") -> list[Path]:
    """frame-00000.png, frame-00001.png, … in `folder` (created); the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for i, frame in enumerate(frames):
        path = folder / f"frame-{i:05d}{suffix}"
        if not cv2.imwrite(str(path), frame):
            raise OSError(f"cannot write {path}")
        paths.append(path)
    return paths


def write_video(frames: Iterable[Image], path: Path, fps: float = 10.0) -> int:
    """An MJPG .avi of BGR frames all of one size; returns the number of frames written."""
    writer: cv2.VideoWriter | None = None
    count = 0
    try:
        for frame in frames:
            if writer is None:
                height, width = frame.shape[:2]
                fourcc = cv2.VideoWriter.fourcc(*"MJPG")
                writer = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
                if not writer.isOpened():
                    raise OSError(f"cannot write video {path}")
            writer.write(frame)
            count += 1
    finally:
        if writer is not None:
            writer.release()
    return count


def dock_session(
    labels: Sequence[Sequence[LabelCode]],
    rng: np.random.Generator,
    *,
    frames_per_label: int = 3,
    empty_between: int = 2,
    size: tuple[int, int] = SCENE_SIZE,
) -> list[Image]:
    """An empty dock, then each label lying still for a few frames, the dock empty in between."""
    width, height = size
    frames: list[Image] = [dock_background(width, height, rng) for _ in range(empty_between)]
    for codes in labels:
        scene = render_scene(codes, rng, size=size)
        frames.extend(scene.image.copy() for _ in range(frames_per_label))
        frames.extend(dock_background(width, height, rng) for _ in range(empty_between))
    return frames
