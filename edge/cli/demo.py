"""`edge demo`: what the station runs today, end to end, on simulated input."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from edge.bus.broker import BrokerError
from edge.cli.common import err_console, state
from edge.demo import describe, receiving_drafts, shift_boxes
from edge.demo_devices import run_devices
from edge.journal import Journal, JournalReader, verify_journal
from edge.journal.proofs import inclusion_proof_text, verify_inclusion_text

console = Console()


def demo(
    ctx: typer.Context,
    operator: Annotated[str, typer.Option(help="Operator id for the shift.")] = "op-0042",
) -> None:
    """Run a dock-receiving shift into the station journal, checkpoint, verify and prove."""
    s = state(ctx)
    site, station = s.site or "demo-site", s.station or "dock-1"
    with Journal(s.data_dir, site=site, station=station) as journal:
        shift = sum(1 for _ in journal.reader.events(event_type="operator.signed_in"))
        drafts = receiving_drafts(shift_boxes(shift), operator, journal.blobs)
        events = [journal.append(draft) for draft in drafts]  # one durable append per scan
        journal.checkpoint()
        verifier = journal.verifier
    table = Table("seq", "event", "subject", "what happened", title=f"appended to {s.journal_path}")
    for event in events:
        detail = describe(event.type.value, event.payload)
        table.add_row(str(event.seq), event.type.value, event.subject, detail)
    console.print(table)

    report = verify_journal(s.journal_path, blobs=journal.blobs)
    status = "[green]ok[/green]" if report.ok else f"[red]BAD at seq {report.first_bad_seq}[/red]"
    console.print(
        f"verify: {status}: {report.events} events, {report.checkpoints} checkpoints, "
        f"{report.blobs} blobs re-hashed; root {report.root.hex()}"
    )
    received = next(e for e in events if e.type.value == "package.received")
    with JournalReader(s.journal_path) as reader:
        proof = inclusion_proof_text(reader, received.seq)
    proven = verify_inclusion_text(proof, verifier)
    proof_path = Path(tempfile.gettempdir()) / f"edge-demo-seq{received.seq}.tlog-proof"
    proof_path.write_text(proof)
    console.print(
        f"proof: seq {received.seq} ({received.subject} received) is in the signed tree of "
        f"size {proven.checkpoint.size}, checked with the public key alone ({proof_path})"
    )
    console.print(f"station verifier key: {verifier.encode()}")
    if not report.ok:
        raise typer.Exit(1)
    _devices(s.data_dir, site, station)


def _devices(data_dir: Path, site: str, station: str) -> None:
    """Simulated devices through the real drivers, a private Mosquitto and its ACL."""
    console.rule("devices on the station bus")
    try:
        hub = asyncio.run(run_devices(data_dir, site, station))
    except BrokerError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    table = Table("device", "topic", "seq", "what the hub received", title="custody readings")
    for seen in hub.sightings:
        table.add_row(seen.device, seen.kind, str(seen.seq or ""), seen.what)
    console.print(table)
    statuses = Table("device", "state", "reason", title="retained device status, while running")
    for device, status in sorted(hub.statuses.items()):
        statuses.add_row(device, status.state, status.reason)
    console.print(statuses)
