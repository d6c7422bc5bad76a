"""`edge replicate --once` (a manual catch-up with a progress bar) and `edge status`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from edge.cli.common import err_console, print_error, shown, state
from edge.cli.hub import ProfileOption, _load
from edge.journal import JOURNAL_FILE, Journal, JournalLockedError, JournalReader
from edge.replication.backlog import backlog
from edge.replication.client import UpstreamAway, UpstreamRefused
from edge.replication.replicator import JournalView, ReadOnlyJournal, ReplicationAlarm
from edge.replication.service import ReplicationConfigError, build_replicator
from edge.replication.state import STATE_FILE, ReplicationState
from edge.replication.token import NoToken
from stations.profile import HubProfile

console = Console()


def replicate(
    ctx: typer.Context,
    profile: ProfileOption,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="One catch-up round, then exit (the hub replicates on its own while it runs).",
        ),
    ] = False,
) -> None:
    """Send the journal's backlog upstream now, with a progress bar; exit 0 when all of it
    is acknowledged, 1 when the upstream is away, 2 when it refused (an alarm)."""
    if not once:
        err_console.print("the hub replicates while it runs (`edge run`); use --once here")
        raise typer.Exit(2)
    s = state(ctx)
    hub_profile = _load(profile)
    journal: Journal | None = None
    view: JournalView
    try:
        journal = Journal(s.data_dir)
        view = journal
    except JournalLockedError:  # the hub runs: send what is signed; it sends the rest
        view = ReadOnlyJournal(s.data_dir)
    try:
        code = asyncio.run(_once(view, s.data_dir, hub_profile))
    except ReplicationConfigError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        code = 2
    finally:
        if journal is not None:
            journal.close()
    raise typer.Exit(code)


async def _once(view: JournalView, data_dir: Path, profile: HubProfile) -> int:
    replicator, repl_state, client = build_replicator(view, data_dir, profile)
    replicator.sign_after_s = 0.0
    total = view.size
    with Progress(
        TextColumn("[bold]upstream"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("replicate", total=total)
        replicator.on_progress = lambda held, size: progress.update(
            task, completed=held, total=size
        )
        try:
            held = await replicator.sync()
        except NoToken as exc:
            replicator.note_off(str(exc))
            print_error(exc)
            return 2
        except UpstreamAway as exc:
            replicator.note_failure("away", str(exc))
            err_console.print(
                Text.assemble(
                    ("upstream away:", "yellow"), " ", shown(exc), "; nothing lost, try later"
                )
            )
            return 1
        except (UpstreamRefused, ReplicationAlarm) as exc:
            replicator.note_failure("alarm", str(exc))
            err_console.print(Text.assemble(("refused:", "red"), " ", shown(exc)))
            return 2
        finally:
            await client.close()
            repl_state.close()
    left = view.size - held
    console.print(
        f"upstream holds {held} of {view.size} events"
        + (f"; {left} wait for the hub to sign them" if left else "; nothing left to send")
    )
    return 0


def status(ctx: typer.Context) -> None:
    """The journal and its replication backlog, from the station's files (no hub needed)."""
    s = state(ctx)
    path = s.data_dir / JOURNAL_FILE
    if not path.exists():
        err_console.print(f"[red]error:[/red] no journal at {path}")
        raise typer.Exit(2)
    with JournalReader(path) as reader:
        size = reader.size()
        latest = reader.latest_checkpoint()
        memory = ReplicationState(s.data_dir / STATE_FILE).read()
        figures = backlog(reader, memory.upstream_size, datetime.now(UTC))
        cosigned = reader.cosignatures(latest.size) if latest else []
    console.print(f"journal: {size} events, signed through {latest.size if latest else 0}")
    console.print(
        f"upstream: holds {memory.upstream_size} (last answer {memory.last_ok_at or 'never'})"
        + (f", cosigned by {shown(', '.join(c[0] for c in cosigned))}" if cosigned else ""),
        markup=False,
    )
    age = f", oldest waiting {figures.oldest_age_s:.0f} s" if figures.oldest_age_s else ""
    console.print(f"backlog: {figures.events} events, {figures.bytes} bytes{age}")
    if memory.last_error:
        console.print("last error:", shown(memory.last_error), highlight=False)
    if memory.alarm:  # written instead of last_error while it stands
        console.print("[red]ALARM:[/red]", shown(memory.alarm), highlight=False)
