"""`edge replicate --once` and `edge status` as a person runs them, against a real upstream."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.replication.conftest import SITE, STATION, fill, make_station, write_token
from tests.replication.upstream_process import UpstreamProcess


def edge(edge_cli: list[str], folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*edge_cli, "--data-dir", str(folder), *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("upstream", ["sqlite"], indirect=True)
def test_replicate_once_then_status_away_and_refused(
    edge_cli: list[str], tmp_path: Path, upstream: UpstreamProcess
) -> None:
    station = make_station(tmp_path, upstream.url, upstream.cosigner_vkey)
    with station.open() as journal:
        fill(journal, 120)
        token = upstream.register(SITE, STATION, journal.verifier.encode())
    profile = str(station.profile_path)
    before = edge(edge_cli, station.folder, "status")
    assert before.returncode == 0
    assert "backlog: 120 events" in " ".join(before.stdout.split())

    write_token(station.folder, "not-the-token")
    refused = edge(edge_cli, station.folder, "replicate", "--once", "--profile", profile)
    assert refused.returncode == 2 and "unknown station token" in refused.stderr

    write_token(station.folder, token)
    done = edge(edge_cli, station.folder, "replicate", "--once", "--profile", profile)
    assert done.returncode == 0, done.stderr
    assert "upstream holds 120 of 120 events" in " ".join(done.stdout.split())
    after = " ".join(edge(edge_cli, station.folder, "status").stdout.split())
    assert "holds 120" in after and "backlog: 0 events" in after
    assert "cosigned by edge-upstream.local/ledger" in after
    assert len(upstream.held(SITE, STATION)) == 120

    upstream.stop()
    with station.open() as journal:
        fill(journal, 10)
    away = edge(edge_cli, station.folder, "replicate", "--once", "--profile", profile)
    assert away.returncode == 1 and "upstream away" in away.stderr
    status = " ".join(edge(edge_cli, station.folder, "status").stdout.split())
    assert "backlog: 10 events" in status and "last error" in status
