"""What the API's endpoints reach: the hub, its bus side, the operators store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from edge.hub.bus_bridge import HubBus
from edge.hub.runtime import Hub
from edge.operators import OperatorStore
from edge.replication.service import ReplicationService


@dataclass
class HubServices:
    hub: Hub
    operators: OperatorStore
    bus: HubBus | None = None
    profile_path: Path | None = None
    replication: ReplicationService | None = None


def services(request: Request) -> HubServices:
    found = request.app.state.services
    assert isinstance(found, HubServices)
    return found
