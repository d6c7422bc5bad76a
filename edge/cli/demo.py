"""`edge demo`: the whole station on simulated devices, one shift through it, then proof; and
`edge demo scan|weigh|lift|dock|undock`, a person's hands on the devices of a demo that serves."""

from __future__ import annotations

import asyncio
import signal
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from edge.bus.broker import BrokerError
from edge.cli.common import err_console, state
from edge.demo.controls import ControlError, presets, send_control
from edge.demo.shift import DEMO_PIN, Serving, ShiftReport, run_shift
from edge.journal import JournalReader, verify_journal
from edge.journal.keys import read_verifier
from edge.journal.note import NoteError
from edge.journal.proofs import inclusion_proof_text, verify_inclusion_text
from edge.upstream.cosign import CosignatureVerifier
from stations.certificate import CertificateError, open_certificate

console = Console()
demo_app = typer.Typer()


@demo_app.callback(invoke_without_command=True)
def demo(
    ctx: typer.Context,
    serve: Annotated[
        bool, typer.Option(help="Keep the station and its API running after the shift.")
    ] = False,
) -> None:
    """Run the station (broker, drivers, camera, hub, API) on simulated devices: a shift of
    dock receiving and bench work, then verify the journal and prove a receipt. While one
    serves (--serve), the commands below drive its simulated devices."""
    if ctx.invoked_subcommand is not None:
        return
    s = state(ctx)
    site, station = s.site or "demo-site", s.station or "dock-1"
    proven: list[bool] = []

    async def show_then_wait(serving: Serving) -> None:
        proven.append(await asyncio.to_thread(_show, s.data_dir, serving.report))
        await _wait(serving)

    try:
        report = asyncio.run(
            run_shift(s.data_dir, site, station, serve=show_then_wait if serve else None)
        )
    except (BrokerError, RuntimeError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if not proven:
        proven.append(_show(s.data_dir, report))
    if not proven[0]:
        raise typer.Exit(1)


def _show(data_dir: Path, report: ShiftReport) -> bool:
    """Print the shift, verify and prove; False if a check failed."""
    _print_shift(report)
    return _prove(data_dir, report)


async def _wait(serving: Serving) -> None:
    """Say where the running station is reached, and serve until SIGINT or SIGTERM."""
    console.print(
        f"station running: screens {serving.api}/app/ ; API {serving.api}/docs\n"
        f"badges BADGE-ADA admin, BADGE-OLGA operator, BADGE-TOM technician; PIN {DEMO_PIN}\n"
        f"upstream: {serving.upstream}\n"
        f"customer link of {serving.customer_return}: curl -H 'Authorization: Bearer "
        f"{serving.customer_token}' {serving.customer_link}\n"
        "devices: edge demo scan CODE | weigh GRAMS | lift | dock PRESET | undock "
        f"(through {serving.controls}); Ctrl-C stops",
        highlight=False,
        soft_wrap=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _describe(event: dict[str, Any]) -> str:
    p = event["payload"]
    match event["type"]:
        case "label.scanned":
            return f"label {p.get('code')!r} → {p.get('return_id') or 'no match'}"
        case "package.weighed":
            inside = {True: "inside", False: "OUTSIDE", None: "no"}[p.get("within_band")]
            return f"{p.get('grams')} g, {inside} band"
        case "photo.captured":
            return f"photo {p.get('width')}x{p.get('height')} sha256 {str(p.get('sha256'))[:12]}…"
        case "seal.checked":
            return "seal intact" if p.get("intact") else f"seal BROKEN ({p.get('note')})"
        case "package.received":
            return f"{p.get('status')} {p.get('exceptions') or ''}".strip()
        case "exception.raised":
            return f"{p.get('exception')}: {p.get('message')}"
        case "device.identified":
            return f"IMEI {p.get('imei')} via {p.get('source')}, return {p.get('return_id')}"
        case "diagnostics.recorded":
            lock = (p.get("lock") or {}).get("state")
            battery = p.get("battery_text") or f"{p.get('battery_health')}%"
            return f"{p.get('model')}, battery {battery}, lock {lock}"
        case "grade.assigned":
            return f"grade {p.get('grade')}, payout {p.get('payout')}"
        case "erasure.completed":
            cert = str(p.get("certificate_sha256"))[:12]
            return f"{p.get('result')}, {p.get('method')}, certificate {cert}…"
        case "disposition.routed":
            return f"→ {p.get('route')} by rule {p.get('rule')}"
        case "location.moved":
            return f"{p.get('from')} → {p.get('to')}"
        case "manifest.synced":
            return f"{p.get('change')} from {p.get('source')}"
        case "operator.signed_in":
            return f"{p.get('name')} ({p.get('role')})"
    return ""


def _print_shift(report: ShiftReport) -> None:
    console.rule("the shift")
    for step in report.steps:
        console.print(f"• {step}", highlight=False)
    table = Table("seq", "event", "subject", "operator", "what happened", title="custody journal")
    for event in report.events:
        table.add_row(
            str(event["seq"]), event["type"], event["subject"], event["operator"], _describe(event)
        )
    console.print(table)
    devices = Table("device", "state", title="device status, as screens saw it while running")
    for device, device_state in report.devices.items():
        devices.add_row(device, device_state)
    console.print(devices)


def _prove(data_dir: Path, report: ShiftReport) -> bool:
    journal = data_dir / "journal.db"
    verdict = verify_journal(journal)
    status = "[green]ok[/green]" if verdict.ok else f"[red]BAD at seq {verdict.first_bad_seq}[/red]"
    console.print(
        f"verify: {status}: {verdict.events} events, {verdict.checkpoints} checkpoints; "
        f"root {verdict.root.hex()}"
    )
    with JournalReader(journal) as reader:
        verifier = read_verifier(reader.meta().verifier)
        received = [e for e in report.events if e["type"] == "package.received"]
        proof = inclusion_proof_text(reader, received[0]["seq"])
    proven = verify_inclusion_text(proof, verifier)
    proof_path = Path(tempfile.gettempdir()) / f"edge-demo-seq{received[0]['seq']}.tlog-proof"
    proof_path.write_text(proof)
    console.print(
        f"proof: seq {received[0]['seq']} ({received[0]['subject']} received) is in the signed "
        f"tree of size {proven.checkpoint.size}, checked with the public key alone ({proof_path})"
    )
    _prove_upstream(journal, report)
    if report.certificate is not None:
        try:
            certificate = open_certificate(report.certificate, verifier)
            console.print(
                f"erasure certificate: {certificate.result}, {certificate.sanitization.method} by "
                f"{certificate.sanitization.tool_version}, "
                "signature ok"
            )
        except CertificateError as exc:
            console.print(f"[red]erasure certificate does not verify: {exc}[/red]")
            return False
    console.print(f"station verifier key: {verifier.encode()}")
    return verdict.ok


def _prove_upstream(journal: Path, report: ShiftReport) -> None:
    backlog = report.replication.get("backlog", {})
    console.print(
        f"upstream: holds {report.upstream_size} events, backlog {backlog.get('events')} "
        f"({report.replication.get('status')})"
    )
    with JournalReader(journal) as reader:
        signed = reader.last_checkpoint_within(0, report.upstream_size)
        lines = reader.cosignatures(signed.size) if signed else []
    if signed is None or not lines:
        console.print("[yellow]upstream: no cosignature kept yet[/yellow]")
        return
    cosigner = CosignatureVerifier.parse(report.upstream_vkey)
    try:
        when = cosigner.verify_over_note(lines[0][1], signed.note)
    except NoteError as exc:
        console.print(f"[red]upstream cosignature does not verify: {exc}[/red]")
        return
    at = datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")
    console.print(
        f"upstream cosignature over checkpoint {signed.size}: ok, by {cosigner.name} at {at} "
        "(proof the events were upstream by then)"
    )
    view = report.customer_view
    if view:
        steps = ", ".join(m["milestone"] for m in view.get("milestones", []))
        console.print(
            f"customer view of {view.get('return_id')} (its own token only): status "
            f"{view.get('status')}; milestones: {steps or 'none yet'}",
            highlight=False,
        )


def _control(ctx: typer.Context, verb: str, value: str = "") -> None:
    try:
        console.print(send_control(state(ctx).data_dir, verb, value), highlight=False)
    except ControlError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


@demo_app.command()
def scan(
    ctx: typer.Context, code: Annotated[str, typer.Argument(help="What the label says.")]
) -> None:
    """The dock scanner reads CODE (a demo serving in the data folder)."""
    _control(ctx, "scan", code)


@demo_app.command()
def weigh(
    ctx: typer.Context,
    weight: Annotated[str, typer.Argument(help="Grams (398.5), or kilograms as 1.234kg.")],
) -> None:
    """Put a load of WEIGHT on the dock scale (a demo serving in the data folder)."""
    _control(ctx, "weigh", weight)


@demo_app.command()
def lift(ctx: typer.Context) -> None:
    """Take the load off the dock scale (a demo serving in the data folder)."""
    _control(ctx, "lift")


@demo_app.command()
def dock(
    ctx: typer.Context,
    preset: Annotated[str, typer.Argument(help=f"One of: {', '.join(presets())}.")],
) -> None:
    """Put a phone in the bench cradle (a demo serving in the data folder)."""
    _control(ctx, "dock", preset)


@demo_app.command()
def undock(ctx: typer.Context) -> None:
    """Take the phone out of the bench cradle (a demo serving in the data folder)."""
    _control(ctx, "undock")
