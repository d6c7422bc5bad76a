"""`edge run`: the hub (workflows, journal, bus side) behind its API, in one uvicorn server."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from edge.api.app import create_app
from edge.api.services import HubServices
from edge.bus.client import BusConfig
from edge.hub.bus_bridge import HubBus
from edge.hub.runtime import Hub
from edge.limits import MAX_JSON_BODY_BYTES
from edge.operators import OPERATORS_FILE, OperatorStore
from edge.replication.service import ReplicationService
from stations.profile import HubProfile

log = logging.getLogger(__name__)


def hub_app(
    data_dir: Path,
    profile: HubProfile,
    *,
    profile_path: Path | None = None,
    bus_config: BusConfig | None = None,
) -> FastAPI:
    """The station's API app; the hub starts and stops with it."""

    async def start() -> HubServices:
        hub = Hub(data_dir, profile)
        hub.start()
        operators = OperatorStore(data_dir / OPERATORS_FILE)
        hub.restore_attendance(
            lambda operator_id: operators.live_session(operator_id, hub.station, datetime.now(UTC))
        )
        bus = None
        if bus_config is not None:
            bus = HubBus(hub, bus_config)
            bus.start()
        replication = ReplicationService.start(hub, data_dir, profile)
        log.info("hub started site=%s station=%s", hub.site, hub.station)
        return HubServices(hub, operators, bus, profile_path, replication)

    async def stop(services: HubServices) -> None:
        if services.replication is not None:
            await services.replication.stop()
        if services.bus is not None:
            await services.bus.stop()
        await services.hub.stop()
        services.operators.close()

    return create_app(start, stop)


def server_config(app: FastAPI, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    """How the hub's API is served. No per-message deflate on the live stream: its messages are
    small JSON on a LAN, and compressing each one costs both ends CPU (a Pi, a handheld) and
    latency for nothing. A stream message is a request body too: held to the JSON body cap, with
    few queued, before the hello's token is checked (uvicorn's default: 16 MiB, 32 queued)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # requests carry tokens in headers only, but keep logs lean on a Pi
        ws_per_message_deflate=False,
        ws_max_size=MAX_JSON_BODY_BYTES,
        ws_max_queue=4,
        # No proxy stands in front of the hub: a client is its peer address, never what an
        # X-Forwarded-For from a local process says (sign-in backoff is counted per address).
        proxy_headers=False,
    )
