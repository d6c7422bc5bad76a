"""Replication inside a running hub: the manifest feed pulled while offline then online (its
cursor resumes), the backlog in the API and in /metrics, and custody made at the station
reaching the upstream while the station works."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from edge.hub.serve import hub_app
from edge.journal import Journal
from edge.operators import Role
from edge.replication.state import STATE_FILE, ReplicationState
from stations.profile import load_hub_profile
from tests.api.conftest import MANIFEST, OPERATORS, build_hub, sign_in
from tests.replication.conftest import SITE, STATION, write_token
from tests.replication.flaky_proxy import FlakyProxy
from tests.replication.upstream_process import UpstreamProcess

LATER = {**MANIFEST[0], "return_id": "R-1003", "label_codes": ["1Z999AA10123456800"]}


def wait_for(condition: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def hub_with_upstream(tmp_path: Path, url: str, vkey: str) -> tuple[FastAPI, Path]:
    """A dock hub (operators as in tests/api) whose profile replicates to `url`."""
    _, profile_path, data_dir = build_hub(tmp_path)
    text = profile_path.read_text(encoding="utf-8")
    text += (
        f'\n[upstream]\nurl = "{url}"\nvkey = "{vkey}"\nsign_after_s = 0.1\n'
        "manifest_every_s = 1\nbackoff_max_s = 1\n"
    )
    profile_path.write_text(text, encoding="utf-8")
    app = hub_app(data_dir, load_hub_profile(profile_path), profile_path=profile_path)
    return app, data_dir


def station_vkey(data_dir: Path) -> str:
    with Journal(data_dir, site=SITE, station=STATION) as journal:
        return journal.verifier.encode()


def returns_at(client: TestClient, token: str) -> set[str]:
    answer = client.get("/api/v1/returns", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return {r["return"]["return_id"] for r in answer.json()["items"]}


def synced_sources(client: TestClient, token: str) -> list[str]:
    answer = client.get(
        "/api/v1/journal",
        params={"type": "manifest.synced", "limit": 500},
        headers={"Authorization": f"Bearer {token}"},
    )
    return [e["payload"]["source"] for e in answer.json()["events"]]


def test_the_hub_pulls_the_manifest_once_online_and_its_cursor_resumes(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    with FlakyProxy(upstream.port) as proxy:
        proxy.up = False  # the station starts with its uplink down
        app, data_dir = hub_with_upstream(tmp_path, proxy.url, upstream.cosigner_vkey)
        write_token(data_dir, upstream.register(SITE, STATION, station_vkey(data_dir)))
        upstream.import_manifest(SITE, MANIFEST)
        with TestClient(app) as client:
            token = sign_in(client, OPERATORS[Role.OPERATOR][1])
            headers = {"Authorization": f"Bearer {token}"}
            status = client.get("/api/v1/replication", headers=headers).json()
            wait_for(
                lambda: (
                    client.get("/api/v1/replication", headers=headers).json()["status"] == "away"
                )
            )
            assert returns_at(client, token) == set()  # offline: nothing pulled, nothing lost
            backlog = client.get("/api/v1/replication", headers=headers).json()["backlog"]
            assert backlog["events"] >= 1  # the sign-in is custody waiting to go up
            proxy.up = True
            wanted = {r["return_id"] for r in MANIFEST}
            wait_for(lambda: returns_at(client, token) == wanted)
            upstream.import_manifest(SITE, [LATER])
            wait_for(lambda: returns_at(client, token) == wanted | {LATER["return_id"]})
            # each record came once, from the feed: the cursor resumed after the first pull
            assert synced_sources(client, token) == ["upstream"] * (len(MANIFEST) + 1)
            wait_for(
                lambda: (
                    client.get("/api/v1/replication", headers=headers).json()["backlog"]["events"]
                    == 0
                )
            )
            metrics = client.get("/metrics")
            assert metrics.status_code == 200
            text = metrics.text
            assert "edge_replication_backlog_events 0.0" in text
            assert "edge_replication_up 1.0" in text
            assert status["status"] in ("starting", "away")
    memory = ReplicationState(data_dir / STATE_FILE).read()
    assert memory.manifest_cursor == len(MANIFEST) + 1
    held = upstream.held(SITE, STATION)
    assert len(held) == memory.upstream_size > 0


def test_no_upstream_in_the_profile_means_replication_is_off(tmp_path: Path) -> None:
    app, _, _ = build_hub(tmp_path)
    with TestClient(app) as client:
        token = sign_in(client, OPERATORS[Role.OPERATOR][1])
        answer = client.get("/api/v1/replication", headers={"Authorization": f"Bearer {token}"})
        assert answer.json()["status"] == "off"
        assert client.get("/api/v1/replication").status_code == 401
        assert "edge_journal_events" in client.get("/metrics").text


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_a_missing_token_keeps_the_station_working_and_says_why(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    app, _ = hub_with_upstream(tmp_path, upstream.url, upstream.cosigner_vkey)
    with TestClient(app) as client:
        token = sign_in(client, OPERATORS[Role.OPERATOR][1])  # custody still works
        answer = client.get("/api/v1/replication", headers={"Authorization": f"Bearer {token}"})
        body = answer.json()
        assert body["status"] == "off"
        assert "upstream-token" in body["problem"]
        assert body["backlog"]["events"] >= 1
