"""What the CLI prints of stored data (issue 14.8, 14.23): control characters escaped, markup
literal, `journal tail` one line per event at 80 columns, `journal prove` errors that name the
journal's range. Run as a user runs it: a separate process."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from edge.journal import EventDraft, EventType, Journal
from edge.operators import OPERATORS_FILE, OperatorStore, Role


def run(
    cli: list[str], station_dir: Path, *args: str, columns: int = 80
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm-256color"}
    return subprocess.run(
        [*cli, "--data-dir", str(station_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def _journalled_before_the_rule(journal: Journal, subject: str, operator: str) -> None:
    """An event as a journal written before names were checked holds it (the draft's
    validation skipped, as the old code let a bus code through)."""
    draft = EventDraft.model_construct(
        type=EventType.LABEL_SCANNED,
        subject=subject,
        operator=operator,
        payload={"code": subject.removeprefix("label:")},
        attachments=(),
    )
    journal.append(draft)


def test_tail_escapes_control_characters_and_prints_markup_literally(
    edge_cli: list[str], station_dir: Path
) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1") as journal:
        _journalled_before_the_rule(journal, "label:\x1b[2J\x1b[31mX", "[b]olga[/b]")
        journal.append(
            EventDraft.model_validate(
                {
                    "type": "exception.raised",
                    "subject": "R-[red]1[/red]",
                    "operator": "tom",
                    "payload": {"note": "\u202eevil\x9b"},
                }
            )
        )
    tail = run(edge_cli, station_dir, "journal", "tail", columns=200)
    assert tail.returncode == 0, tail.stderr
    assert "\x1b" not in tail.stdout and "\u202e" not in tail.stdout and "\x9b" not in tail.stdout
    assert "label:\\x1b[2J\\x1b[31mX" in tail.stdout
    assert "[b]olga[/b]" in tail.stdout and "R-[red]1[/red]" in tail.stdout
    assert "note=\\u202eevil\\x9b" in tail.stdout


def test_tail_fits_80_columns_and_keeps_the_key_columns(
    edge_cli: list[str], station_dir: Path
) -> None:
    types = ["diagnostics.recorded", "label.scanned", "exception.resolved", "package.weighed"]
    with Journal(station_dir, site="ams-1", station="dock-1") as journal:
        for i in range(12):
            journal.append(
                EventDraft.model_validate(
                    {
                        "type": types[i % 4],
                        "subject": f"R-{i:04d}-1",
                        "operator": "olga.petrovna-" + "x" * 30,
                        "payload": {"code": "1Z999AA1" * 20, "grams": f"{400 + i}.5"},
                    }
                )
            )
    tail = run(edge_cli, station_dir, "journal", "tail", "-n", "12", columns=80)
    assert tail.returncode == 0, tail.stderr
    lines = tail.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, tail.stdout
    rows = [line for line in lines if line.lstrip()[:1].isdigit()]
    assert len(rows) == 12  # one line per event, nothing wrapped
    with Journal(station_dir) as journal:
        events = journal.reader.last_events(12)
    for row, event in zip(rows, events, strict=True):
        seq, time = row.split()[0], " ".join(row.split()[1:3])
        assert seq == str(event.seq)
        assert time.rstrip("?") == event.ts.strftime("%Y-%m-%d %H:%M:%S")
        assert f" {event.type.value} " in row and f" {event.subject} " in row


def test_prove_names_the_journals_range_for_a_seq_it_does_not_hold(
    edge_cli: list[str], station_dir: Path
) -> None:
    with Journal(station_dir, site="ams-1", station="dock-1"):
        pass  # an empty journal
    nothing = run(edge_cli, station_dir, "journal", "prove", "1")
    assert nothing.returncode == 2 and "no event 1 in this journal" in nothing.stderr
    assert "holds no events yet" in nothing.stderr
    with Journal(station_dir) as journal:
        for i in range(3):
            journal.append(
                EventDraft.model_validate(
                    {"type": "label.scanned", "subject": f"R-{i}", "operator": "o"}
                )
            )
        journal.checkpoint()
    for seq in ("999999", "0", "-4", "4"):
        refused = run(edge_cli, station_dir, "journal", "prove", "--", seq)
        assert refused.returncode == 2, (seq, refused)
        assert f"no event {seq} in this journal: it holds seq 1 to 3" in refused.stderr, seq
        assert "leaf index" not in refused.stderr and "checkpoint" not in refused.stderr
    consistency = run(edge_cli, station_dir, "journal", "prove", "--from-size", "9")
    assert consistency.returncode == 2
    assert "no tree of size 9 in this journal: it holds seq 1 to 3" in consistency.stderr
    assert run(edge_cli, station_dir, "journal", "prove", "3").returncode == 0


def test_operator_list_prints_a_name_with_markup_as_written(
    edge_cli: list[str], station_dir: Path
) -> None:
    station_dir.mkdir(parents=True)
    with OperatorStore(station_dir / OPERATORS_FILE) as store:
        store.add_operator(
            "olga",
            "[bold red]Olga[/bold red]",
            Role.ADMIN,
            "8264",
            "B[link]1",
            now=datetime.now(UTC),
        )
    listed = run(edge_cli, station_dir, "operator", "list", columns=200)
    assert listed.returncode == 0, listed.stderr
    assert "[bold red]Olga[/bold red]" in listed.stdout and "B[link]1" in listed.stdout
