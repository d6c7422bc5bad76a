"""A driver process for kill tests: `store` puts one scan in the outbox; `will` just stays up."""

from __future__ import annotations

import asyncio
import base64
import sys
from pathlib import Path

from edge.bus import BusClient, BusConfig, Outbox, Topics, Will
from edge.bus.payloads import DeviceStatus, Scan, now


def status(state: str, reason: str) -> bytes:
    return DeviceStatus(kind="process", state=state, reason=reason, ts=now()).to_bytes()  # type: ignore[arg-type]


async def main(mode: str, port: int, password: str, outbox_path: str) -> None:
    topics = Topics("ams-1", "dock-1")
    config = BusConfig("127.0.0.1", port, f"drivers-{mode}", "drivers", password, keepalive_s=2)
    if mode == "store":
        client = BusClient(config, topics, outbox=Outbox(Path(outbox_path)))
        client.start()

        def build(seq: int) -> bytes:
            raw = b"RET-KILLED"
            return Scan(
                code="RET-KILLED",
                symbology="qr",
                aim=None,
                raw_b64=base64.b64encode(raw).decode(),
                ts=now(),
                seq=seq,
            ).to_bytes()

        await client.publish_custody("dock-scanner", topics.reading("dock-scanner", "scan"), build)
        print("stored", flush=True)
    else:
        will = Will(topics.device_status("drivers"), status("offline", "connection lost"))
        client = BusClient(config, topics, will=will, online_payload=status("online", "up"))
        client.start()
        await client.wait_connected(10)
        print("up", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
