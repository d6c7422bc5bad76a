"""The camera slot on the bus: scans and photos become custody payloads like a scanner's."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from drivers.camera.plugin import KIND, CameraDevice, build
from drivers.profile import DeviceSlot, ProfileError
from drivers.publisher import CommandFailed
from drivers.sim.camera import write_image_folder
from drivers.sim.labels import LabelCode, render_scene
from edge.bus.payloads import Command, Photo, Scan
from edge.journal.blobs import BlobStore

DATAMATRIX = LabelCode.gs1_datamatrix(("01", "09506000134352"), ("21", "356938035643809"))


@dataclass
class FakePublisher:
    """Records what a DevicePublisher would have sent."""

    sent: list[tuple[str, bytes]] = field(default_factory=list)
    data_dir: Path | None = None
    sent_one: asyncio.Event = field(default_factory=asyncio.Event)
    statuses: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    commands: dict[str, Callable[[Command], Awaitable[dict[str, Any]]]] = field(
        default_factory=dict
    )

    def status(self, state: str, reason: str, **detail: Any) -> None:
        self.statuses.append((state, reason, detail))

    def on_command(
        self, verb: str, handler: Callable[[Command], Awaitable[dict[str, Any]]]
    ) -> None:
        self.commands[verb] = handler

    def custody(self, kind: str, payload_for_seq: Callable[[int], bytes]) -> None:
        self.sent.append((kind, payload_for_seq(len(self.sent) + 1)))
        self.sent_one.set()


def camera_slot(tmp_path: Path, **options: Any) -> DeviceSlot:
    return DeviceSlot.model_validate({"id": "dock-camera", "kind": "camera", **options})


def test_a_code_becomes_a_custody_scan_and_a_photo_a_custody_photo(tmp_path: Path) -> None:
    scene = render_scene([DATAMATRIX], np.random.default_rng(13))
    write_image_folder([scene.image], tmp_path / "rec")
    publisher = FakePublisher()
    slot = camera_slot(
        tmp_path, source=str(tmp_path / "rec"), loop=True, fps=10, blob_dir=str(tmp_path / "b")
    )
    device = build(slot, publisher)  # type: ignore[arg-type]
    assert isinstance(device, CameraDevice) and KIND.process == "camera"
    reply: dict[str, Any] = {}

    async def scenario() -> None:
        task = asyncio.create_task(device.run())
        await publisher.sent_one.wait()
        reply.update(await publisher.commands["photo"](Command(request_id="r-1")))
        device.stop()
        await task

    asyncio.run(asyncio.wait_for(scenario(), 30))
    kinds = [kind for kind, _ in publisher.sent]
    assert kinds == ["scan", "photo"]
    scan = Scan.model_validate_json(publisher.sent[0][1])
    assert scan.source == "camera"
    assert scan.code == DATAMATRIX.expected_code
    assert scan.gs1 == DATAMATRIX.expected_gs1
    assert scan.aim == "]d2"
    assert base64.b64decode(scan.raw_b64) == b"]d2" + DATAMATRIX.expected_code.encode()
    photo = Photo.model_validate_json(publisher.sent[1][1])
    assert (photo.sha256, photo.width, photo.height) == (reply["sha256"], 1280, 720)
    assert photo.request_id == "r-1"
    assert BlobStore(tmp_path / "b").matches(photo.sha256)
    assert publisher.statuses[0][0] == "online"


def test_photo_of_an_offline_camera_fails_with_a_reason(tmp_path: Path) -> None:
    publisher = FakePublisher()
    slot = camera_slot(tmp_path, source=str(tmp_path / "absent"), blob_dir=str(tmp_path / "b"))
    build(slot, publisher)  # type: ignore[arg-type]
    with pytest.raises(CommandFailed, match="offline"):
        asyncio.run(publisher.commands["photo"](Command(request_id="r-2")))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs source"),
        ({"source": "0", "readers": ["tesseract"]}, "readers"),
        ({"source": "0", "strategy": "vote"}, "strategy"),
        ({"source": "0", "roi": [0, 0, 0, 10]}, "region of interest"),
    ],
)
def test_profile_mistakes_are_refused(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProfileError, match=message):
        build(camera_slot(tmp_path, blob_dir=str(tmp_path / "b"), **options), FakePublisher())  # type: ignore[arg-type]
