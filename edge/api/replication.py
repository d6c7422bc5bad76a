"""Replication's figures for people and machines: `/api/v1/replication` (the PWA header's
backlog) and `/metrics` (Prometheus text: journal, backlog, replication, bus, screens)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from edge.api.auth import require_role
from edge.api.errors import error_responses
from edge.api.services import HubServices, services
from edge.operators import Principal, Role
from edge.replication.figures import STATUSES

router = APIRouter(tags=["station"])
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
Services = Annotated[HubServices, Depends(services)]


@router.get("/api/v1/replication", responses=error_responses(401))
def replication_status(hub: Services, _: Operator) -> dict[str, Any]:
    """Whether the journal is going upstream, and the backlog: events, bytes, oldest age."""
    if hub.replication is None:
        return {"status": "off", "problem": "the station's profile names no upstream"}
    return hub.replication.status(hub.hub)


class _StationCollector(Collector):
    def __init__(self, hub: HubServices) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        core = self.hub.hub
        stats = core.journal.stats()
        yield GaugeMetricFamily("edge_journal_events", "Custody events in the journal", stats.size)
        yield GaugeMetricFamily(
            "edge_journal_signed_events", "Events covered by a signed checkpoint", stats.signed_size
        )
        yield CounterMetricFamily(
            "edge_hub_inputs", "Inputs handled by the workflows", core.inputs_handled
        )
        yield GaugeMetricFamily(
            "edge_screens", "Screens on the live stream", core.broadcaster.listeners
        )
        if self.hub.bus is not None:
            yield GaugeMetricFamily(
                "edge_bus_connected",
                "1 when the hub is connected to the broker",
                int(self.hub.bus.connected),
            )
        replication = self.hub.replication
        if replication is None:
            return
        figures = replication.backlog(core)
        yield GaugeMetricFamily(
            "edge_replication_backlog_events",
            "Events the upstream has not acknowledged",
            figures.events,
        )
        yield GaugeMetricFamily(
            "edge_replication_backlog_bytes",
            "Bytes of event bodies not acknowledged",
            figures.bytes,
        )
        yield GaugeMetricFamily(
            "edge_replication_oldest_unacknowledged_seconds",
            "Age of the oldest event the upstream has not acknowledged",
            figures.oldest_age_s or 0.0,
        )
        if replication.replicator is None:
            yield GaugeMetricFamily("edge_replication_up", "1 when replication runs", 0)
            yield _state_gauge("off")
            return
        snapshot = replication.replicator.snapshot()
        yield _state_gauge(snapshot["status"])
        yield GaugeMetricFamily(
            "edge_replication_up",
            "1 when the last round reached the upstream",
            int(snapshot["status"] in ("idle", "sending")),
        )
        yield GaugeMetricFamily(
            "edge_replication_alarm",
            "1 while replication needs a person",
            int(bool(snapshot["alarm"])),
        )
        yield GaugeMetricFamily(
            "edge_replication_upstream_events",
            "Events the upstream said it holds",
            snapshot["upstream_size"],
        )
        batches = CounterMetricFamily(
            "edge_replication_batches", "Replication rounds by outcome", labels=["outcome"]
        )
        for outcome, count in sorted(snapshot["batches"].items()):
            batches.add_metric([outcome], count)
        yield batches
        yield CounterMetricFamily(
            "edge_replication_events_sent",
            "Events the upstream stored from us",
            snapshot["events_sent"],
        )
        yield CounterMetricFamily(
            "edge_replication_blobs_sent", "Blobs uploaded", snapshot["blobs_sent"]
        )
        yield CounterMetricFamily(
            "edge_replication_refused_batches",
            "Batches the upstream refused, every attempt (the reason: GET /api/v1/replication)",
            snapshot["refused_batches"],
        )


def _state_gauge(current: str) -> GaugeMetricFamily:
    """One series per state, 1 for the one replication is in; reasons stay out of labels."""
    gauge = GaugeMetricFamily(
        "edge_replication_state",
        "1 for the state replication is in: starting, idle, sending, away, alarm, off",
        labels=["state"],
    )
    for state in STATUSES:
        gauge.add_metric([state], int(state == current))
    return gauge


@router.get("/metrics", tags=["health"], response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text format; no barcodes, IMEIs or operator ids in any label."""
    registry: CollectorRegistry | None = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_StationCollector(services(request)))
        request.app.state.metrics_registry = registry
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
