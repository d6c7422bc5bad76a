"""The camera process through the bus: label images → `camera` host → Mosquitto → hub."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from drivers.host import DriverHost
from drivers.profile import parse_profile
from drivers.sim.camera import dock_session, write_image_folder
from drivers.sim.labels import LabelCode
from edge.bus.payloads import Command, Photo, Reply, Scan
from edge.journal.blobs import BlobStore
from tests.broker import RunningBroker
from tests.drivers.test_host import Hub, run, until

RETURN_QR = LabelCode.qr("RET-2026-000777")
DEVICE_DM = LabelCode.gs1_datamatrix(("01", "09506000134352"), ("21", "356938035643809"))


def test_camera_scans_and_evidence_photo_reach_the_hub(
    broker: RunningBroker, tmp_path: Path
) -> None:
    frames = dock_session([[RETURN_QR], [DEVICE_DM]], np.random.default_rng(5))
    write_image_folder(frames, tmp_path / "recording")
    data = tmp_path / "station"
    profile = parse_profile(
        {
            "station": {"site": "ams-1", "station": "dock-1"},
            "devices": {
                "dock-camera": {"kind": "camera", "source": str(tmp_path / "recording"), "fps": 10},
                "dock-scale": {"kind": "scale", "path": "/nonexistent", "protocol": "mtsics"},
            },
        }
    )

    async def scenario() -> None:
        hub = Hub(broker)
        await hub.start()
        host = DriverHost(profile, "camera", broker.config("camera"), data / "outbox-camera.sqlite")
        stop = asyncio.Event()
        running = asyncio.create_task(host.run(stop))
        await until(lambda: len(hub.of(Scan)) >= 2, 30)
        assert [h.slot.id for h in host.hosted] == ["dock-camera"]  # the scale is not its job
        scans = hub.of(Scan)
        assert [s.code for s in scans] == [RETURN_QR.expected_code, DEVICE_DM.expected_code]
        assert all(s.source == "camera" for s in scans) and [s.seq for s in scans] == [1, 2]
        assert scans[1].gs1 == DEVICE_DM.expected_gs1
        hub.client.publish(
            broker.topics.command("dock-camera", "photo"),
            Command(request_id="ev-1").to_bytes(),
            qos=1,
        )
        await until(lambda: bool(hub.of(Photo)) and bool(hub.of(Reply)), 20)
        photo, reply = hub.of(Photo)[0], hub.of(Reply)[0]
        assert reply.ok and reply.result["sha256"] == photo.sha256 and photo.request_id == "ev-1"
        assert BlobStore(data / "blobs").matches(photo.sha256)  # the bytes are in the blob store
        stop.set()
        await running
        await hub.client.stop()

    run(scenario())
