"""A batch the upstream refuses is loud on both sides: the station's status, `/metrics` and
`edge status` say alarm with the reason; the upstream's alerts name the station and the seq.
And the station's token file is read again when it changes: a hub started before its station
was registered replicates once the token is there, and a wrong token's alarm clears itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from edge.journal import Journal
from edge.operators import Role
from tests.api.conftest import OPERATORS, sign_in
from tests.replication.conftest import SITE, STATION, weighed, write_token
from tests.replication.forge import forge_signed_event
from tests.replication.test_hub_replication import hub_with_upstream, station_vkey, wait_for
from tests.replication.upstream_process import UpstreamProcess

TOO_LONG_CODE = "1Z" * 150_000  # a 300 kB "label": over what the upstream takes in one event


def upstream_alerts(upstream: UpstreamProcess) -> list[dict[str, object]]:
    answer = httpx.get(f"{upstream.url}/api/v1/alerts", headers=upstream.admin)
    answer.raise_for_status()
    return list(answer.json()["alerts"])


def metric_lines(client: TestClient) -> set[str]:
    return set(client.get("/metrics").text.splitlines())


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_a_refused_batch_is_an_alarm_at_the_station_and_an_alert_upstream(
    edge_cli: list[str], tmp_path: Path, upstream: UpstreamProcess
) -> None:
    app, data_dir = hub_with_upstream(tmp_path, upstream.url, upstream.cosigner_vkey)
    write_token(data_dir, upstream.register(SITE, STATION, station_vkey(data_dir)))
    with Journal(data_dir) as journal:
        journal.append_many([weighed(i) for i in range(5)])
    bad_seq = forge_signed_event(
        data_dir,
        "label.scanned",
        "R-1001",
        {"workflow": "dock", "code": TOO_LONG_CODE, "repeat": True},
    )
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {sign_in(client, OPERATORS[Role.OPERATOR][1])}"}

        def status() -> dict[str, object]:
            return dict(client.get("/api/v1/replication", headers=headers).json())

        wait_for(lambda: status()["status"] == "alarm")
        body = status()
        refused = body["refused"]
        assert isinstance(refused, dict)
        assert refused["seq"] == bad_seq and refused["first"] == 1
        assert refused["status"] == 422 and refused["reason"]
        assert f"upstream refused events 1..{refused['last']} at seq {bad_seq}" in str(
            body["alarm"]
        )
        assert int(str(body["refused_batches"])) >= 1
        lines = metric_lines(client)
        assert 'edge_replication_state{state="alarm"} 1.0' in lines
        assert 'edge_replication_state{state="idle"} 0.0' in lines
        assert "edge_replication_alarm 1.0" in lines
        refusals = [x for x in lines if x.startswith("edge_replication_refused_batches_total ")]
        assert refusals and float(refusals[0].split()[1]) >= 1
        assert str(refused["reason"]) not in client.get("/metrics").text  # no reason in labels
        assert status()["backlog"]["events"] >= bad_seq  # type: ignore[index]
    alerts = [a for a in upstream_alerts(upstream) if a["station"] == STATION]
    assert alerts and alerts[0]["site"] == SITE and alerts[0]["kind"] == "invalid"
    assert f"event {bad_seq}" in str(alerts[0]["message"])
    shown = subprocess.run(
        [*edge_cli, "--data-dir", str(data_dir), "status"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert f"ALARM: upstream refused events 1..{refused['last']} at seq {bad_seq}" in " ".join(
        shown.stdout.split()
    )


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_the_upstream_alerts_on_a_batch_the_wire_format_refuses(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    """Refused before the ledger sees it (422 invalid_request): an alert all the same, naming
    the event by the seq it was sent with."""
    token = upstream.register(SITE, STATION, station_vkey(tmp_path / "station"))
    batch = {
        "events": [{"seq": 1, "body": "e30="}, {"seq": 2, "body": "e30=", "sent_by": "?"}],
        "checkpoint": "x",
    }
    answer = httpx.post(
        f"{upstream.url}/api/v1/stations/{SITE}/{STATION}/events",
        json=batch,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_request"
    alerts = upstream_alerts(upstream)
    assert [(a["site"], a["station"], a["kind"]) for a in alerts] == [(SITE, STATION, "invalid")]
    assert str(alerts[0]["message"]).startswith("event 2: events.1.sent_by")


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_a_hub_started_before_its_station_was_registered_replicates_once_the_token_appears(
    tmp_path: Path, upstream: UpstreamProcess
) -> None:
    app, data_dir = hub_with_upstream(tmp_path, upstream.url, upstream.cosigner_vkey)
    vkey = station_vkey(data_dir)
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {sign_in(client, OPERATORS[Role.OPERATOR][1])}"}

        def status() -> dict[str, object]:
            return dict(client.get("/api/v1/replication", headers=headers).json())

        off = status()
        assert off["status"] == "off" and "upstream-token" in str(off["problem"])
        assert 'edge_replication_state{state="off"} 1.0' in metric_lines(client)
        write_token(data_dir, upstream.register(SITE, STATION, vkey))  # no restart
        wait_for(lambda: status()["status"] == "idle")
        wait_for(lambda: status()["backlog"]["events"] == 0)  # type: ignore[index]
        assert status()["problem"] is None
        held = upstream.held(SITE, STATION)
        assert len(held) == status()["upstream_size"] > 0


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_a_wrong_token_is_an_alarm_that_clears_once_the_token_file_is_fixed(
    edge_cli: list[str], tmp_path: Path, upstream: UpstreamProcess
) -> None:
    app, data_dir = hub_with_upstream(tmp_path, upstream.url, upstream.cosigner_vkey)
    token = upstream.register(SITE, STATION, station_vkey(data_dir))
    write_token(data_dir, "not-the-token")
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {sign_in(client, OPERATORS[Role.OPERATOR][1])}"}

        def status() -> dict[str, object]:
            return dict(client.get("/api/v1/replication", headers=headers).json())

        wait_for(lambda: status()["status"] == "alarm")
        assert "unknown station token" in str(status()["alarm"])
        assert 'edge_replication_state{state="alarm"} 1.0' in metric_lines(client)
        write_token(data_dir, token)
        wait_for(lambda: status()["status"] == "idle")
        assert status()["alarm"] is None
        assert 'edge_replication_state{state="idle"} 1.0' in metric_lines(client)
        wait_for(lambda: status()["backlog"]["events"] == 0)  # type: ignore[index]
    shown = subprocess.run(
        [*edge_cli, "--data-dir", str(data_dir), "status"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "ALARM" not in shown.stdout and "backlog: 0 events" in " ".join(shown.stdout.split())
