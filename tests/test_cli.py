"""The `edge` command as a user runs it: a separate process, exit codes, clear messages."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
import pytest
import typer

from edge.cli import app
from edge.journal import EventDraft, Journal

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def run(cli: list[str], station_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli, "--data-dir", str(station_dir), *args], capture_output=True, text=True, timeout=60
    )


def all_commands() -> list[str]:
    names = []

    def walk(command: click.Command, prefix: str) -> None:
        # typer's groups are not click.Group subclasses in every version: look for commands.
        subcommands = getattr(command, "commands", None)
        if isinstance(subcommands, dict):
            for name, sub in subcommands.items():
                walk(sub, f"{prefix} {name}")
        else:
            names.append(prefix)

    walk(typer.main.get_command(app), "edge")
    return names


def test_every_command_is_documented_and_has_help(edge_cli: list[str], tmp_path: Path) -> None:
    documented = DOCS.read_text()
    commands = all_commands()
    assert {"edge journal verify", "edge run", "edge operator add"} <= set(commands)
    for command in commands:
        assert f"`{command}" in documented, f"{command} is not in docs/cli.md"
        result = subprocess.run(
            [*edge_cli, *command.split()[1:], "--help"], capture_output=True, text=True
        )
        assert result.returncode == 0 and "Usage" in result.stdout, command


def test_append_tail_verify_round_trip(
    edge_cli: list[str], station_dir: Path, tmp_path: Path
) -> None:
    photo = tmp_path / "box.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 box photo")
    appended = run(
        edge_cli,
        station_dir,
        "--site",
        "ams-1",
        "--station",
        "dock-1",
        "journal",
        "append",
        "--type",
        "photo.captured",
        "--subject",
        "RET-2026-000007",
        "--operator",
        "op-7",
        "--payload",
        '{"camera": "cam-1"}',
        "--attach",
        str(photo),
    )
    assert appended.returncode == 0, appended.stderr
    event = json.loads(appended.stdout)
    assert (event["seq"], event["type"], event["payload"]) == (
        1,
        "photo.captured",
        {"camera": "cam-1"},
    )
    assert len(event["attachments"]) == 1
    tail = run(edge_cli, station_dir, "journal", "tail", "--json")
    assert json.loads(tail.stdout.splitlines()[-1]) == event
    verified = run(edge_cli, station_dir, "journal", "verify")
    assert verified.returncode == 0 and verified.stdout.startswith("ok: 1 events")
    exported = run(edge_cli, station_dir, "journal", "export")
    assert [json.loads(line)["seq"] for line in exported.stdout.splitlines()] == [1]


def test_cli_refuses_bad_events_clearly_and_writes_nothing(
    edge_cli: list[str], station_dir: Path
) -> None:
    base = [
        "--site",
        "ams-1",
        "--station",
        "dock-1",
        "journal",
        "append",
        "--subject",
        "RET-1",
        "--operator",
        "op-1",
    ]
    cases = [
        (["--type", "box.kicked"], "unknown event type 'box.kicked'"),
        (["--type", "package.weighed", "--payload", '{"grams": NaN}'], "not JSON-serialisable"),
        (["--type", "package.weighed", "--payload", "412 grams"], "--payload is not valid JSON"),
        (["--type", "operator.signed_in", "--payload", '{"pin": "4321"}'], "looks like a secret"),
    ]
    for extra, message in cases:
        result = run(edge_cli, station_dir, *base, *extra)
        assert result.returncode == 2, result
        assert message in result.stderr and "Traceback" not in result.stderr
        assert "4321" not in result.stderr + result.stdout
    empty = (
        sqlite3.connect(station_dir / "journal.db")
        .execute("SELECT count(*) FROM events")
        .fetchone()
    )
    assert empty == (0,)


def test_cli_append_while_the_hub_holds_the_journal(edge_cli: list[str], station_dir: Path) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1"):
        result = run(
            edge_cli,
            station_dir,
            "journal",
            "append",
            "--type",
            "label.scanned",
            "--subject",
            "RET-1",
            "--operator",
            "op-1",
        )
        assert result.returncode == 2
        assert "locked by another writer" in result.stderr
        assert run(edge_cli, station_dir, "journal", "info").returncode == 0  # reading still works


def test_missing_and_corrupt_journals_are_clear(edge_cli: list[str], station_dir: Path) -> None:
    result = run(edge_cli, station_dir, "journal", "verify")
    assert result.returncode == 2 and "no journal at" in result.stderr
    station_dir.mkdir(parents=True)
    (station_dir / "journal.db").write_bytes(b"not a database at all" * 50)
    result = run(edge_cli, station_dir, "journal", "tail")
    assert result.returncode == 2 and "corrupt" in result.stderr


def test_proofs_check_with_the_public_key_alone(
    edge_cli: list[str], station_dir: Path, tmp_path: Path
) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1") as journal:
        for i in range(100):
            journal.append(journal_draft(i))
    inclusion = tmp_path / "seq42.tlog-proof"
    consistency = tmp_path / "grow.json"
    assert (
        run(edge_cli, station_dir, "journal", "prove", "42", "-o", str(inclusion)).returncode == 0
    )
    assert (
        run(
            edge_cli, station_dir, "journal", "prove", "--from-size", "64", "-o", str(consistency)
        ).returncode
        == 0
    )
    vkey = tmp_path / "station.vkey"
    shutil.copy(station_dir / "keys" / "station.vkey", vkey)
    shutil.rmtree(station_dir)  # the verifier has no journal at all
    ok = subprocess.run(
        [*edge_cli, "journal", "check-proof", str(inclusion), "--vkey", str(vkey)],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "ok: seq 42" in ok.stdout and '"RET-000041"' in ok.stdout
    grown = subprocess.run(
        [*edge_cli, "journal", "check-proof", str(consistency), "--vkey", str(vkey)],
        capture_output=True,
        text=True,
    )
    assert grown.returncode == 0 and "size 100 extends size 64" in grown.stdout
    # Change what the proof says the event was: the leaf no longer matches.
    lines = inclusion.read_text().split("\n")
    forged_event = json.loads(base64.b64decode(lines[1].removeprefix("extra ")))
    forged_event["subject"] = "RET-999999"
    lines[1] = "extra " + base64.b64encode(json.dumps(forged_event).encode()).decode()
    inclusion.write_text("\n".join(lines))
    bad = subprocess.run(
        [*edge_cli, "journal", "check-proof", str(inclusion), "--vkey", str(vkey)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "INVALID" in bad.stdout


def test_verify_exit_status_names_the_bad_seq(edge_cli: list[str], station_dir: Path) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1") as journal:
        for i in range(30):
            journal.append(journal_draft(i))
    conn = sqlite3.connect(station_dir / "journal.db", isolation_level=None)
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute("DELETE FROM events WHERE seq = 17")
    result = run(edge_cli, station_dir, "journal", "verify")
    assert result.returncode == 1 and "BAD at seq 17" in result.stdout


def journal_draft(i: int) -> EventDraft:
    return EventDraft(
        type="label.scanned", subject=f"RET-{i:06d}", operator="op-1", payload={"i": i}
    )


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_top_level_flags(edge_cli: list[str], flag: str) -> None:
    result = subprocess.run([*edge_cli, flag], capture_output=True, text=True)
    assert result.returncode == 0 and ("journal" in result.stdout or "edge 0." in result.stdout)


def test_files_the_user_names_that_are_missing_or_not_text(
    edge_cli: list[str], station_dir: Path, tmp_path: Path
) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1"):
        pass
    vkey = str(station_dir / "keys" / "station.vkey")
    missing = run(
        edge_cli, station_dir, "journal", "append", "--type", "photo.captured",
        "--subject", "RET-1", "--operator", "op-1", "--attach", str(tmp_path / "nope.jpg"),
    )  # fmt: skip
    assert missing.returncode == 2 and "No such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    no_proof = run(
        edge_cli, station_dir, "journal", "check-proof", str(tmp_path / "x"), "--vkey", vkey
    )
    assert no_proof.returncode == 2 and "No such file" in no_proof.stderr
    binary = tmp_path / "photo.tlog-proof"
    binary.write_bytes(b"\xff\xd8\xff\xe0")
    garbled = run(edge_cli, station_dir, "journal", "check-proof", str(binary), "--vkey", vkey)
    assert garbled.returncode == 1 and "not UTF-8" in garbled.stdout
    unwritable = run(
        edge_cli, station_dir, "journal", "export", "-o", str(tmp_path / "no" / "dir.jsonl")
    )
    assert unwritable.returncode == 2 and "Traceback" not in unwritable.stderr
