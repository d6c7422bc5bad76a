"""An event body of deeply nested JSON is `422 invalid` (RecursionError caught on every path),
not a 500 that the replicator would retry forever."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from edge.upstream.app import upstream_app
from tests.upstream.conftest import StationJournal
from tests.upstream.upstream_client import (  # noqa: F401  (fixture)
    EVENTS,
    Upstream,
    upstream_fixture,
)


def test_deeply_nested_event_body_is_a_422_not_a_500(
    upstream: Upstream, station: StationJournal
) -> None:
    station.append(3)
    batch = station.batch(0).body
    nested = b"[" * 50_000 + b"]" * 50_000  # 100 kB, under MAX_EVENT_BYTES
    batch["events"][0]["body"] = base64.b64encode(nested).decode()
    with TestClient(upstream_app(upstream.ledger, "x" * 40), raise_server_exceptions=False) as c:
        answer = c.post(
            EVENTS, json=batch, headers={"Authorization": f"Bearer {upstream.station_token}"}
        )
    assert answer.status_code == 422, (answer.status_code, answer.text[:200])
    assert upstream.held() == 0
