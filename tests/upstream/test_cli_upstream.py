"""`edge upstream …` as a user runs it: a separate process on a data folder (SQLite), exit
codes, clear messages, secrets in 0600 files, and `serve` answering until SIGTERM."""

from __future__ import annotations

import contextlib
import json
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edge.journal import Journal
from edge.upstream import Ledger, SqliteStore
from edge.upstream.home import UpstreamHome
from tests.ports import listen_on_free_port
from tests.upstream.upstream_client import expected_return


def edge(cli: list[str], data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli, "--data-dir", str(data_dir), "upstream", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def ledger_dir(tmp_path: Path) -> Path:
    return tmp_path / "upstream"


@pytest.fixture
def vkey_file(journal: Journal, station_dir: Path) -> Path:
    """The station's verifier key file, as `edge journal info` names it."""
    return station_dir / "keys" / "station.vkey"


@contextlib.contextmanager
def opened(ledger_dir: Path) -> Iterator[Ledger]:
    """The ledger the commands wrote, opened behind their back."""
    store = SqliteStore(ledger_dir / "upstream.db")
    try:
        yield Ledger(store, UpstreamHome.open(ledger_dir).cosigner)
    finally:
        store.close()


def add_station(
    cli: list[str], ledger_dir: Path, vkey: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return edge(
        cli,
        ledger_dir,
        "station",
        "add",
        "--site",
        "ams-1",
        "--station",
        "dock-1",
        "--vkey",
        str(vkey),
        *extra,
    )


def test_station_add_writes_its_token_0600_once(
    edge_cli: list[str], ledger_dir: Path, vkey_file: Path, tmp_path: Path
) -> None:
    token_file = tmp_path / "dock-1.token"
    added = add_station(edge_cli, ledger_dir, vkey_file, "--token-out", str(token_file))
    assert added.returncode == 0, added.stderr
    assert mode(token_file) == 0o600
    token = token_file.read_text().strip()
    twice = add_station(edge_cli, ledger_dir, vkey_file, "--token-out", str(token_file))
    assert twice.returncode == 2
    assert "station ams-1/dock-1 is already registered" in twice.stderr
    assert token_file.read_text().strip() == token
    with opened(ledger_dir) as ledger:
        assert ledger.station_for_token(token) == ("ams-1", "dock-1")


def test_a_token_file_that_exists_is_made_0600(
    edge_cli: list[str], ledger_dir: Path, vkey_file: Path, tmp_path: Path
) -> None:
    token_file = tmp_path / "dock-1.token"
    token_file.touch(mode=0o644)
    added = add_station(edge_cli, ledger_dir, vkey_file, "--token-out", str(token_file))
    assert added.returncode == 0, added.stderr
    assert mode(token_file) == 0o600


def test_station_list_shows_what_is_held(
    edge_cli: list[str], ledger_dir: Path, vkey_file: Path
) -> None:
    assert add_station(edge_cli, ledger_dir, vkey_file).returncode == 0
    listed = edge(edge_cli, ledger_dir, "station", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == ["ams-1/dock-1\tsize 0\tlast contact never"]


def test_manifest_import_writes_the_customer_tokens_0600(
    edge_cli: list[str], ledger_dir: Path, tmp_path: Path
) -> None:
    manifest = tmp_path / "returns.json"
    manifest.write_text(json.dumps([expected_return("R-1", "L-1"), expected_return("R-2", "L-2")]))
    tokens_file = tmp_path / "tokens.json"
    imported = edge(
        edge_cli,
        ledger_dir,
        "manifest",
        "import",
        "--site",
        "ams-1",
        str(manifest),
        "--tokens-out",
        str(tokens_file),
    )
    assert imported.returncode == 0, imported.stderr
    assert "2 expected returns created or updated for site ams-1" in imported.stdout
    assert mode(tokens_file) == 0o600
    assert sorted(json.loads(tokens_file.read_text())) == ["R-1", "R-2"]
    with opened(ledger_dir) as ledger:  # weight bands from the model catalogue
        records, _, _ = ledger.manifest_since("ams-1", 0, 10)
    assert all(record["weight_band"]["source"] == "catalogue" for record in records)
    again = edge(edge_cli, ledger_dir, "manifest", "import", "--site", "ams-1", str(manifest))
    assert "0 expected returns created or updated" in again.stdout


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (json.dumps([{**expected_return("R-1", "L-1"), "quote": 1.5}]), "quote"),
        ('[{"return_id": "R-1",', "JSON"),
        (None, "No such file"),
    ],
    ids=["float quote", "broken JSON", "missing file"],
)
def test_a_bad_manifest_exits_2_naming_the_problem(
    edge_cli: list[str], ledger_dir: Path, tmp_path: Path, content: str | None, problem: str
) -> None:
    manifest = tmp_path / "returns.json"
    if content is not None:
        manifest.write_text(content)
    refused = edge(edge_cli, ledger_dir, "manifest", "import", "--site", "ams-1", str(manifest))
    assert refused.returncode == 2
    assert refused.stderr.startswith("error:") and problem in refused.stderr, refused.stderr
    assert refused.stdout == ""
    with opened(ledger_dir) as ledger:
        assert ledger.manifest_cursor("ams-1") == 0


@contextlib.contextmanager
def serving(cli: list[str], ledger_dir: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`edge upstream serve` on a free port, once it answers; killed if a test leaves it up."""

    def launch(port: int) -> subprocess.Popen[str]:
        args = [*cli, "--data-dir", str(ledger_dir), "upstream", "serve", "--port", str(port)]
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    process, port = listen_on_free_port(launch)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_serve_answers_healthz_until_sigterm(edge_cli: list[str], ledger_dir: Path) -> None:
    with serving(edge_cli, ledger_dir) as (process, url):
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal after its graceful shutdown (as under `edge run`)
        assert process.wait(15) in (0, -signal.SIGTERM)
    assert mode(ledger_dir / "admin-token") == mode(ledger_dir / "upstream.key") == 0o600


def test_serve_closes_its_database_when_stopped(edge_cli: list[str], ledger_dir: Path) -> None:
    with serving(edge_cli, ledger_dir) as (process, url):
        assert httpx.get(f"{url}/readyz").status_code == 200
        process.send_signal(signal.SIGTERM)
        process.wait(15)
    # SQLite removes the write-ahead log when its last connection closes
    assert not (ledger_dir / "upstream.db-wal").exists(), "the store was not closed"
