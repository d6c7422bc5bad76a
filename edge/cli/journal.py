"""`edge journal …`: append, tail, verify, checkpoint, prove, check-proof, export, info."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from edge.cli.common import err_console, shown, state
from edge.journal import BlobStore, EventDraft, Journal, JournalError, Verifier, verify_journal
from edge.journal.clock import ClockState
from edge.journal.events import CustodyEvent
from edge.journal.keys import read_verifier
from edge.journal.proofs import (
    ProofInvalid,
    consistency_proof_text,
    inclusion_proof_text,
    verify_consistency_text,
    verify_inclusion_text,
)

journal_app = typer.Typer(help="The station's custody journal.", no_args_is_help=True)
console = Console()


def _write_out(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        err_console.print(f"written to {output}")


@journal_app.command()
def append(
    ctx: typer.Context,
    event_type: Annotated[str, typer.Option("--type", help="Event type, e.g. label.scanned.")],
    subject: Annotated[str, typer.Option(help="Return id or unit id the event is about.")],
    operator: Annotated[str, typer.Option(help="Operator id of who did it.")],
    payload: Annotated[str, typer.Option(help="Payload as a JSON object.")] = "{}",
    attach: Annotated[
        list[Path] | None, typer.Option(help="File to store as a blob and attach (repeatable).")
    ] = None,
) -> None:
    """Append one custody event (needs the journal's write lock)."""
    try:
        payload_value = json.loads(payload)
    except ValueError as exc:
        raise JournalError(f"--payload is not valid JSON: {exc}") from exc
    s = state(ctx)
    with Journal(s.data_dir, site=s.site, station=s.station) as journal:
        attachments = tuple(journal.blobs.put_file(path) for path in attach or [])
        draft = EventDraft.model_validate(
            {
                "type": event_type,
                "subject": subject,
                "operator": operator,
                "payload": payload_value,
                "attachments": attachments,
            }
        )
        event = journal.append(draft)
    typer.echo(json.dumps(event.as_stored(), sort_keys=True))


@journal_app.command()
def tail(
    ctx: typer.Context,
    count: Annotated[int, typer.Option("-n", "--count", min=1, help="How many events.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One stored event per line.")] = False,
) -> None:
    """Show the latest events."""
    with state(ctx).reader() as reader:
        events = reader.last_events(count)
    if as_json:
        for event in events:
            typer.echo(json.dumps(event.as_stored(), sort_keys=True))
        return
    console.print(tail_table(events, console.width))


def _payload_line(payload: dict[str, Any]) -> str:
    """`key=value ...`: strings as they are, anything else as compact JSON."""
    return " ".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value, separators=(',', ':'))}"
        for key, value in payload.items()
    )


def tail_table(events: list[CustodyEvent], width: int) -> Table:
    """One line per event, no wider than `width` (from 60 up): seq, time, type and subject keep
    their room, the operator and the payload are cut (…) to what is left; stored text is
    `shown`, so a control character or markup in it prints as characters."""
    unsynced = any(event.clock is ClockState.UNSYNCED for event in events)
    rows = [
        (
            str(event.seq),
            event.ts.strftime("%Y-%m-%d %H:%M:%S")
            + ("?" if event.clock is ClockState.UNSYNCED else ""),
            event.type.value,
            shown(event.subject),
            shown(event.operator),
            shown(_payload_line(event.payload)),
        )
        for event in events
    ]
    headers = ("seq", "time (UTC)", "type", "subject", "operator", "payload")
    natural = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    # seq, time and type whole; what is left after the gaps, shared out in that order
    left = width - sum(natural[:3]) - _GAP * (len(headers) - 1)
    subject = min(natural[3], max(12, left * 2 // 5))
    operator = min(natural[4], max(8, (left - subject) // 3), 16)
    payload = max(7, left - subject - operator)
    table = Table(
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),  # and the box's blank divider: two spaces
        pad_edge=False,
        show_edge=False,
        caption="? the station clock was not synced: the time may be wrong" if unsynced else None,
        caption_justify="left",
    )
    widths = [*natural[:3], subject, operator, payload]
    for header, content in zip(headers, widths, strict=True):
        table.add_column(
            header,
            justify="right" if header == "seq" else "left",
            no_wrap=True,
            overflow="ellipsis",
            width=content,
        )
    for row in rows:
        table.add_row(*row)
    return table


_GAP = 2  # spaces between columns: one of padding, the box's blank divider


@journal_app.command()
def verify(
    ctx: typer.Context,
    vkey: Annotated[
        str | None,
        typer.Option(help="Verifier key (or file) to trust; default: the one the journal records."),
    ] = None,
    blobs: Annotated[bool, typer.Option(help="Re-hash every attached blob.")] = True,
) -> None:
    """Recompute every hash, link and checkpoint; name the first bad seq. Exit 1 if bad."""
    s = state(ctx)
    verifier = read_verifier(vkey) if vkey else None
    store = BlobStore(s.data_dir / "blobs") if blobs else None
    with Progress(
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("verify", total=None)
        report = verify_journal(
            s.journal_path,
            verifier=verifier,
            blobs=store,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if report.ok:
        typer.echo(
            f"ok: {report.events} events, {report.checkpoints} checkpoints, "
            f"{report.blobs} blobs; root {report.root.hex()}"
        )
        return
    typer.echo(f"BAD at seq {report.first_bad_seq}: {shown(report.problem)}")
    typer.echo(f"({report.events} events before it are intact)")
    raise typer.Exit(1)


@journal_app.command()
def checkpoint(ctx: typer.Context) -> None:
    """Sign a checkpoint now and print it (needs the journal's write lock)."""
    s = state(ctx)
    with Journal(s.data_dir, site=s.site, station=s.station) as journal:
        journal.checkpoint()
        latest = journal.reader.latest_checkpoint()
    if latest is None:
        typer.echo("the journal is empty: nothing to sign")
        return
    sys.stdout.write(latest.note)


@journal_app.command()
def prove(
    ctx: typer.Context,
    seq: Annotated[int | None, typer.Argument(help="Event to prove included.")] = None,
    from_size: Annotated[
        int | None, typer.Option(help="Prove instead that the log grew from this checkpoint size.")
    ] = None,
    size: Annotated[
        int | None, typer.Option(help="Checkpoint size to prove against (default: latest).")
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file.")] = None,
) -> None:
    """Print an offline-verifiable proof: inclusion of SEQ (C2SP tlog-proof), or consistency."""
    if (seq is None) == (from_size is None):
        raise JournalError("give either SEQ (inclusion) or --from-size (consistency)")
    with state(ctx).reader() as reader:
        if seq is not None:
            text = inclusion_proof_text(reader, seq, size)
        else:
            assert from_size is not None
            text = consistency_proof_text(reader, from_size, size)
    _write_out(text, output)


@journal_app.command("check-proof")
def check_proof(
    proof_file: Annotated[Path, typer.Argument(help="A proof from `edge journal prove`.")],
    vkey: Annotated[str, typer.Option(help="The station's verifier key, or a file holding it.")],
    origin: Annotated[str | None, typer.Option(help="Expected log origin.")] = None,
) -> None:
    """Verify a proof with only the station's public key: no journal needed. Exit 1 if bad."""
    verifier: Verifier = read_verifier(vkey)
    try:
        text = proof_file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        typer.echo("INVALID: the proof file is not UTF-8 text")
        raise typer.Exit(1) from None
    try:
        if text.startswith("{"):
            old, new = verify_consistency_text(text, verifier, origin)
            typer.echo(f"ok: {new.origin} at size {new.size} extends size {old.size}")
        else:
            proven = verify_inclusion_text(text, verifier, origin)
            event = proven.event
            typer.echo(
                f"ok: seq {shown(event['seq'])} ({shown(event['type'])}, "
                f"{shown(event['subject'])}) is in "
                f"{shown(proven.checkpoint.origin)} at size {proven.checkpoint.size}"
            )
            typer.echo(json.dumps(event, sort_keys=True))
    except ProofInvalid as exc:
        typer.echo(f"INVALID: {shown(exc)}")
        raise typer.Exit(1) from None


@journal_app.command()
def export(
    ctx: typer.Context,
    from_seq: Annotated[int, typer.Option(min=1, help="First seq to export.")] = 1,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file.")] = None,
) -> None:
    """Export events as stored (JSON Lines), in seq order."""
    with state(ctx).reader() as reader:
        lines = (json.dumps(e.as_stored(), sort_keys=True) + "\n" for e in reader.events(from_seq))
        if output is None:
            sys.stdout.writelines(lines)
        else:
            with output.open("w") as out:
                out.writelines(lines)
            err_console.print(f"written to {output}")


@journal_app.command()
def info(ctx: typer.Context) -> None:
    """Site, station, origin, size, latest checkpoint and the verifier key."""
    with state(ctx).reader() as reader:
        meta = reader.meta()
        latest = reader.latest_checkpoint()
        typer.echo(f"journal:    {reader.path}")
        typer.echo(f"site:       {meta.site}")
        typer.echo(f"station:    {meta.station}")
        typer.echo(f"origin:     {meta.origin}")
        typer.echo(f"events:     {reader.size()}")
        typer.echo(f"checkpoint: {latest.size if latest else 'none'}")
        typer.echo(f"verifier:   {meta.verifier}")
